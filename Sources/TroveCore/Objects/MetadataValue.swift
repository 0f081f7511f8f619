/// The typed value of a metadata entry: a string, an integer, a finite number or a boolean. It
/// keeps its JSON type end to end: in the catalog (a JSON object), on the wire (a tagged value,
/// see PROTOCOL.md) and in `--json` output.
public enum MetadataValue: Sendable, Hashable, CustomStringConvertible, ExpressibleByStringInterpolation {
    /// A string (≤ 4096 bytes).
    case string(String)
    /// An integer.
    case integer(Int64)
    /// A finite IEEE-754 double.
    case number(Double)
    /// A boolean.
    case bool(Bool)

    /// A string value.
    public init(stringLiteral value: String) { self = .string(value) }

    /// The value's text form, which `where KEY=VALUE` equality also matches: strings as they are,
    /// integers in decimal, numbers in Swift's shortest round-trip form (whole numbers below
    /// 10^15 without `.0`), booleans `true`/`false`.
    public var description: String {
        switch self {
        case .string(let s): s
        case .integer(let i): String(i)
        case .number(let d): d == d.rounded() && abs(d) < 1e15 ? String(Int64(d)) : String(d)
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// The kind of value for comparisons: integers and numbers are both numbers.
    public enum Kind: String, Sendable {
        case string, number, boolean
    }

    /// String, number or boolean.
    public var kind: Kind {
        switch self {
        case .string: .string
        case .integer, .number: .number
        case .bool: .boolean
        }
    }

    /// The value as a `Double` if it is a number.
    public var numeric: Double? {
        switch self {
        case .integer(let i): Double(i)
        case .number(let d): d
        case .string, .bool: nil
        }
    }

    /// Reads a value typed on a command line (`--where`): `true` / `false` are booleans, a JSON
    /// number (`12`, `-0.5`, `1e-3`) is a number, a JSON string in double quotes (`"12"`) is that
    /// string, anything else is the text itself.
    public init(literal s: String) {
        if s == "true" || s == "false" {
            self = .bool(s == "true")
        } else if MetadataValue.isJSONNumber(s), let i = Int64(s) {
            self = .integer(i)
        } else if MetadataValue.isJSONNumber(s), let d = Double(s), d.isFinite {
            self = .number(d)
        } else if s.count >= 2, s.hasPrefix("\""), s.hasSuffix("\"") {
            self = .string(String(s.dropFirst().dropLast()))
        } else {
            self = .string(s)
        }
    }

    /// JSON number syntax: `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`.
    static func isJSONNumber(_ s: String) -> Bool {
        var u = Substring(s).utf8[...]
        func digits() -> Int {
            var n = 0
            while let c = u.first, c >= 0x30, c <= 0x39 {
                u = u.dropFirst()
                n += 1
            }
            return n
        }
        if u.first == UInt8(ascii: "-") { u = u.dropFirst() }
        if u.first == UInt8(ascii: "0") {
            u = u.dropFirst()
        } else if digits() == 0 {
            return false
        }
        if u.first == UInt8(ascii: ".") {
            u = u.dropFirst()
            if digits() == 0 { return false }
        }
        if u.first == UInt8(ascii: "e") || u.first == UInt8(ascii: "E") {
            u = u.dropFirst()
            if u.first == UInt8(ascii: "+") || u.first == UInt8(ascii: "-") { u = u.dropFirst() }
            if digits() == 0 { return false }
        }
        return u.isEmpty
    }

    /// The value as JSON text (strings escaped, numbers in their shortest round-trip form).
    public var json: String {
        switch self {
        case .string(let s): MetadataValue.jsonString(s)
        case .integer(let i): String(i)
        case .number(let d): String(d)
        case .bool(let b): b ? "true" : "false"
        }
    }

    /// `s` as a JSON string literal.
    public static func jsonString(_ s: String) -> String {
        var out = "\""
        for c in s.unicodeScalars {
            switch c {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case _ where c.value < 0x20:
                let h = String(c.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - h.count) + h
            default: out.unicodeScalars.append(c)
            }
        }
        return out + "\""
    }
}

/// One `--where` condition: `KEY OP VALUE`.
public struct MetadataCondition: Sendable, Hashable, CustomStringConvertible {
    /// The comparison. Equality matches a value's text form too (`epochs=12` matches the number
    /// 12 and the string "12"); orderings compare numbers numerically and strings by bytes, and
    /// refuse values of another kind.
    public enum Op: UInt8, Sendable, CaseIterable, CustomStringConvertible {
        case eq = 0
        case ne, lt, le, gt, ge

        public var description: String {
            switch self {
            case .eq: "="
            case .ne: "!="
            case .lt: "<"
            case .le: "<="
            case .gt: ">"
            case .ge: ">="
            }
        }

        /// Whether this is `<`, `<=`, `>` or `>=`.
        public var isOrdering: Bool { self != .eq && self != .ne }
    }

    public var key: String
    public var op: Op
    public var value: MetadataValue

    public init(key: String, op: Op, value: MetadataValue) {
        self.key = key
        self.op = op
        self.value = value
    }

    /// Parses `KEY=VALUE`, `KEY!=VALUE`, `KEY<VALUE`, `KEY<=VALUE`, `KEY>VALUE`, `KEY>=VALUE`
    /// (the first `=`, `!`, `<` or `>` starts the operator; the value is read with
    /// `MetadataValue(literal:)`). `nil` without an operator or with an empty key.
    public init?(parsing s: String) {
        guard let i = s.firstIndex(where: { "=!<>".contains($0) }), i != s.startIndex else { return nil }
        let rest = s[i...]
        let ops: [(String, Op)] = [("!=", .ne), ("<=", .le), (">=", .ge), ("=", .eq), ("<", .lt), (">", .gt)]
        guard let (text, op) = ops.first(where: { rest.hasPrefix($0.0) }) else { return nil }
        self.init(
            key: String(s[..<i]), op: op, value: MetadataValue(literal: String(rest.dropFirst(text.count))))
    }

    public var description: String { "\(key)\(op)\(value.description)" }
}
