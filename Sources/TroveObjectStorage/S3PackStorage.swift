import Synchronization
import TroveCore
import TroveStore

/// Packs as objects in an S3-compatible store (`PREFIX packs/ab/<name>.pack`), written once
/// each with `If-None-Match: *` and the payload's SHA-256 (also kept as `x-amz-meta-sha256`),
/// read with ranged GETs.
///
/// The local `packs/` directory under `--root` is the working area and a bounded read cache:
/// packs written here stay until the cache passes `cacheBytes`, then the least recently used
/// go (only once the object store is known to hold them); a pack read from twice is fetched
/// whole; whole-pack scans (scrub, fsck, recovery) fetch the pack first. The cache bookkeeping
/// lives in the `lru` Mutex.
public final class S3PackStorage: PackStorage {
    public let client: S3Client
    /// Prepended to every key (e.g. `"trove/"`); may be empty.
    public let prefix: String
    /// The local working area and read cache (the store's packs/ directory).
    public let cache: LocalPackStorage
    public let cacheBytes: Int64
    private let lru: Mutex<CacheIndex>
    /// Largest pack this storage moves in one piece.
    static let maxPackBytes = 2 << 30

    public init(client: S3Client, prefix: String, cacheDirectory: String, tmpDirectory: String, cacheBytes: Int64) throws(StoreError) {
        self.client = client
        self.prefix = prefix
        self.cache = LocalPackStorage(directory: cacheDirectory, tmpDirectory: tmpDirectory)
        self.cacheBytes = cacheBytes
        var index = CacheIndex()
        // Files already here are evicted only after the object store confirms it holds them.
        for name in try cache.list() {
            if let size = cache.size(name: name) { index.add(name, size: size, stored: false) }
        }
        lru = Mutex(index)
    }

    public var isRemote: Bool { true }

    /// The object key of pack `name`.
    public func key(_ name: String) -> String { prefix + "packs/" + name.prefix(2) + "/" + name + ".pack" }

    public func storeSealed(name: String, localPath: String) throws(StoreError) {
        guard localPath == cache.path(name) else {
            throw .invalidArgument("pack \(name) must be staged at \(cache.path(name)), not \(localPath)")
        }
        let bytes = try cache.contents(name: name, limit: Self.maxPackBytes)
        let sha = SHA256.hash(bytes).hex
        do {
            try client.putIfAbsent(key: key(name), bytes: bytes, metadata: ["sha256": sha])
        } catch .alreadyExists {
            // A retry after a lost answer, or recovery storing it again: the same bytes are fine.
            let info: S3ObjectInfo?
            do { info = try client.head(key: key(name)) } catch { throw .packStorage("\(error)") }
            // An object uploaded by other means (a migration) carries no SHA-256: compare bytes.
            let same =
                info?.metadata["sha256"].map { $0 == sha }
                ?? ((try? client.get(key: key(name))).map { SHA256.hash($0).hex == sha } ?? false)
            guard let info, info.size == bytes.count, same else {
                throw .packStorage(
                    "object \(key(name)) already exists with other content (\(info?.size ?? -1) bytes); "
                        + "two stores share this bucket and prefix, or the object was changed outside Trove")
            }
        } catch {
            throw .packStorage("\(error)")
        }
        cached(name, size: Int64(bytes.count), stored: true)
    }

    public func read(name: String, offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        if lru.withLock({ $0.use(name) }) || cache.size(name: name) != nil {
            do { return try cache.read(name: name, offset: offset, count: count) } catch {
                guard cache.size(name: name) == nil else { throw error }
                // Evicted between the check and the open: read it remotely.
            }
        }
        if lru.withLock({ $0.miss(name) }) >= 2 {
            _ = try localFile(name: name)
            return try cache.read(name: name, offset: offset, count: count)
        }
        do { return try client.get(key: key(name), offset: offset, count: count) } catch {
            throw .packStorage("\(error)")
        }
    }

    public func localFile(name: String) throws(StoreError) -> String {
        if cache.size(name: name) != nil {
            _ = lru.withLock { $0.use(name) }
            return cache.path(name)
        }
        let bytes: [UInt8]
        do { bytes = try client.get(key: key(name)) } catch { throw .packStorage("\(error)") }
        try cache.install(name: name, bytes: bytes)
        cached(name, size: Int64(bytes.count), stored: true)
        return cache.path(name)
    }

    public func exists(name: String) throws(StoreError) -> Bool {
        do { return try client.head(key: key(name)) != nil } catch { throw .packStorage("\(error)") }
    }

    public func list() throws(StoreError) -> [String] {
        let objects: [S3ObjectInfo]
        do { objects = try client.list(prefix: prefix + "packs/") } catch { throw .packStorage("\(error)") }
        return objects.compactMap { o -> String? in
            let rest = o.key.dropFirst(prefix.count + "packs/".count)
            guard rest.count > 3 + 5, rest.hasSuffix(".pack") else { return nil }
            let name = String(rest.dropFirst(3).dropLast(5))
            return rest.hasPrefix(name.prefix(2) + "/") ? name : nil
        }
    }

    @discardableResult
    public func delete(name: String) throws(StoreError) -> Int64 {
        let info: S3ObjectInfo?
        do {
            info = try client.head(key: key(name))
            if info != nil { try client.delete(key: key(name)) }
        } catch {
            throw .packStorage("\(error)")
        }
        lru.withLock { $0.remove(name) }
        try cache.delete(name: name)
        return Int64(info?.size ?? 0)
    }

    /// Records a cached pack and evicts the least recently used ones beyond `cacheBytes`.
    private func cached(_ name: String, size: Int64, stored: Bool) {
        let candidates = lru.withLock { index -> [(String, Int64, Bool)] in
            index.add(name, size: size, stored: stored)
            return index.overflow(limit: cacheBytes, keep: name)
        }
        for (victim, victimSize, known) in candidates {
            if !known {
                // Found on disk at start: keep it unless the object store holds the same size.
                guard let info = try? client.head(key: key(victim)), Int64(info.size) == victimSize else {
                    lru.withLock { $0.pin(victim) }
                    continue
                }
            }
            lru.withLock { $0.remove(victim) }
            _ = try? cache.delete(name: victim)
        }
    }
}

/// Least-recently-used bookkeeping of the local pack cache.
struct CacheIndex {
    struct Entry {
        var size: Int64
        var lastUse: UInt64
        /// Known to be in the object store (written or fetched by this process).
        var stored: Bool
        /// Never evict (a file from before the start the object store does not hold).
        var pinned = false
    }
    var entries: [String: Entry] = [:]
    var total: Int64 = 0
    var tick: UInt64 = 0
    /// Ranged reads of packs not cached, by name (reset when the pack is fetched).
    var misses: [String: Int] = [:]

    mutating func add(_ name: String, size: Int64, stored: Bool) {
        tick += 1
        if let old = entries[name] { total -= old.size }
        entries[name] = Entry(size: size, lastUse: tick, stored: stored)
        total += size
        misses[name] = nil
    }

    /// Marks `name` used; false if it is not cached.
    mutating func use(_ name: String) -> Bool {
        guard entries[name] != nil else { return false }
        tick += 1
        entries[name]!.lastUse = tick
        return true
    }

    /// Counts a ranged read of an uncached pack; returns the count so far.
    mutating func miss(_ name: String) -> Int {
        if misses.count > 4096 { misses.removeAll() }
        misses[name, default: 0] += 1
        return misses[name]!
    }

    mutating func remove(_ name: String) {
        if let e = entries.removeValue(forKey: name) { total -= e.size }
    }

    mutating func pin(_ name: String) { entries[name]?.pinned = true }

    /// The least recently used entries (never `keep`, never pinned) whose removal brings the
    /// total under `limit`: (name, size, known to be stored).
    func overflow(limit: Int64, keep: String) -> [(String, Int64, Bool)] {
        guard total > limit else { return [] }
        var excess = total - limit
        var out: [(String, Int64, Bool)] = []
        for (name, e) in entries.sorted(by: { $0.value.lastUse < $1.value.lastUse })
        where name != keep && !e.pinned {
            guard excess > 0 else { break }
            out.append((name, e.size, e.stored))
            excess -= e.size
        }
        return out
    }
}
