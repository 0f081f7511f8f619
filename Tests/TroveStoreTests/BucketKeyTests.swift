import Foundation
import Testing
import TroveCore
import TroveStore

/// BIND_KEY's store operation: keys bound to committed blobs, buckets created on demand,
/// write-once honoured, uncommitted blobs refused.
@Suite("Bucket keys")
struct BucketKeyTests {
    @Test("bind creates the bucket, is idempotent, refuses uncommitted blobs and write-once overwrites")
    func bind() throws {
        let root = tempStorePath("bucket-keys")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 11)
        let bytes = rng.bytes(300_000)
        let path = store.root + "/tmp/body"
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let blob = try store.ingestBlob(file: path)
        let key = LFSNames.key(oid: blob.digest.hex)

        #expect(throws: BucketError.noSuchBucket("lfs-a")) {
            try store.bindBucketKey("lfs-a", key: key, blob: blob.digest, createBucket: false)
        }
        let (object, created) = try store.bindBucketKey(
            "lfs-a", key: key, blob: blob.digest, createBucket: true)
        #expect(created && object.size == UInt64(bytes.count) && object.etag == blob.digest.hex)
        #expect(try store.bucketObject("lfs-a", key)?.blob == blob.digest)
        let again = try store.bindBucketKey("lfs-a", key: key, blob: blob.digest, createBucket: true)
        #expect(!again.created)

        let absent = SHA256.hash(Array("never stored".utf8))
        #expect(throws: BucketError.store(.objectNotFound(absent))) {
            try store.bindBucketKey("lfs-a", key: "objects/x", blob: absent, createBucket: true)
        }
        #expect(throws: BucketError.self) {
            try store.bindBucketKey("Bad_Name", key: key, blob: blob.digest, createBucket: true)
        }
        #expect(throws: BucketError.self) {
            try store.bindBucketKey("versions", key: key, blob: blob.digest, createBucket: true)
        }

        // Write-once: the same blob again is fine, another one is refused.
        _ = try store.createBucket("lfs-locked", writeOnce: true)
        _ = try store.bindBucketKey("lfs-locked", key: "k", blob: blob.digest, createBucket: false)
        #expect(
            try !store.bindBucketKey("lfs-locked", key: "k", blob: blob.digest, createBucket: false).created)
        try Data(rng.bytes(1000)).write(to: URL(fileURLWithPath: path))
        let other = try store.ingestBlob(file: path)
        #expect(throws: BucketError.writeOnce(bucket: "lfs-locked", key: "k")) {
            try store.bindBucketKey("lfs-locked", key: "k", blob: other.digest, createBucket: false)
        }
    }
}
