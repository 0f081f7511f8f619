import Foundation
import Synchronization
import Testing
import TroveCore
import TroveObjectStorage
import TroveStore

/// Where a test store keeps its packs.
enum PackBackend: String, CaseIterable, CustomTestStringConvertible, Sendable {
    case local, s3
    var testDescription: String { rawValue }
}

/// A store on `backend` in a fresh root (and, for S3, a fresh bucket of the shared SeaweedFS).
final class TestStore {
    let root: String
    private(set) var store: Store!
    let storage: any PackStorage
    /// Where objects live (nil: the store's objects/ directory).
    let objects: (any ObjectStorage)?
    /// The S3 side (nil for local): the client and the key prefix, to open more stores on it.
    let client: S3Client?

    init(
        _ backend: PackBackend, packSize: Int = 256 << 10, cacheBytes: Int64 = 1 << 30, objectCacheBytes: Int64 = 1 << 30,
        client: S3Client? = nil
    ) throws {
        root = NSTemporaryDirectory() + "trove-packs-\(UUID().uuidString)"
        switch backend {
        case .local:
            self.client = nil
            storage = LocalPackStorage(directory: root + "/packs")
            objects = nil
        case .s3:
            let c = try client ?? SeaweedFS.client(bucket: "packs")
            self.client = c
            storage = try S3PackStorage(
                client: c, prefix: "store/", cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
                cacheBytes: cacheBytes)
            objects = try S3ObjectStorage(
                client: c, prefix: "store/", cacheDirectory: root + "/objects", tmpDirectory: root + "/tmp",
                cacheBytes: objectCacheBytes)
        }
        store = try Store.create(at: root, options: options(packSize: packSize))
    }

    /// Closes the store and opens the same root again.
    func reopen(packSize: Int = 256 << 10) throws -> Store {
        store = nil
        store = try Store.open(at: root, options: options(packSize: packSize))
        return store
    }

    func options(packSize: Int = 256 << 10) -> StoreOptions {
        StoreOptions(packSize: packSize, packStorage: storage, objectStorage: objects)
    }

    /// Closes the store (its files stay).
    func close() { store = nil }

    func cleanup() { try? FileManager.default.removeItem(atPath: root) }
}

/// Deterministic bytes (splitmix64).
func testBytes(_ n: Int, seed: UInt64) -> [UInt8] {
    var state = seed
    var out = [UInt8]()
    out.reserveCapacity(n + 8)
    while out.count < n {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        z ^= z >> 31
        withUnsafeBytes(of: z) { out += $0 }
    }
    return Array(out.prefix(n))
}

/// Stores `content` as a one-file tree in 4 KiB chunks (one `putChunks` per 64 chunks, so
/// several group commits) and returns the tree.
func storeFile(_ store: Store, _ content: [UInt8]) throws -> Digest {
    var chunks: [ChunkInput] = []
    var rc: [RecipeChunk] = []
    var i = 0
    while i < content.count {
        let piece = Array(content[i..<min(i + 4096, content.count)])
        chunks.append(ChunkInput(digest: SHA256.hash(piece), codec: .raw, rawLength: piece.count, bytes: piece))
        rc.append(RecipeChunk(digest: SHA256.hash(piece), length: UInt32(piece.count)))
        i += 4096
    }
    for batch in stride(from: 0, to: chunks.count, by: 64) {
        let r = try store.putChunks(Array(chunks[batch..<min(batch + 64, chunks.count)]))
        #expect(r.rejected.isEmpty)
    }
    let recipe = Recipe(blobDigest: SHA256.hash(content), size: UInt64(content.count), chunks: rc)
    guard case .committed(let t) = try store.commit(recipes: [recipe], tree: Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])) else {
        throw StoreError.invalidCommit("chunks missing after putChunks")
    }
    return t
}

/// Reads every chunk of the tree's file back and checks the blob digest.
func expectReadable(_ store: Store, _ tree: Digest, _ content: [UInt8]) throws {
    let t = try store.readTree(tree)
    let blob = try #require(t.entries.first?.blob)
    let recipe = try #require(try store.recipe(forBlob: blob))
    var out: [UInt8] = []
    for c in recipe.chunks { out += try store.readChunk(c.digest) }
    #expect(out == content)
}

/// The pack tests, on the local file system and on a real S3-compatible server.
@Suite("Pack storage", .serialized)
struct PackStorageTests {
    @Test(arguments: PackBackend.allCases)
    func chunksRoundTripAcrossReopenWithCleanFsckAndScrub(_ backend: PackBackend) throws {
        let s = try TestStore(backend)
        defer { s.cleanup() }
        let a = testBytes(700 << 10, seed: 1)
        let b = testBytes(300 << 10, seed: 2)
        let ta = try storeFile(s.store, a)
        let tb = try storeFile(s.store, b)
        try expectReadable(s.store, ta, a)
        // Every pack the catalog lists is stored (for S3: as an object, before the ack).
        let stored = Set(try s.storage.list())
        #expect(stored.count == (try s.store.stats().packCount))
        for name in stored { #expect(try s.storage.exists(name: name)) }
        let snapshot = try s.store.indexSnapshot()
        #expect(try s.store.rebuildChunkIndex() == snapshot.count)
        #expect(try s.store.indexSnapshot() == snapshot)
        #expect(try s.store.fsck(deep: true).isClean)
        #expect(try s.store.scrub().clean)

        let again = try s.reopen()
        try expectReadable(again, ta, a)
        try expectReadable(again, tb, b)
        #expect(try again.fsck(deep: true).isClean)
    }

    @Test(arguments: PackBackend.allCases)
    func gcDeletesPacksOnlyOnceNothingPointsThere(_ backend: PackBackend) throws {
        let s = try TestStore(backend)
        defer { s.cleanup() }
        let keep = testBytes(200 << 10, seed: 3)
        let drop = testBytes(600 << 10, seed: 4)
        let tk = try storeFile(s.store, keep)
        let td = try storeFile(s.store, drop)
        _ = try s.store.createVersion(name: "m", version: "keep", tree: tk, creator: "t")
        _ = try s.store.createVersion(name: "m", version: "drop", tree: td, creator: "t")
        let before = Set(try s.storage.list())
        try s.store.retireVersion(name: "m", version: "drop", actor: "t")
        usleep(2000)
        let r = try s.store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        #expect(r.chunksFreed == 150)
        #expect(r.packsDeleted > 0)
        let after = Set(try s.storage.list())
        #expect(after.count == (try s.store.stats().packCount))
        for gone in before.subtracting(after) { #expect(try !s.storage.exists(name: gone)) }
        try expectReadable(s.store, tk, keep)
        #expect(try s.store.fsck(deep: true).isClean)
    }

    @Test(arguments: PackBackend.allCases)
    func theSeamStoresReadsListsAndDeletes(_ backend: PackBackend) throws {
        let s = try TestStore(backend)
        defer { s.cleanup() }
        let cache = LocalPackStorage(directory: s.root + "/packs", tmpDirectory: s.root + "/tmp")
        let name = "00" + String(repeating: "ab", count: 15)
        let bytes = testBytes(100_000, seed: 5)
        try cache.install(name: name, bytes: bytes)
        try s.storage.storeSealed(name: name, localPath: cache.path(name))
        try s.storage.storeSealed(name: name, localPath: cache.path(name))  // again: same bytes, fine
        #expect(try s.storage.exists(name: name))
        #expect(try s.storage.list().contains(name))
        #expect(try s.storage.read(name: name, offset: 777, count: 1000) == Array(bytes[777..<1777]))
        #expect(try s.storage.localFile(name: name) == cache.path(name))
        #expect(try s.storage.delete(name: name) == 100_000)
        #expect(try !s.storage.exists(name: name))
        #expect(try !s.storage.list().contains(name))
        #expect(try s.storage.delete(name: name) == 0)
    }
}

/// What only remote pack storage promises.
@Suite("S3 pack storage", .serialized)
struct S3PackStorageTests {
    @Test func acknowledgedChunksSurviveLosingTheInstanceAndItsDisk() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let content = testBytes(500 << 10, seed: 6)
        _ = try storeFile(s.store, content)
        let digests = try s.store.recipe(forBlob: SHA256.hash(content))!.chunks.map(\.digest)
        // A new instance with an empty local disk on the same bucket and prefix: recovery
        // registers every pack it finds there, so every acknowledged chunk is indexed again.
        let fresh = try TestStore(.s3, client: s.client)
        defer { fresh.cleanup() }
        #expect(try fresh.store.missing(digests).isEmpty)
        for d in digests.prefix(20) { #expect(SHA256.hash(try fresh.store.readChunk(d)) == d) }
        #expect(try fresh.store.fsck(deep: true).isClean)
    }

    /// What a lost instance leaves in a shared catalog: the row of a pack it had opened and not
    /// stored yet (nothing in it is indexed before it is stored). fsck warns, scrub passes over it,
    /// as they do for another instance's pack in progress.
    @Test func anOpenPackWithNothingIndexedAndStoredNowhereIsNotDamage() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let content = testBytes(300 << 10, seed: 8)
        let tree = try storeFile(s.store, content)
        s.close()
        let catalog = try SQLiteCatalog(path: s.root + "/catalog.sqlite")
        try catalog.write { db in
            try db.execute(
                sql: "INSERT INTO packs (name, state, size, created) VALUES (?, 0, 16, 1)",
                arguments: ["0123456789abcdef0123456789abcdef"])
        }
        let store = try s.reopen()
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
        #expect(report.warnings.contains { $0.contains("0123456789abcdef0123456789abcdef") }, "\(report.warnings)")
        #expect(try store.scrub().clean)
        try expectReadable(store, tree, content)
    }

    @Test func readsComeFromTheObjectStoreWhenTheLocalCopyIsGone() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let content = testBytes(400 << 10, seed: 7)
        let tree = try storeFile(s.store, content)
        // Drop the local copies (the cache): reads go to the object store (ranged GETs, then the
        // whole pack once it is read from again).
        let local = LocalPackStorage(directory: s.root + "/packs")
        for name in try local.list() { try local.delete(name: name) }
        try expectReadable(s.store, tree, content)
        #expect(try s.store.scrub().clean)
    }

    @Test func theLocalCacheStaysWithinItsBudget() throws {
        // Each group commit of 64 × 4 KiB makes a pack of ~260 KiB: the budget holds two.
        let budget: Int64 = 600 << 10
        let s = try TestStore(.s3, cacheBytes: budget)
        defer { s.cleanup() }
        let content = testBytes(2 << 20, seed: 8)
        let tree = try storeFile(s.store, content)
        let local = LocalPackStorage(directory: s.root + "/packs")
        let cached = try local.list().compactMap { local.size(name: $0) }.reduce(0, +)
        #expect(cached <= budget)
        #expect(try s.storage.list().count == (try s.store.stats().packCount))
        try expectReadable(s.store, tree, content)
    }

    @Test func aPackNameHoldsOneContentOnly() throws {
        let s = try TestStore(.s3)
        defer { s.cleanup() }
        let cache = LocalPackStorage(directory: s.root + "/packs", tmpDirectory: s.root + "/tmp")
        let name = "ff" + String(repeating: "01", count: 15)
        try cache.install(name: name, bytes: [1, 2, 3])
        try s.storage.storeSealed(name: name, localPath: cache.path(name))
        try cache.delete(name: name)
        try cache.install(name: name, bytes: [4, 5, 6])
        #expect(throws: StoreError.self) { try s.storage.storeSealed(name: name, localPath: cache.path(name)) }
        #expect(try S3Client(config: s.client!.config).get(key: "store/packs/ff/\(name).pack") == [1, 2, 3])
    }
}

/// A pack storage whose requests but listing fail while `failing` is set (an object store
/// outage), around a real one.
final class OutagePackStorage: PackStorage {
    let inner: any PackStorage
    /// Whether requests fail now, in its Mutex.
    let failing = Mutex(false)

    init(_ inner: any PackStorage) { self.inner = inner }

    var isRemote: Bool { inner.isRemote }
    func check() throws(StoreError) {
        if failing.withLock({ $0 }) { throw .packStorage("S3 PUT refused: HTTP 503 SlowDown (injected outage)") }
    }
    func storeSealed(name: String, localPath: String) throws(StoreError) {
        try check()
        try inner.storeSealed(name: name, localPath: localPath)
    }
    func read(name: String, offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        try check()
        return try inner.read(name: name, offset: offset, count: count)
    }
    func localFile(name: String) throws(StoreError) -> String {
        try check()
        return try inner.localFile(name: name)
    }
    func exists(name: String) throws(StoreError) -> Bool {
        try check()
        return try inner.exists(name: name)
    }
    func list() throws(StoreError) -> [String] { try inner.list() }
    func delete(name: String) throws(StoreError) -> Int64 { try inner.delete(name: name) }
}

@Suite("S3 pack storage outages", .serialized)
struct S3PackStorageOutageTests {
    @Test func anUploadThatFailsAcknowledgesNothingAndRecoveryStoresItLater() throws {
        let client = try SeaweedFS.client(bucket: "outage")
        let root = NSTemporaryDirectory() + "trove-outage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        func storage() throws -> OutagePackStorage {
            OutagePackStorage(
                try S3PackStorage(
                    client: client, prefix: "", cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
                    cacheBytes: 1 << 30))
        }
        let flaky = try storage()
        var store: Store? = try Store.create(at: root, options: StoreOptions(packStorage: flaky))
        let pieces = (0..<8).map { testBytes(4096, seed: 100 + UInt64($0)) }
        let chunks = pieces.map { ChunkInput(digest: SHA256.hash($0), codec: .raw, rawLength: 4096, bytes: $0) }
        let digests = chunks.map(\.digest)

        flaky.failing.withLock { $0 = true }
        #expect(throws: StoreError.packStorage("S3 PUT refused: HTTP 503 SlowDown (injected outage)")) {
            try store!.putChunks(chunks)
        }
        #expect(try store!.missing(digests) == digests)  // nothing acknowledged, nothing indexed
        #expect(!store!.isReadOnly)  // an outage is not a durability failure
        #expect(try client.list(prefix: "packs/").isEmpty)

        // The object store is back: the client's retry is stored and acknowledged.
        flaky.failing.withLock { $0 = false }
        #expect(try store!.putChunks(Array(chunks.prefix(4))).stored == 4)
        #expect(try store!.missing(digests) == Array(digests.suffix(4)))

        // The segment written during the outage is still on the local disk: the next open
        // stores it and indexes its chunks.
        store = nil
        store = try Store.open(at: root, options: StoreOptions(packStorage: try storage()))
        #expect(try store!.missing(digests).isEmpty)
        #expect(try client.list(prefix: "packs/").count == (try store!.stats().packCount))
        for (d, p) in zip(digests, pieces) { #expect(try store!.readChunk(d) == p) }
        #expect(try store!.fsck(deep: true).isClean)
    }

    @Test func aScrubDuringAnOutageFailsAndTakesNothingForDamage() throws {
        let client = try SeaweedFS.client(bucket: "scrubout")
        let root = NSTemporaryDirectory() + "trove-scrubout-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let flaky = OutagePackStorage(
            try S3PackStorage(
                client: client, prefix: "", cacheDirectory: root + "/packs", tmpDirectory: root + "/tmp",
                cacheBytes: 1 << 30))
        let store = try Store.create(at: root, options: StoreOptions(packSize: 256 << 10, packStorage: flaky))
        let content = testBytes(300 << 10, seed: 9)
        let tree = try storeFile(store, content)
        // No local copies: the scrub must fetch every pack, and the object store does not answer.
        let local = LocalPackStorage(directory: root + "/packs")
        for name in try local.list() { try local.delete(name: name) }
        flaky.failing.withLock { $0 = true }
        let failed = #expect(throws: (any Error).self) { try store.scrub() }
        #expect("\(failed.map { "\($0)" } ?? "")".contains("injected outage"))
        flaky.failing.withLock { $0 = false }
        #expect(try store.quarantineList().isEmpty)
        #expect(try store.scrub().clean)
        try expectReadable(store, tree, content)
    }
}
