/// What a tree entry is.
public enum TreeEntryKind: UInt8, Sendable, Hashable {
    case file = 1
    case symlink = 2
    /// An empty directory (directories with entries are implied by their paths).
    case directory = 3
}

/// One entry of a tree.
public struct TreeEntry: Sendable, Hashable {
    /// Relative path, `/`-separated, validated by `TreePath`.
    public var path: String
    public var kind: TreeEntryKind
    /// Permission bits (0...0o7777).
    public var mode: UInt32
    /// File size in bytes (0 for symlinks and directories).
    public var size: UInt64
    /// Blob digest for files; `nil` otherwise.
    public var blob: Digest?
    /// Link target for symlinks; `nil` otherwise.
    public var target: String?

    /// A regular file.
    public static func file(_ path: String, blob: Digest, size: UInt64, mode: UInt32 = 0o644) -> TreeEntry {
        TreeEntry(path: path, kind: .file, mode: mode, size: size, blob: blob, target: nil)
    }
    /// A symbolic link.
    public static func symlink(_ path: String, target: String, mode: UInt32 = 0o777) -> TreeEntry {
        TreeEntry(path: path, kind: .symlink, mode: mode, size: 0, blob: nil, target: target)
    }
    /// An empty directory.
    public static func directory(_ path: String, mode: UInt32 = 0o755) -> TreeEntry {
        TreeEntry(path: path, kind: .directory, mode: mode, size: 0, blob: nil, target: nil)
    }

    public init(path: String, kind: TreeEntryKind, mode: UInt32, size: UInt64, blob: Digest?, target: String?)
    {
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.blob = blob
        self.target = target
    }
}

/// A directory listing, addressed by SHA-256 of its canonical bytes.
///
/// Rules (checked by `validate()` and by the decoder): entries strictly sorted by path bytes
/// (no duplicates); every path safe (`TreePath`); directories are implied by the paths of their
/// entries, so an explicit `directory` entry is allowed only for an empty directory (nothing
/// may live beneath it); no entry may live beneath a file or symlink; files carry a blob digest,
/// symlinks a non-empty target (≤ 4096 bytes, no NUL), modes fit in 0o7777.
///
/// Canonical encoding (version 1, big-endian): `"TTRE"`, `0x01`, entry count (u32), then per
/// entry: kind (u8), mode (u32), path length (u16) + UTF-8 path; files add size (u64) + blob
/// digest (32); symlinks add target length (u16) + UTF-8 target; directories add nothing.
public struct Tree: Sendable, Hashable {
    public var entries: [TreeEntry]

    static let magic: [UInt8] = Array("TTRE".utf8)
    static let version: UInt8 = 1
    static let minEntrySize = 1 + 4 + 2 + 1

    /// A tree from entries in any order (they are sorted by path bytes here).
    public init(entries: [TreeEntry]) {
        // Callers usually pass entries already in order (a directory scan sorts them): check first.
        if zip(entries, entries.dropFirst()).allSatisfy({ ByteOrder.precedes($0.path, $1.path) }) {
            self.entries = entries
        } else {
            self.entries = entries.sorted { ByteOrder.precedes($0.path, $1.path) }
        }
    }

    init(sortedEntries: [TreeEntry]) { self.entries = sortedEntries }

    /// Total size of all files.
    public var totalSize: UInt64 { entries.reduce(0) { $0 &+ $1.size } }

    /// Checks every rule listed on the type.
    public func validate() throws(ObjectError) {
        var paths: [[UInt8]] = []
        paths.reserveCapacity(entries.count)
        for e in entries {
            let bytes = Array(e.path.utf8)
            try TreePath.validate(bytes: bytes[...], shown: e.path)
            if let p = paths.last, !ByteOrder.precedes(p, bytes) { throw .unsorted(path: e.path) }
            paths.append(bytes)
            try Self.checkFields(e)
        }
        // No entry beneath a file, symlink or explicit (hence empty) directory: no entry's path
        // is a proper ancestor of another's. Byte slices, no string per ancestor; entries of one
        // directory follow each other, so an ancestor the previous entry shares was checked.
        var all = Set<ArraySlice<UInt8>>(minimumCapacity: paths.count)
        for p in paths { all.insert(p[...]) }
        var checked: ArraySlice<UInt8>? = nil  // the previous entry's parent: it and its ancestors are absent
        for (e, p) in zip(entries, paths) {
            var parent: ArraySlice<UInt8>? = nil
            var i = p.endIndex
            while i > p.startIndex {
                i -= 1
                guard p[i] == UInt8(ascii: "/") else { continue }
                let ancestor = p[..<i]
                if parent == nil { parent = ancestor }
                if let c = checked, ancestor == c { break }
                if all.contains(ancestor) {
                    throw .unsafePath(
                        path: e.path,
                        reason: "lies beneath the non-directory entry \"\(String(decoding: ancestor, as: UTF8.self))\"")
                }
            }
            checked = parent
        }
    }

    /// The per-kind rules of one entry (blob, target, size, mode).
    static func checkFields(_ e: TreeEntry) throws(ObjectError) {
        guard e.mode <= 0o7777 else {
            throw .invalidField(field: "mode of \(e.path)", reason: "above 0o7777")
        }
        switch e.kind {
        case .file:
            guard e.blob != nil, e.target == nil else {
                throw .invalidField(field: "entry \(e.path)", reason: "a file needs a blob digest and no target")
            }
        case .symlink:
            guard let t = e.target, e.blob == nil, e.size == 0 else {
                throw .invalidField(field: "entry \(e.path)", reason: "a symlink needs a target, no blob, size 0")
            }
            let tb = Array(t.utf8)
            guard !tb.isEmpty, tb.count <= TreePath.maxLength, !tb.contains(0) else {
                throw .invalidField(field: "target of \(e.path)", reason: "empty, too long or contains NUL")
            }
        case .directory:
            guard e.blob == nil, e.target == nil, e.size == 0 else {
                throw .invalidField(field: "entry \(e.path)", reason: "a directory has no blob, target or size")
            }
        }
    }

    /// The canonical bytes (call `validate()` first for untrusted values).
    public var canonicalBytes: [UInt8] {
        var w = ObjectWriter(capacity: 9 + entries.count * 64)
        w.raw(Tree.magic)
        w.u8(Tree.version)
        w.u32(UInt32(entries.count))
        for e in entries {
            w.u8(e.kind.rawValue)
            w.u32(e.mode)
            let p = Array(e.path.utf8)
            w.u16(UInt16(clamping: p.count))
            w.raw(p)
            switch e.kind {
            case .file:
                w.u64(e.size)
                w.digest(e.blob ?? .zero)
            case .symlink:
                let t = Array((e.target ?? "").utf8)
                w.u16(UInt16(clamping: t.count))
                w.raw(t)
            case .directory:
                break
            }
        }
        return w.bytes
    }

    /// SHA-256 of the canonical bytes: the tree's address.
    public var objectDigest: Digest { SHA256.hash(canonicalBytes) }

    /// Decodes canonical bytes, rejecting anything malformed, non-canonical or hostile.
    public init(canonical bytes: [UInt8]) throws(ObjectError) {
        guard bytes.count >= 5, Array(bytes[0..<4]) == Tree.magic, bytes[4] == Tree.version else {
            throw .badHeader(expected: "tree")
        }
        var r = ObjectReader(bytes)
        _ = try r.raw(5, "header")
        let count = try r.u32("entry count")
        guard UInt64(count) * UInt64(Tree.minEntrySize) <= UInt64(r.remaining) else {
            throw .countTooLarge(field: "entry count", declared: UInt64(count), available: r.remaining)
        }
        var entries: [TreeEntry] = []
        entries.reserveCapacity(Int(count))
        for _ in 0..<count {
            let kindByte = try r.u8("entry kind")
            guard let kind = TreeEntryKind(rawValue: kindByte) else {
                throw .invalidField(field: "entry kind", reason: "unknown kind \(kindByte)")
            }
            let mode = try r.u32("mode")
            let plen = Int(try r.u16("path length"))
            let pbytes = try r.raw(plen, "path")
            guard let path = String(validating: pbytes, as: UTF8.self) else {
                throw .invalidField(field: "path", reason: "not valid UTF-8")
            }
            switch kind {
            case .file:
                let size = try r.u64("size")
                let blob = try r.digest("blob digest")
                entries.append(
                    .init(path: path, kind: .file, mode: mode, size: size, blob: blob, target: nil))
            case .symlink:
                let tlen = Int(try r.u16("target length"))
                let tbytes = try r.raw(tlen, "target")
                guard let target = String(validating: tbytes, as: UTF8.self) else {
                    throw .invalidField(field: "symlink target", reason: "not valid UTF-8")
                }
                entries.append(
                    .init(path: path, kind: .symlink, mode: mode, size: 0, blob: nil, target: target))
            case .directory:
                entries.append(
                    .init(path: path, kind: .directory, mode: mode, size: 0, blob: nil, target: nil))
            }
        }
        try r.expectEnd()
        self.init(sortedEntries: entries)
        try validate()
    }
}
