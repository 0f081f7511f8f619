/// Where sealed packs live (docs/STORE.md, "Pack storage"): the store's own `packs/` directory
/// (`LocalPackStorage`, the default) or an S3-compatible object store (TroveObjectStorage's
/// `S3PackStorage`).
///
/// The store always writes a pack in its local `packs/` directory first (tmp → fsync → rename,
/// segments appended and `fdatasync`ed). A storage that `isRemote` then receives each pack as
/// one whole, never-changing object before any index entry points into it: in that mode every
/// group commit seals its pack, so a chunk is acknowledged only once the object holding it is
/// stored remotely. Implementations are thread-safe; their calls block.
public protocol PackStorage: Sendable {
    /// Whether packs live somewhere other than the local `packs/` directory.
    var isRemote: Bool { get }

    /// Makes the sealed pack at `localPath` durable in this storage under `name`, exactly once:
    /// calling it again for the same name and bytes succeeds; different bytes are an error.
    func storeSealed(name: String, localPath: String) throws(StoreError)

    /// `count` bytes at `offset` of pack `name`.
    func read(name: String, offset: Int, count: Int) throws(StoreError) -> [UInt8]

    /// A local file holding the whole of pack `name` (the pack itself, or a cached copy), for
    /// whole-pack scans: scrub, fsck, index rebuild, recovery.
    func localFile(name: String) throws(StoreError) -> String

    /// Whether pack `name` is stored.
    func exists(name: String) throws(StoreError) -> Bool

    /// The names of every stored pack.
    func list() throws(StoreError) -> [String]

    /// Deletes pack `name` (and any local copy); the bytes freed, 0 when it was not there. The
    /// store calls it only once the catalog no longer points into the pack and the removal delay
    /// has passed.
    @discardableResult
    func delete(name: String) throws(StoreError) -> Int64

    /// Checks that the storage answers (for a load balancer's readiness probe): one cheap request.
    func probe() throws(StoreError)
}

extension PackStorage {
    /// The local file system answers when the store does: nothing to check.
    public func probe() throws(StoreError) {}
}
