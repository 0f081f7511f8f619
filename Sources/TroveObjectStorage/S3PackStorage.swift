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
/// lives in `lru` (a `CacheLedger`).
public final class S3PackStorage: PackStorage {
    public let client: S3Client
    /// Prepended to every key (e.g. `"trove/"`); may be empty.
    public let prefix: String
    /// The local working area and read cache (the store's packs/ directory).
    public let cache: LocalPackStorage
    public let cacheBytes: Int64
    private let lru: CacheLedger
    /// Largest pack this storage moves in one piece.
    static let maxPackBytes = 2 << 30

    public init(client: S3Client, prefix: String, cacheDirectory: String, tmpDirectory: String, cacheBytes: Int64) throws(StoreError) {
        self.client = client
        self.prefix = prefix
        let cache = LocalPackStorage(directory: cacheDirectory, tmpDirectory: tmpDirectory)
        self.cache = cache
        self.cacheBytes = cacheBytes
        // Files already here are evicted only after the object store confirms it holds them.
        lru = CacheLedger(limit: cacheBytes, found: try cache.list().compactMap { n in cache.size(name: n).map { (n, $0) } })
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
        if lru.use(name) || cache.size(name: name) != nil {
            do { return try cache.read(name: name, offset: offset, count: count) } catch {
                guard cache.size(name: name) == nil else { throw error }
                // Evicted between the check and the open: read it remotely.
            }
        }
        if lru.miss(name) >= 2 {
            _ = try localFile(name: name)
            return try cache.read(name: name, offset: offset, count: count)
        }
        do { return try client.get(key: key(name), offset: offset, count: count) } catch {
            throw .packStorage("\(error)")
        }
    }

    public func localFile(name: String) throws(StoreError) -> String {
        if cache.size(name: name) != nil {
            _ = lru.use(name)
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
        lru.remove(name)
        try cache.delete(name: name)
        return Int64(info?.size ?? 0)
    }

    /// One ListObjectsV2 of at most one key under this storage's prefix.
    public func probe() throws(StoreError) {
        do { try client.probe(prefix: prefix + "packs/") } catch { throw .packStorage("\(error)") }
    }

    /// Records a cached pack and evicts the least recently used ones beyond `cacheBytes`.
    private func cached(_ name: String, size: Int64, stored: Bool) {
        lru.cached(
            name, size: size, stored: stored,
            confirm: { victim, victimSize in
                guard let info = try? client.head(key: key(victim)) else { return false }
                return Int64(info.size) == victimSize
            },
            evict: { victim in _ = try? cache.delete(name: victim) })
    }
}
