import Foundation
import Synchronization
import Testing
import TroveCore
import TroveObjectStorage
import TroveStore

/// Recipes and trees in the object store (`S3ObjectStorage`) on a real SeaweedFS.
@Suite("S3 object storage", .serialized)
struct S3ObjectStorageTests {
    /// Two versions: a 2 MiB file (its recipe, ~18 KiB, is an object) and a 100 KiB one (its
    /// recipe a catalog row); (name:version, content).
    func twoVersions(_ store: Store) throws -> [(String, [UInt8])] {
        var out: [(String, [UInt8])] = []
        for (i, size) in [2 << 20, 100 << 10].enumerated() {
            let content = testBytes(size, seed: 40 + UInt64(i))
            let tree = try storeFile(store, content)
            _ = try store.createVersion(name: "m", version: "v\(i)", tree: tree, creator: "t")
            out.append(("v\(i)", content))
        }
        return out
    }

    /// Every version reads back whole from `store`.
    func expectEveryVersion(_ store: Store, _ versions: [(String, [UInt8])]) throws {
        for (v, content) in versions {
            let record = try #require(try store.version(name: "m", version: v))
            try expectReadable(store, record.tree, content)
        }
    }

    @Test func aNewInstanceWithAnEmptyRootAndTheCatalogPullsEveryVersion() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let versions = try twoVersions(s.store)
        // Both trees and the large recipe are objects in the bucket, acknowledged once stored.
        let keys = try s.client!.list(prefix: "store/objects/").map(\.key)
        #expect(keys.count == 3, "\(keys)")
        for v in versions {
            let tree = try #require(try s.store.version(name: "m", version: v.0)).tree
            #expect(keys.contains("store/objects/\(tree.hex.prefix(2))/\(tree.hex)"))
        }
        s.close()

        // Another machine: nothing but the catalog (and the store's config) on its disk.
        let root = NSTemporaryDirectory() + "trove-fresh-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        for f in ["trove.toml", "catalog.sqlite", "catalog.sqlite-wal"]
        where FileManager.default.fileExists(atPath: s.root + "/" + f) {
            try FileManager.default.copyItem(atPath: s.root + "/" + f, toPath: root + "/" + f)
        }
        let client = try S3Client(config: s.client!.config)
        let fresh = try Store.open(
            at: root,
            options: StoreOptions(
                packSize: 256 << 10,
                packStorage: try S3PackStorage(
                    client: client, prefix: "store/", cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
                    cacheBytes: 1 << 30),
                objectStorage: try S3ObjectStorage(
                    client: client, prefix: "store/", cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
                    cacheBytes: 1 << 30)))
        try expectEveryVersion(fresh, versions)
        #expect(try fresh.fsck(deep: true).isClean)
        #expect(try fresh.scrub().clean)
    }

    @Test func gcDeletesObjectKeysOnlyOnceNothingRefersToThem() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let versions = try twoVersions(s.store)
        let drop = try #require(try s.store.version(name: "m", version: "v0")).tree
        let dropKey = "store/objects/\(drop.hex.prefix(2))/\(drop.hex)"
        // Within the grace period nothing goes, retired or not.
        try s.store.retireVersion(name: "m", version: "v0", actor: "t")
        _ = try s.store.collectGarbage(GCOptions(graceSeconds: 3600, packRemovalDelay: 0))
        #expect(try s.client!.head(key: dropKey) != nil)
        usleep(2000)
        let r = try s.store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        #expect(r.objectsFreed == 2)  // v0's tree and its large recipe
        #expect(try s.client!.head(key: dropKey) == nil)
        #expect(try s.client!.list(prefix: "store/objects/").count == 1)  // v1's tree
        try expectEveryVersion(s.store, [versions[1]])
        #expect(try s.store.fsck(deep: true).isClean)
    }

    @Test func aDamagedCachedCopyIsFetchedAgainAndTheCacheStaysWithinItsBudget() throws {
        let s = try TestStore(.s3, objectCacheBytes: 1)
        defer { s.cleanup() }
        let versions = try twoVersions(s.store)
        // A budget of one byte keeps at most the newest object's copy.
        let cache = LocalObjectStorage(directory: s.root + "/objects", tmpDirectory: s.root + "/tmp")
        #expect(try cache.list(shard: nil).digests.count <= 1)
        let tree = try #require(try s.store.version(name: "m", version: "v1")).tree
        _ = try s.store.readTree(tree)
        // The newest read stays cached: damage the copy; the read fetches the object again.
        #expect(cache.size(tree) != nil)
        try Data("TOBJ garbage".utf8).write(to: URL(fileURLWithPath: cache.path(tree)))
        _ = try s.store.readTree(tree)
        #expect(try cache.read(tree, limit: 1 << 20) != Array("TOBJ garbage".utf8))
        try expectEveryVersion(s.store, versions)
        #expect(try s.store.scrub().clean)
    }

    @Test func objectsLeftInTheLocalDirectoryAreStoredAtOpen() throws {
        // A store that kept its objects locally, then opened with S3 object storage.
        let s = try TestStore(.local)
        defer { s.cleanup() }
        let versions = try twoVersions(s.store)
        s.close()
        let client = try SeaweedFS.client(bucket: "adopt")
        let objects = try S3ObjectStorage(
            client: client, prefix: "", cacheDirectory: s.root + "/objects", tmpDirectory: s.root + "/tmp",
            cacheBytes: 1 << 30)
        #expect(try objects.localOnly().count == 3)
        let store = try Store.open(at: s.root, options: StoreOptions(packSize: 256 << 10, objectStorage: objects))
        #expect(try client.list(prefix: "objects/").count == 3)
        #expect(try objects.localOnly().isEmpty)
        try expectEveryVersion(store, versions)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func manyLocalCopiesAreCheckedAgainstOneListingOfTheBucket() throws {
        // Above 256 copies found at start, localOnly lists the bucket instead of a HEAD each.
        let client = try SeaweedFS.client(bucket: "many")
        let root = NSTemporaryDirectory() + "trove-many-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        for d in ["tmp", "objects"] {
            try FileManager.default.createDirectory(atPath: root + "/" + d, withIntermediateDirectories: true)
        }
        let local = LocalObjectStorage(directory: root + "/objects", tmpDirectory: root + "/tmp")
        let objects = (0..<300).map { i in (digest: SHA256.hash(Array("object \(i)".utf8)), bytes: [UInt8(i % 256)]) }
        try local.store(objects) { _, _ in false }
        for o in objects.prefix(100) {
            try client.putIfAbsent(key: "objects/\(o.digest.hex.prefix(2))/\(o.digest.hex)", bytes: o.bytes)
        }
        let s3 = try S3ObjectStorage(
            client: client, prefix: "", cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
            cacheBytes: 1 << 30)
        #expect(Set(try s3.localOnly()) == Set(objects.suffix(200).map(\.digest)))
    }

    @Test func anObjectKeyHoldsItsObjectOnlyAndRepeatedStoresAreFine() throws {
        let client = try SeaweedFS.client(bucket: "objkeys")
        let root = NSTemporaryDirectory() + "trove-objkeys-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        let objects = try S3ObjectStorage(
            client: client, prefix: "p/", cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
            cacheBytes: 1 << 30)
        let d = SHA256.hash([1, 2, 3])
        try objects.store([(d, [9, 9])]) { _, _ in false }
        try objects.store([(d, [9, 9])]) { _, _ in false }  // the same bytes again: fine
        let key = "p/objects/\(d.hex.prefix(2))/\(d.hex)"
        #expect(try client.head(key: key)?.metadata["sha256"] == SHA256.hash([9, 9]).hex)
        // Other bytes that the store accepts as intact (another compression) keep the first.
        try objects.store([(d, [8, 8, 8])]) { _, old in old == [9, 9] }
        #expect(try client.get(key: key) == [9, 9])
        // Bytes the store rejects (damage) are replaced.
        try objects.store([(d, [7])]) { _, _ in false }
        #expect(try client.get(key: key) == [7])
        #expect(try objects.list(shard: String(d.hex.prefix(2))).digests == [d])
        #expect(try objects.delete(d))
        #expect(try objects.read(d, limit: 100) == nil)
        #expect(try !objects.delete(d))
    }

    @Test func anObjectUploadThatFailsAcknowledgesNothingAndTheRetrySucceeds() throws {
        let client = try SeaweedFS.client(bucket: "objoutage")
        let root = NSTemporaryDirectory() + "trove-objoutage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        try FileManager.default.createDirectory(atPath: root + "/tmp", withIntermediateDirectories: true)
        let flaky = OutageObjectStorage(
            try S3ObjectStorage(
                client: client, prefix: "", cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
                cacheBytes: 1 << 30))
        let store = try Store.create(at: root, options: StoreOptions(objectStorage: flaky))
        let content = testBytes(50 << 10, seed: 77)
        let chunk = ChunkInput(digest: SHA256.hash(content), codec: .raw, rawLength: content.count, bytes: content)
        #expect(try store.putChunks([chunk]).rejected.isEmpty)
        let recipe = Recipe(
            blobDigest: chunk.digest, size: UInt64(content.count),
            chunks: [RecipeChunk(digest: chunk.digest, length: UInt32(content.count))])
        let tree = Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])

        flaky.failing.withLock { $0 = true }
        #expect(throws: StoreError.packStorage("S3 PUT refused: HTTP 503 SlowDown (injected outage)")) {
            try store.commit(recipes: [recipe], tree: tree)
        }
        #expect(try !store.hasTree(SHA256.hash(tree.canonicalBytes)))  // nothing acknowledged
        #expect(!store.isReadOnly)  // an outage is not a durability failure
        #expect(try client.list(prefix: "objects/").isEmpty)

        flaky.failing.withLock { $0 = false }
        guard case .committed(let t) = try store.commit(recipes: [recipe], tree: tree) else {
            Issue.record("the retried commit did not commit")
            return
        }
        #expect(try client.head(key: "objects/\(t.hex.prefix(2))/\(t.hex)") != nil)
        #expect(try store.fsck(deep: true).isClean)

        // A scrub during an outage fails (run it again later) and takes nothing for damage.
        _ = try store.createVersion(name: "m", version: "1", tree: t, creator: "t")
        flaky.failing.withLock { $0 = true }
        let failed = #expect(throws: (any Error).self) { try store.scrub() }
        #expect("\(failed.map { "\($0)" } ?? "")".contains("injected outage"))
        flaky.failing.withLock { $0 = false }
        #expect(try store.quarantineList().isEmpty)
        #expect(try store.hasTree(t))
        #expect(try store.scrub().clean)
        #expect(try store.readTree(t) == tree)
    }
}

/// An object storage whose requests fail while `failing` is set (an object store outage), around
/// a real one.
final class OutageObjectStorage: ObjectStorage {
    let inner: any ObjectStorage
    /// Whether requests fail now, in its Mutex.
    let failing = Mutex(false)

    init(_ inner: any ObjectStorage) { self.inner = inner }

    var isRemote: Bool { inner.isRemote }
    func check() throws(StoreError) {
        if failing.withLock({ $0 }) { throw .packStorage("S3 PUT refused: HTTP 503 SlowDown (injected outage)") }
    }
    func store(_ objects: [(digest: Digest, bytes: [UInt8])], intact: (Digest, [UInt8]) -> Bool) throws(StoreError) {
        try check()
        try inner.store(objects, intact: intact)
    }
    func read(_ digest: Digest, limit: Int) throws(StoreError) -> [UInt8]? {
        try check()
        return try inner.read(digest, limit: limit)
    }
    func exists(_ digest: Digest) throws(StoreError) -> Bool {
        try check()
        return try inner.exists(digest)
    }
    /// Listing still works (a partial outage: GET, HEAD and PUT fail with 503).
    func list(shard: String?) throws(StoreError) -> ObjectListing { try inner.list(shard: shard) }
    func delete(_ digest: Digest) throws(StoreError) -> Bool { try inner.delete(digest) }
    func dropCopy(_ digest: Digest) -> Bool { inner.dropCopy(digest) }
    func localOnly() throws(StoreError) -> [Digest] { try inner.localOnly() }
}
