import TroveCore

/// Where recipe and tree objects live (docs/STORE.md, "Objects"; docs/SCALING.md): the store's own
/// `objects/` directory (`LocalObjectStorage`, the default) or an S3-compatible object store
/// (TroveObjectStorage's `S3ObjectStorage`, keys `PREFIX objects/ab/<digest>`). Small recipes are
/// catalog rows (`InlineObjects`) whichever storage holds the rest.
///
/// A storage moves objects' stored form (an object file: `"TOBJ"` | codec | raw length | bytes)
/// and never decodes it: the store encodes before `store` and decodes and verifies (SHA-256 =
/// digest) after `read`, in one place each (`Store.writeObjectFiles`, `Store.readObjectFile`).
/// Implementations are thread-safe; their calls block.
public protocol ObjectStorage: Sendable {
    /// Whether objects live somewhere other than the local `objects/` directory.
    var isRemote: Bool { get }

    /// Makes every object's stored form durable under its digest before returning (so the store
    /// acknowledges only what is stored). An object already stored is kept when `intact` accepts
    /// its stored bytes, else replaced.
    func store(_ objects: [(digest: Digest, bytes: [UInt8])], intact: (Digest, [UInt8]) -> Bool)
        throws(StoreError)

    /// The stored form of object `digest` (at most `limit` bytes), or nil when it is not stored.
    func read(_ digest: Digest, limit: Int) throws(StoreError) -> [UInt8]?

    /// Whether object `digest` is stored (for a remote storage: in the remote store, not just a
    /// local copy).
    func exists(_ digest: Digest) throws(StoreError) -> Bool

    /// The objects stored whose hex starts with `shard` (two hex digits), or all when nil.
    func list(shard: String?) throws(StoreError) -> ObjectListing

    /// Deletes object `digest` (and any local copy); whether it was there. The store calls it only
    /// in the catalog transaction that found no row referring to the object (GC, scrub's quarantine).
    @discardableResult
    func delete(_ digest: Digest) throws(StoreError) -> Bool

    /// Drops a local copy of `digest` that did not verify, so the next `read` fetches it again;
    /// whether there was a copy to drop (false for a storage without copies).
    func dropCopy(_ digest: Digest) -> Bool

    /// Objects held only locally that the remote storage lacks (left in the local directory by
    /// a store that kept its objects there before): the store verifies and stores them at open.
    func localOnly() throws(StoreError) -> [Digest]

    /// Checks that the storage answers (for a load balancer's readiness probe): one cheap request.
    func probe() throws(StoreError)
}

extension ObjectStorage {
    /// The local file system answers when the store does: nothing to check.
    public func probe() throws(StoreError) {}
}

/// What `ObjectStorage.list` found: object digests (sorted) and names that are not objects.
public struct ObjectListing: Sendable, Equatable {
    public var digests: [Digest]
    /// Files or keys where objects live that do not name an object (fsck warns about them).
    public var strays: [String]

    public init(digests: [Digest], strays: [String] = []) {
        self.digests = digests
        self.strays = strays
    }
}

extension Store {
    /// Recovery's share for objects: with a remote object storage, objects found only in the local
    /// directory (a store that kept its objects there before) are verified and stored remotely;
    /// one that does not verify is left for fsck and scrub to report.
    func recoverObjects() throws(StoreError) {
        guard objectStorage.isRemote else { return }
        for d in try objectStorage.localOnly() {
            guard let stored = try objectStorage.read(d, limit: options.maxObjectSize + 1024),
                (try? decodeObject(stored, d)) != nil
            else { continue }
            try objectStorage.store([(d, stored)]) { d, bytes in (try? decodeObject(bytes, d)) != nil }
        }
    }
}
