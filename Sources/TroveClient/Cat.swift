import SystemPackage
import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A byte range of a file, HTTP-style: `START-END` is inclusive at both ends (bytes START
/// through END), `START-` runs to the end of the file.
public struct ByteRange: Sendable, Hashable, CustomStringConvertible {
    public var start: UInt64
    /// Last byte included; nil: to the end.
    public var end: UInt64?

    public init(start: UInt64, end: UInt64?) {
        self.start = start
        self.end = end
    }

    /// Parses `START-END` or `START-` (decimal byte offsets; END ≥ START).
    public init(parsing text: String) throws(ClientError) {
        let bad = ClientError.usage(
            detail:
                "invalid --range \"\(text)\": expected START-END (inclusive byte offsets, e.g. 0-1023) or START-"
        )
        guard let dash = text.firstIndex(of: "-"), let s = UInt64(text[..<dash]) else { throw bad }
        let rest = text[text.index(after: dash)...]
        if rest.isEmpty {
            self.init(start: s, end: nil)
            return
        }
        guard let e = UInt64(rest), e >= s else { throw bad }
        self.init(start: s, end: e)
    }

    public var description: String { end.map { "\(start)-\($0)" } ?? "\(start)-" }

    /// The half-open byte interval this range covers in a file of `size` bytes, or nil when it
    /// starts at or past the end (an empty file has no satisfiable range).
    public func clamped(to size: UInt64) -> Range<UInt64>? {
        guard start < size else { return nil }
        let last = min(end ?? (size - 1), size - 1)
        return start..<(last + 1)
    }
}

/// Range arithmetic on a recipe: which chunks cover a byte interval.
public enum RecipeRange {
    /// The indexes of the chunks overlapping `range` (half-open) and the file offset where the
    /// first of them starts. Chunk offsets are the prefix sums of the lengths.
    public static func chunks(covering range: Range<UInt64>, of recipe: Recipe) -> (Range<Int>, UInt64) {
        guard !range.isEmpty else { return (0..<0, 0) }
        var offset: UInt64 = 0
        var first = -1
        var firstOffset: UInt64 = 0
        for (i, c) in recipe.chunks.enumerated() {
            let end = offset + UInt64(c.length)
            if first < 0 && end > range.lowerBound {
                first = i
                firstOffset = offset
            }
            if first >= 0 && end >= range.upperBound { return (first..<(i + 1), firstOffset) }
            offset = end
        }
        return first < 0 ? (0..<0, 0) : (first..<recipe.chunks.count, firstOffset)
    }
}

/// Writes one file of a version (or a byte range of it) to a file descriptor, fetching only the
/// chunks that cover the range, each verified; a whole file is also checked against its blob digest.
public final class Catter {
    let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Picks the file: `path` if given, else the tree's only regular file.
    public static func select(_ tree: Tree, path: String?) throws(ClientError) -> TreeEntry {
        if let path {
            guard let e = tree.entries.first(where: { $0.path == path }) else {
                throw .notFound(
                    detail: "no entry \"\(path)\" in this version; see `trove show REF` for its files")
            }
            guard e.kind == .file else {
                throw .usage(
                    detail: "\"\(path)\" is a \(e.kind == .symlink ? "symlink" : "directory"), not a file")
            }
            return e
        }
        let files = tree.entries.filter { $0.kind == .file }
        guard files.count == 1 else {
            throw .usage(
                detail:
                    "this version holds \(files.count) files; name one: trove cat REF PATH (see `trove show REF`)"
            )
        }
        return files[0]
    }

    /// Returns the number of bytes written.
    @discardableResult
    public func cat(ref: String, path: String?, range: ByteRange?, to fd: Int32) throws(ClientError) -> UInt64
    {
        let remote = Remote(connection: connection)
        let info = try remote.resolve(ref)
        let tree = try remote.tree(info.tree)
        let entry = try Catter.select(tree, path: path)
        return try write(blob: entry.blob!, size: entry.size, path: entry.path, range: range, to: fd)
    }

    /// Writes blob `blob` of `size` bytes (or a byte range of it) to `fd`, fetching only the
    /// chunks that cover the range, each verified; a whole blob is also checked against its
    /// digest. `path` names it in messages. Returns the number of bytes written.
    @discardableResult
    public func write(blob: Digest, size: UInt64, path: String, range: ByteRange? = nil, to fd: Int32)
        throws(ClientError) -> UInt64
    {
        let remote = Remote(connection: connection)
        let entry = (blob: blob, size: size, path: path)
        let recipe = try remote.recipes([blob], sizes: [blob: size])[blob]!
        let wanted: Range<UInt64>
        if let range {
            guard let r = range.clamped(to: entry.size) else {
                throw .usage(
                    detail: "--range \(range) starts past the end of \(entry.path) (\(entry.size) bytes)")
            }
            wanted = r
        } else {
            wanted = 0..<entry.size
        }
        let (indexes, firstOffset) = RecipeRange.chunks(covering: wanted, of: recipe)
        let selected = Array(recipe.chunks[indexes])
        // Fetch each distinct chunk once; repeated chunks are served from the local copy.
        var seen = Set<Digest>()
        let order = selected.filter { seen.insert($0.digest).inserted }
        let stream = ChunkStream(connection: connection, order: order)
        let whole = range == nil
        let hasher = SHA256()
        var cache: [Digest: [UInt8]] = [:]
        var repeated: [Digest: Int] = [:]
        for c in selected { repeated[c.digest, default: 0] += 1 }
        var offset = firstOffset
        var written: UInt64 = 0
        var fetched = Set<Digest>()
        for c in selected {
            let start = offset
            let end = offset + UInt64(c.length)
            offset = end
            let lo = Int(max(start, wanted.lowerBound) - start)
            let hi = Int(min(end, wanted.upperBound) - start)
            func emit(_ bytes: UnsafeRawBufferPointer) throws(ClientError) {
                if whole { hasher.update(bytes) }
                try Catter.writeAll(fd, UnsafeRawBufferPointer(rebasing: bytes[lo..<hi]))
                written += UInt64(hi - lo)
            }
            if fetched.contains(c.digest), let bytes = cache[c.digest] {
                try bytes.withUnsafeBytes { (b) -> Result<Void, ClientError> in
                    do throws(ClientError) {
                        try emit(b)
                        return .success(())
                    } catch { return .failure(error) }
                }.get()
            } else {
                try stream.next { (bytes) throws(ClientError) in
                    if (repeated[c.digest] ?? 0) > 1 { cache[c.digest] = Array(bytes) }
                    try emit(bytes)
                }
                fetched.insert(c.digest)
            }
        }
        if whole {
            let d = hasher.finalize()
            guard d == entry.blob, written == entry.size else {
                throw .integrity(
                    detail:
                        "\(entry.path) hashes to \(d), expected \(entry.blob); its output is not to be trusted"
                )
            }
        }
        return written
    }

    static func writeAll(_ fd: Int32, _ data: UnsafeRawBufferPointer) throws(ClientError) {
        do {
            try FileDescriptor(rawValue: fd).writeFully(data)
        } catch {
            throw .io(path: "standard output", operation: "write to", errno: error.rawValue)
        }
    }
}
