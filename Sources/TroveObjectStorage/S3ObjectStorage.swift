import TroveCore
import TroveStore

/// Recipe and tree objects in an S3-compatible store (`PREFIX objects/ab/<64 hex>`), written once
/// each with `If-None-Match: *` and the payload's SHA-256 (also kept as `x-amz-meta-sha256`),
/// read with whole GETs.
///
/// The local `objects/` directory under `--root` is a bounded cache: an object written or read
/// here is kept (not fsynced: reads verify it, the store fetches a copy that does not verify
/// again) until the cache passes `cacheBytes`, then the least recently used go. Copies found
/// there at start are evicted only once the object store holds them (recovery stores those it
/// lacks: `localOnly`). The cache bookkeeping lives in `lru` (a `CacheLedger`).
public final class S3ObjectStorage: ObjectStorage {
    public let client: S3Client
    /// Prepended to every key (e.g. `"trove/"`); may be empty.
    public let prefix: String
    /// The local cache (the store's objects/ directory).
    public let cache: LocalObjectStorage
    public let cacheBytes: Int64
    private let lru: CacheLedger

    public init(client: S3Client, prefix: String, cacheDirectory: String, tmpDirectory: String, cacheBytes: Int64)
        throws(StoreError)
    {
        self.client = client
        self.prefix = prefix
        let cache = LocalObjectStorage(directory: cacheDirectory, tmpDirectory: tmpDirectory)
        self.cache = cache
        self.cacheBytes = cacheBytes
        let found = try cache.list(shard: nil).digests.compactMap { d in cache.size(d).map { (d.hex, $0) } }
        lru = CacheLedger(limit: cacheBytes, found: found)
    }

    public var isRemote: Bool { true }

    /// The object key of object `digest`.
    public func key(_ digest: Digest) -> String {
        let hex = digest.hex
        return prefix + "objects/" + hex.prefix(2) + "/" + hex
    }

    public func store(_ objects: [(digest: Digest, bytes: [UInt8])], intact: (Digest, [UInt8]) -> Bool)
        throws(StoreError)
    {
        for (d, bytes) in objects {
            do { try put(d, bytes, intact: intact) } catch let e as StoreError { throw e } catch {
                throw .packStorage("\(error)")
            }
            // The cache keeps what was written (a failure to cache costs a GET later, nothing more).
            if (try? cache.install(d, bytes: bytes)) != nil { cached(d, size: Int64(bytes.count), stored: true) }
        }
    }

    /// One write-once PUT; an object already there is kept when it is the same bytes or
    /// `intact` accepts it (another instance may have compressed it differently), else replaced.
    private func put(_ d: Digest, _ bytes: [UInt8], intact: (Digest, [UInt8]) -> Bool) throws {
        let sha = SHA256.hash(bytes).hex
        do {
            try client.putIfAbsent(key: key(d), bytes: bytes, metadata: ["sha256": sha])
            return
        } catch .alreadyExists {}
        if let info = try client.head(key: key(d)), info.size == bytes.count, info.metadata["sha256"] == sha { return }
        if let old = try? client.get(key: key(d)), intact(d, old) { return }
        // A damaged object (or one deleted meanwhile): replace it.
        try client.delete(key: key(d))
        do { try client.putIfAbsent(key: key(d), bytes: bytes, metadata: ["sha256": sha]) } catch .alreadyExists {
            guard let info = try client.head(key: key(d)), info.metadata["sha256"] == sha else {
                throw StoreError.packStorage("object \(key(d)) was replaced by other content while it was stored")
            }
        }
    }

    public func read(_ digest: Digest, limit: Int) throws(StoreError) -> [UInt8]? {
        if lru.use(digest.hex), let bytes = try? cache.read(digest, limit: limit) { return bytes }
        let bytes: [UInt8]
        do { bytes = try client.get(key: key(digest)) } catch .notFound { return nil } catch {
            throw .packStorage("\(error)")
        }
        guard bytes.count <= limit else {
            throw .corruptData(what: "object \(key(digest))", detail: "\(bytes.count) bytes, above the limit \(limit)")
        }
        if (try? cache.install(digest, bytes: bytes)) != nil { cached(digest, size: Int64(bytes.count), stored: true) }
        return bytes
    }

    public func exists(_ digest: Digest) throws(StoreError) -> Bool {
        do { return try client.head(key: key(digest)) != nil } catch { throw .packStorage("\(error)") }
    }

    public func list(shard: String?) throws(StoreError) -> ObjectListing {
        let base = prefix + "objects/"
        let found: [S3ObjectInfo]
        do { found = try client.list(prefix: base + (shard.map { $0 + "/" } ?? "")) } catch {
            throw .packStorage("\(error)")
        }
        var out = ObjectListing(digests: [])
        for o in found {
            let rest = o.key.dropFirst(base.count)
            if rest.count == 3 + 64, let d = Digest(hex: String(rest.dropFirst(3))), rest.hasPrefix(d.hex.prefix(2) + "/") {
                out.digests.append(d)
            } else {
                out.strays.append(o.key)
            }
        }
        out.digests.sort()
        return out
    }

    @discardableResult
    public func delete(_ digest: Digest) throws(StoreError) -> Bool {
        let there: Bool
        do {
            there = try client.head(key: key(digest)) != nil
            if there { try client.delete(key: key(digest)) }
        } catch {
            throw .packStorage("\(error)")
        }
        _ = dropCopy(digest)
        return there
    }

    public func dropCopy(_ digest: Digest) -> Bool {
        lru.remove(digest.hex)
        return (try? cache.delete(digest)) == true
    }

    public func localOnly() throws(StoreError) -> [Digest] {
        let unconfirmed = lru.unconfirmed().compactMap { Digest(hex: $0) }
        guard !unconfirmed.isEmpty else { return [] }
        // A few copies: a HEAD each; many: one listing of the bucket's objects.
        let remote: Set<Digest>? = unconfirmed.count > 256 ? Set(try list(shard: nil).digests) : nil
        var out: [Digest] = []
        for d in unconfirmed {
            let there = if let remote { remote.contains(d) } else { try exists(d) }
            if there, let size = cache.size(d) { cached(d, size: size, stored: true) } else { out.append(d) }
        }
        return out
    }

    /// One ListObjectsV2 of at most one key under this storage's prefix.
    public func probe() throws(StoreError) {
        do { try client.probe(prefix: prefix + "objects/") } catch { throw .packStorage("\(error)") }
    }

    /// Records a cached copy and evicts the least recently used ones beyond `cacheBytes`.
    private func cached(_ d: Digest, size: Int64, stored: Bool) {
        lru.cached(
            d.hex, size: size, stored: stored,
            confirm: { victim, victimSize in
                guard let v = Digest(hex: victim), let info = try? client.head(key: key(v)) else { return false }
                return Int64(info.size) == victimSize
            },
            evict: { victim in
                if let v = Digest(hex: victim) { _ = try? cache.delete(v) }
            })
    }
}
