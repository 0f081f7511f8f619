/// Validation of artifact names and tags (versions and aliases).
///
/// A name is `/`-separated components of `[A-Za-z0-9._-]`, no empty, `.` or `..` components,
/// at most 255 bytes. A tag (version or alias) uses the same characters, no `/`, not `.` or
/// `..`, at most 128 bytes. A name's versions and aliases share one tag space.
public enum Names {
    /// Longest name, in bytes.
    public static let maxNameLength = 255
    /// Longest version or alias, in bytes.
    public static let maxTagLength = 128

    @inline(__always) static func allowed(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "-"):
            true
        default: false
        }
    }

    static func checkComponent(_ c: some Collection<UInt8>, what: String, value: String) throws(NameError) {
        if c.isEmpty { throw .invalid(what: what, value: value, reason: "empty component") }
        if c.elementsEqual([UInt8(ascii: ".")]) || c.elementsEqual([UInt8(ascii: "."), UInt8(ascii: ".")]) {
            throw .invalid(what: what, value: value, reason: "'.' and '..' are not allowed")
        }
        for b in c where !allowed(b) {
            throw .invalid(
                what: what, value: value,
                reason:
                    "character \(b < 0x20 || b > 0x7e ? "0x" + String(b, radix: 16) : String(UnicodeScalar(b))) "
                    + "not allowed (use A-Z a-z 0-9 . _ -)")
        }
    }

    /// Throws unless `name` is a valid artifact name.
    public static func validateName(_ name: String) throws(NameError) {
        let u = Array(name.utf8)
        guard !u.isEmpty else { throw .invalid(what: "name", value: name, reason: "empty") }
        guard u.count <= maxNameLength else {
            throw .invalid(what: "name", value: name, reason: "longer than \(maxNameLength) bytes")
        }
        for comp in u.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
            try checkComponent(comp, what: "name", value: name)
        }
    }

    /// Throws unless `tag` is a valid version or alias.
    public static func validateTag(_ tag: String, what: String = "version") throws(NameError) {
        let u = Array(tag.utf8)
        guard !u.isEmpty else { throw .invalid(what: what, value: tag, reason: "empty") }
        guard u.count <= maxTagLength else {
            throw .invalid(what: what, value: tag, reason: "longer than \(maxTagLength) bytes")
        }
        try checkComponent(u, what: what, value: tag)
    }
}

/// A rejected name, version, alias or reference.
public enum NameError: Error, Equatable, CustomStringConvertible {
    case invalid(what: String, value: String, reason: String)

    public var description: String {
        switch self {
        case .invalid(let what, let value, let reason):
            "invalid \(what) \"\(value.count > 80 ? String(value.prefix(80)) + "…" : value)\": \(reason)"
        }
    }
}

/// A reference to a tree: `NAME:TAG` (a version or an alias), `NAME:ALIAS@TIME` (where an alias
/// pointed at a moment) or `NAME@sha256:HEX`.
public enum Ref: Sendable, Hashable, CustomStringConvertible {
    /// `NAME:TAG`, where the tag is a version or an alias.
    case tag(name: String, tag: String)
    /// `NAME@sha256:HEX`: a tree digest directly.
    case digest(name: String, digest: Digest)
    /// `NAME:ALIAS@TIME`: the version the alias pointed at at `at` (milliseconds since the epoch),
    /// from its history. TIME is RFC 3339 (see `RefTime`).
    case aliasAt(name: String, alias: String, at: Int64)

    /// Parses and validates a reference.
    public init(parsing s: String) throws(NameError) {
        if let at = s.firstIndex(of: "@") {
            let name = String(s[..<at])
            if let colon = name.lastIndex(of: ":") {
                let n = String(name[..<colon])
                let alias = String(name[name.index(after: colon)...])
                try Names.validateName(n)
                try Names.validateTag(alias, what: "alias")
                self = .aliasAt(name: n, alias: alias, at: try RefTime.parse(s[s.index(after: at)...]))
                return
            }
            try Names.validateName(name)
            guard let d = Digest(prefixed: s[s.index(after: at)...]) else {
                throw .invalid(what: "reference", value: s, reason: "expected NAME@sha256:<64 hex digits>")
            }
            self = .digest(name: name, digest: d)
            return
        }
        guard let colon = s.lastIndex(of: ":") else {
            throw .invalid(
                what: "reference", value: s, reason: "expected NAME:TAG, NAME:ALIAS@TIME or NAME@sha256:HEX")
        }
        let name = String(s[..<colon])
        let tag = String(s[s.index(after: colon)...])
        try Names.validateName(name)
        try Names.validateTag(tag, what: "tag")
        self = .tag(name: name, tag: tag)
    }

    /// The artifact name.
    public var name: String {
        switch self {
        case .tag(let n, _), .digest(let n, _), .aliasAt(let n, _, _): n
        }
    }

    public var description: String {
        switch self {
        case .tag(let n, let t): "\(n):\(t)"
        case .digest(let n, let d): "\(n)@\(d.prefixed)"
        case .aliasAt(let n, let a, let t): "\(n):\(a)@\(RefTime.format(t))"
        }
    }
}
