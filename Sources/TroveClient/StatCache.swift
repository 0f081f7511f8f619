import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What `stat` says about a file; a cache entry is reused only when all of it is unchanged.
public struct FileStamp: Hashable, Sendable {
    public var size: UInt64
    public var mtimeNs: Int64
    public var ctimeNs: Int64
    public var inode: UInt64
    public var device: UInt64

    /// `stat(2)` of `path` (following symlinks), or nil if it cannot be read.
    public init?(path: String) {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        self.init(st)
    }

    /// The stamp of a `stat` result already at hand (a directory scan's).
    init(_ st: stat) {
        self.init(
            size: UInt64(max(0, st.st_size)),
            mtimeNs: Int64(st.st_mtim.tv_sec) * 1_000_000_000 + Int64(st.st_mtim.tv_nsec),
            ctimeNs: Int64(st.st_ctim.tv_sec) * 1_000_000_000 + Int64(st.st_ctim.tv_nsec),
            inode: UInt64(st.st_ino), device: UInt64(st.st_dev))
    }

    public init(size: UInt64, mtimeNs: Int64, ctimeNs: Int64, inode: UInt64, device: UInt64) {
        self.size = size
        self.mtimeNs = mtimeNs
        self.ctimeNs = ctimeNs
        self.inode = inode
        self.device = device
    }
}

/// A client-side cache: absolute path + stat stamp → blob digest and chunk list, for one set of
/// chunker parameters (one file per parameter set), so re-pushing an unchanged directory does not
/// re-read its files.
///
/// A file is re-read when its size, mtime (ns), ctime (ns), inode or device differ, and also
/// when it was modified within ``racyWindowNs`` of the moment the cache was written: a rewrite
/// within the file system's timestamp granularity could otherwise keep every stamp field equal
/// (git's "racy clean" problem). The file is written atomically and carries a SHA-256 trailer;
/// a damaged or foreign file is ignored (everything is re-read).
public final class StatCache {
    /// Entries modified this close to the cache write time are not trusted.
    public static let racyWindowNs: Int64 = 2_000_000_000
    /// Entries kept at most (the oldest-written beyond this are dropped).
    public static let maxEntries = 1_000_000

    struct Entry {
        var stamp: FileStamp
        var blob: Digest
        var chunks: [RecipeChunk]
        /// Write time of the cache this entry was last confirmed in (ns since the epoch).
        var confirmedNs: Int64
        /// Looked up or stored by this run (such an entry's file existed).
        var used = false
    }

    public let url: URL
    let parameters: ChunkerParameters
    var entries: [String: Entry] = [:]
    private var dirty = false
    /// Hits and misses of this run.
    public private(set) var hits = 0
    public private(set) var misses = 0

    static let magic: [UInt8] = Array("TROVESC1".utf8)

    /// Bump when the client's chunking changes for the same parameters (e.g. format-aware cut
    /// points), so chunk lists cached by an older client are not reused.
    public static let chunkingVersion = 1

    /// The cache directory: `$TROVE_CACHE_DIR`, else `$XDG_CACHE_HOME/trove`, else `~/.cache/trove`.
    public static func defaultDirectory(environment: [String: String]) -> URL? {
        if let d = environment["TROVE_CACHE_DIR"], !d.isEmpty { return URL(fileURLWithPath: d) }
        if let x = environment["XDG_CACHE_HOME"], !x.isEmpty {
            return URL(fileURLWithPath: x).appendingPathComponent("trove")
        }
        if let h = environment["HOME"], !h.isEmpty {
            return URL(fileURLWithPath: h).appendingPathComponent(".cache/trove")
        }
        return nil
    }

    /// Opens (reads) the cache for `parameters` in `directory`; a missing or damaged file gives an
    /// empty cache.
    public init(directory: URL, parameters: ChunkerParameters, formats: FormatPolicy = .none) {
        self.parameters = parameters
        // The format policy changes the chunks too: one file per (parameters, policy).
        let policy = formats.isNone ? "" : "-" + formats.description.replacingOccurrences(of: ",", with: "+")
        url = directory.appendingPathComponent(
            "stat-v\(Self.chunkingVersion)-\(parameters.min)-\(parameters.avg)-\(parameters.max)-\(parameters.normalization)"
                + "\(policy).cache")
        if let data = FileManager.default.contents(atPath: url.path) {
            entries = Self.decode([UInt8](data)) ?? [:]
        }
    }

    /// The key of `path`: its absolute, standardized form.
    public static func key(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// The key of `relative` (a tree path: no `.`, `..` or empty components) inside the directory
    /// whose key is `rootKey`: equal to `key(root + "/" + relative)`, without standardizing a URL
    /// per file.
    public static func key(rootKey: String, relative: String) -> String {
        rootKey.hasSuffix("/") ? rootKey + relative : rootKey + "/" + relative
    }

    /// The cached ingest result for `path` if its stamp is unchanged and not racy.
    public func lookup(path: String, stamp: FileStamp) -> IngestResult? {
        // One hash of the path: found by index, marked used in place (none when empty: a first push).
        guard !entries.isEmpty, let i = entries.index(forKey: path) else {
            misses += 1
            return nil
        }
        entries.values[i].used = true
        let e = entries.values[i]
        guard e.stamp == stamp,
            stamp.mtimeNs < e.confirmedNs - Self.racyWindowNs
        else {
            misses += 1
            return nil
        }
        hits += 1
        var offset: UInt64 = 0
        var refs: [ChunkRef] = []
        refs.reserveCapacity(e.chunks.count)
        for c in e.chunks {
            refs.append(ChunkRef(offset: offset, length: Int(c.length), digest: c.digest))
            offset += UInt64(c.length)
        }
        return IngestResult(size: stamp.size, blobDigest: e.blob, chunks: refs)
    }

    /// Makes room for `count` entries (a push's file count; a re-push's paths are there already):
    /// the dictionary of a first push is sized once instead of rehashed as it grows.
    public func reserve(_ count: Int) {
        entries.reserveCapacity(Swift.max(entries.count, count))
    }

    /// Records what reading `path` (with stamp `stamp`, taken before reading) produced.
    public func store(path: String, stamp: FileStamp, result: IngestResult) {
        let chunks = result.chunks.map { RecipeChunk(digest: $0.digest, length: UInt32($0.length)) }
        entries[path] = Entry(stamp: stamp, blob: result.blobDigest, chunks: chunks, confirmedNs: 0, used: true)
        dirty = true
    }

    /// Writes the cache (atomically) if anything changed. Entries written now are stamped with
    /// the current time, which makes files modified just before it "racy" until a later write.
    /// Entries of files that no longer exist are dropped.
    public func save() throws {
        let now = Self.nowNs()
        var changed = dirty
        // Entries read this run are confirmed now (racy ones were re-read, so stored again): in
        // place (assigning by key while iterating the dictionary copied all of it).
        var i = entries.startIndex
        while i != entries.endIndex {
            if entries.values[i].confirmedNs == 0 {
                entries.values[i].confirmedNs = now
                changed = true
            }
            entries.formIndex(after: &i)
        }
        // Forget files that no longer exist (other runs' entries only; this run's were just seen).
        var gone: [String] = []
        for (k, e) in entries where !e.used && access(k, F_OK) != 0 && errno == ENOENT { gone.append(k) }
        for k in gone { entries[k] = nil }
        if !gone.isEmpty { changed = true }
        guard changed else { return }
        if entries.count > Self.maxEntries {
            let keep = entries.sorted { $0.value.confirmedNs > $1.value.confirmedNs }.prefix(Self.maxEntries)
            entries = Dictionary(uniqueKeysWithValues: keep.map { ($0.key, $0.value) })
        }
        try FileManager.default.createDirectory(
            at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
        let tmp = url.deletingLastPathComponent().appendingPathComponent(
            ".\(url.lastPathComponent).\(getpid()).tmp")
        try Data(encode()).write(to: tmp)
        if rename(tmp.path, url.path) != 0 {
            let e = errno
            unlink(tmp.path)
            throw ClientError.io(path: url.path, operation: "replace", errno: e)
        }
        dirty = false
    }

    /// Starts ``save()`` on another thread and returns the group it leaves when done; nothing
    /// may use the cache before `wait()` on it returns. A failure is ignored, like a `try? save()`.
    func saveInBackground() -> DispatchGroup {
        let group = DispatchGroup()
        // Only the saving thread uses the cache until the group is left (callers wait on it).
        nonisolated(unsafe) let cache = self
        DispatchQueue.global().async(group: group) { try? cache.save() }
        return group
    }

    static func nowNs() -> Int64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Int64(ts.tv_sec) * 1_000_000_000 + Int64(ts.tv_nsec)
    }

    // MARK: File format
    // magic "TROVESC1", u32 count, entries, SHA-256 of everything before it.
    // entry: u16 path length, path, u64 size, i64 mtime, i64 ctime, u64 inode, u64 device,
    //        i64 confirmed, 32-byte blob, u32 chunk count, chunks (32-byte digest, u32 length).

    func encode() -> [UInt8] {
        var out = Self.magic
        func u64(_ v: UInt64) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u32(_ v: UInt32) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        func u16(_ v: UInt16) { withUnsafeBytes(of: v.littleEndian) { out += $0 } }
        // Sized once (no filtered copy of the dictionary, no array per path).
        var count = 0
        var size = out.count + 4 + 32
        for (path, e) in entries where path.utf8.count <= Int(UInt16.max) {
            count += 1
            size += 2 + path.utf8.count + 48 + 32 + 4 + 36 * e.chunks.count
        }
        out.reserveCapacity(size)
        u32(UInt32(count))
        for (path, e) in entries where path.utf8.count <= Int(UInt16.max) {
            u16(UInt16(path.utf8.count))
            out.append(contentsOf: path.utf8)
            u64(e.stamp.size)
            u64(UInt64(bitPattern: e.stamp.mtimeNs))
            u64(UInt64(bitPattern: e.stamp.ctimeNs))
            u64(e.stamp.inode)
            u64(e.stamp.device)
            u64(UInt64(bitPattern: e.confirmedNs))
            out += e.blob.bytes
            u32(UInt32(e.chunks.count))
            for c in e.chunks {
                out += c.digest.bytes
                u32(c.length)
            }
        }
        out += SHA256.hash(out).bytes
        return out
    }

    /// Parses a cache file; nil when it is damaged, truncated or not a cache file.
    static func decode(_ bytes: [UInt8]) -> [String: Entry]? {
        guard bytes.count >= magic.count + 4 + 32, Array(bytes.prefix(magic.count)) == magic else {
            return nil
        }
        let body = bytes[..<(bytes.count - 32)]
        guard SHA256.hash(Array(body)).bytes == Array(bytes.suffix(32)) else { return nil }
        return bytes.withUnsafeBytes { raw -> [String: Entry]? in
            var p = magic.count
            let end = body.count
            // Fixed-size fields straight from the buffer (bounds checked here).
            func int<T: FixedWidthInteger>(_: T.Type) -> T? {
                let n = MemoryLayout<T>.size
                guard end - p >= n else { return nil }
                defer { p += n }
                return T(littleEndian: raw.loadUnaligned(fromByteOffset: p, as: T.self))
            }
            func u64() -> UInt64? { int(UInt64.self) }
            func u32() -> UInt32? { int(UInt32.self) }
            func u16() -> UInt16? { int(UInt16.self) }
            func digest() -> Digest? {
                guard end - p >= 32 else { return nil }
                defer { p += 32 }
                return Digest(pointer: raw.baseAddress! + p)
            }
            func string(_ n: Int) -> String? {
                guard end - p >= n else { return nil }
                defer { p += n }
                return String(decoding: UnsafeRawBufferPointer(rebasing: raw[p..<(p + n)]), as: UTF8.self)
            }
            guard let count = u32(), Int(count) <= maxEntries else { return nil }
            var out: [String: Entry] = [:]
            out.reserveCapacity(Int(count))
            for _ in 0..<count {
                guard let pl = u16(), let path = string(Int(pl)), let size = u64(), let mt = u64(), let ct = u64(),
                    let ino = u64(), let dev = u64(), let conf = u64(), let blob = digest(), let n = u32(),
                    Int(n) <= (end - p) / 36
                else { return nil }
                var chunks: [RecipeChunk] = []
                chunks.reserveCapacity(Int(n))
                var sum: UInt64 = 0
                for _ in 0..<n {
                    guard let d = digest(), let l = u32() else { return nil }
                    chunks.append(RecipeChunk(digest: d, length: l))
                    sum += UInt64(l)
                }
                guard sum == size else { return nil }
                let stamp = FileStamp(
                    size: size, mtimeNs: Int64(bitPattern: mt), ctimeNs: Int64(bitPattern: ct), inode: ino,
                    device: dev)
                out[path] = Entry(stamp: stamp, blob: blob, chunks: chunks, confirmedNs: Int64(bitPattern: conf))
            }
            guard p == end else { return nil }
            return out
        }
    }
}
