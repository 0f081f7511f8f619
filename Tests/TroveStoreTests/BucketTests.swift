import Foundation
import Testing
import TroveCore
import TroveStore

/// Buckets in the catalog: keys → committed blobs, ingest through the store's chunk path,
/// listing order, conditions, write-once, multipart, and keys as GC roots.
@Suite("Buckets")
struct BucketTests {

    func ingest(_ store: Store, _ bytes: [UInt8], dir: String) throws -> IngestedBlob {
        let path = dir + "/body-\(UUID().uuidString)"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        defer { unlink(path) }
        return try store.ingestBlob(file: path)
    }

    func content(_ store: Store, _ blob: Digest) throws -> [UInt8] {
        let recipe = try #require(try store.recipe(forBlob: blob))
        var out: [UInt8] = []
        for c in recipe.chunks { out += try store.readChunk(c.digest) }
        return out
    }

    @Test("ingest from memory (in place) stores the same blob and chunks as from a file; a wrong expected digest stores nothing")
    func memoryIngestEqualsFileIngest() throws {
        let root = tempStorePath("buckets-memory")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 11)
        let body = rng.bytes(3_000_001) + [UInt8](repeating: 7, count: 400_000)
        let before = try store.stats().chunkCount
        #expect(throws: StoreError.self) {
            try body.withUnsafeBytes { try store.ingestBlob(bytes: $0, expecting: SHA256.hash([1, 2, 3])) }
        }
        #expect(try store.stats().chunkCount == before)
        let fromMemory = try body.withUnsafeBytes { try store.ingestBlob(bytes: $0, expecting: SHA256.hash(body)) }
        #expect(fromMemory.digest == SHA256.hash(body) && fromMemory.size == UInt64(body.count) && fromMemory.newBytes > 0)
        let memoryRecipe = try #require(try store.recipe(forBlob: fromMemory.digest))
        #expect(try content(store, fromMemory.digest) == body)
        // The file path finds every chunk already stored: the same chunks, the same recipe.
        let fromFile = try ingest(store, body, dir: store.root + "/tmp")
        #expect(fromFile.digest == fromMemory.digest && fromFile.newBytes == 0)
        #expect(try store.recipe(forBlob: fromFile.digest) == memoryRecipe)
        let expected = try Ingest.serial(
            bytes: body, parameters: store.config.chunking.parameters, formats: store.config.formats)
        #expect(memoryRecipe.chunks.map(\.digest) == expected.chunks.map(\.digest))
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("put, get, overwrite, list in byte order, delete; keys survive GC, deleted ones are collected")
    func keysAreGCRoots() throws {
        let root = tempStorePath("buckets")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 7)
        _ = try store.createBucket("data")
        #expect(throws: BucketError.bucketExists("data")) { try store.createBucket("data") }
        #expect(throws: BucketError.self) { try store.createBucket("Bad_Name") }
        #expect(throws: BucketError.self) { try store.createBucket("versions") }
        let a = rng.bytes(700_000)
        let b = rng.bytes(500_000)
        let blobA = try ingest(store, a, dir: store.root + "/tmp")
        #expect(blobA.digest == SHA256.hash(a) && blobA.size == UInt64(a.count))
        let blobB = try ingest(store, b, dir: store.root + "/tmp")
        // Same content again: nothing new is stored.
        #expect(try ingest(store, a, dir: store.root + "/tmp").newBytes == 0)
        try store.putBucketObject("data", BucketObject(key: "k/a", blob: blobA.digest, size: blobA.size, etag: "ea"))
        try store.putBucketObject("data", BucketObject(key: "k/b", blob: blobB.digest, size: blobB.size, etag: "eb"))
        #expect(throws: BucketError.preconditionFailed("k/a exists (If-None-Match: *)")) {
            try store.putBucketObject("data", BucketObject(key: "k/a", blob: blobB.digest, size: blobB.size, etag: "x"), condition: .absent)
        }
        #expect(try store.listBucketObjects("data", prefix: "k/", limit: 10).map(\.key) == ["k/a", "k/b"])
        #expect(try store.listBucketObjects("data", prefix: "k/", after: "k/a", limit: 10).map(\.key) == ["k/b"])
        _ = try gcNow(store)
        #expect(try content(store, blobA.digest) == a)
        #expect(try content(store, blobB.digest) == b)
        // Deleting k/b makes its chunks collectable.
        #expect(try store.deleteBucketObjects("data", keys: ["k/b", "absent"]) == ["k/b"])
        let before = try store.stats().chunkCount
        let report = try gcNow(store)
        #expect(report.candidateBlobs >= 1)
        #expect(try store.stats().chunkCount < before)
        #expect(try content(store, blobA.digest) == a)
        #expect(try store.fsck(deep: true).isClean)
        #expect(throws: BucketError.bucketNotEmpty("data")) { try store.deleteBucket("data") }
        _ = try store.deleteBucketObjects("data", keys: ["k/a"])
        try store.deleteBucket("data")
        #expect(try store.listBuckets().isEmpty)
    }

    @Test("write-once buckets refuse overwrite and delete; copy moves no bytes")
    func writeOnceAndCopy() throws {
        let root = tempStorePath("buckets")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        _ = try store.createBucket("vault", writeOnce: true)
        _ = try store.createBucket("plain")
        let blob = try ingest(store, Array("hello".utf8), dir: store.root + "/tmp")
        try store.putBucketObject("vault", BucketObject(key: "x", blob: blob.digest, size: blob.size, etag: "e"))
        #expect(throws: BucketError.writeOnce(bucket: "vault", key: "x")) {
            try store.putBucketObject("vault", BucketObject(key: "x", blob: blob.digest, size: blob.size, etag: "e"))
        }
        #expect(throws: BucketError.writeOnce(bucket: "vault", key: "x")) { try store.deleteBucketObjects("vault", keys: ["x"]) }
        let copied = try store.copyBucketObject(from: ("vault", "x"), to: "plain", key: "y", replace: nil)
        #expect(copied.blob == blob.digest)
        #expect(try store.bucketObject("plain", "y")?.etag == "e")
        #expect(try store.bucketCounts() == (2, 2))
    }

    @Test("multipart: parts are roots until completion; the whole is their concatenation")
    func multipart() throws {
        let root = tempStorePath("buckets")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        _ = try store.createBucket("mpu")
        var rng = TestRandom(seed: 9)
        let p1 = rng.bytes(300_000)
        let p2 = rng.bytes(100_000)
        let u = try store.createMultipartUpload("mpu", key: "big", contentType: "x/y", metadata: ["a": "b"])
        for (n, bytes) in [(1, p1), (2, p2)] {
            let blob = try ingest(store, bytes, dir: store.root + "/tmp")
            try store.putMultipartPart(
                u.id, MultipartPart(number: n, blob: blob.digest, size: blob.size, etag: "p\(n)", mtime: 0))
        }
        _ = try gcNow(store)
        #expect(try store.multipartParts(u.id).count == 2)
        #expect(throws: BucketError.self) { try store.completeMultipartUpload(u.id, parts: [(2, "p2"), (1, "p1")], etag: "x") }
        let o = try store.completeMultipartUpload(u.id, parts: [(1, "p1"), (2, "p2")], etag: "whole-2")
        #expect(o.blob == SHA256.hash(p1 + p2) && o.contentType == "x/y" && o.metadata == ["a": "b"])
        #expect(try content(store, o.blob) == p1 + p2)
        #expect(throws: BucketError.noSuchUpload(u.id)) { try store.multipartParts(u.id) }
        _ = try gcNow(store)
        #expect(try content(store, o.blob) == p1 + p2)
        // Abandoned uploads are aborted by age.
        let old = try store.createMultipartUpload("mpu", key: "old", contentType: nil, metadata: [:])
        #expect(try store.expireMultipartUploads(startedBefore: old.created) == 0)
        #expect(try store.expireMultipartUploads(startedBefore: old.created + 1) == 1)
        #expect(throws: BucketError.noSuchUpload(old.id)) { try store.multipartParts(old.id) }
    }
}
