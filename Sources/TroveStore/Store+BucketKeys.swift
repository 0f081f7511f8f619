import Foundation
import TroveCore

/// Binding bucket keys to blobs pushed over the binary protocol (BIND_KEY, LOOKUP_KEY; git-lfs
/// objects, docs/GIT-LFS.md). The S3 API writes the same rows (Store+Buckets.swift).
extension Store {
    /// Points `key` of `bucket` at the committed blob `blob` in one catalog transaction, creating
    /// the bucket first when `createBucket` and it is missing. A key already pointing at `blob` is
    /// left alone (`created` false), even in a write-once bucket; any other existing key of a
    /// write-once bucket is refused (`.writeOnce`). The ETag is the blob's hex SHA-256.
    public func bindBucketKey(
        _ bucket: String, key: String, blob: Digest, createBucket: Bool
    ) throws(BucketError) -> (object: BucketObject, created: Bool) {
        try BucketNames.validate(bucket)
        guard !BucketNames.reserved.contains(bucket) else {
            throw .invalidBucketName("'\(bucket)' is reserved (the read-only view of versions)")
        }
        do { try checkWritable() } catch { throw .store(error) }
        return try bucketCatalog(write: true) { db in
            var info = try Store.bucketRow(db, bucket)
            if info == nil {
                guard createBucket else { throw BucketError.noSuchBucket(bucket) }
                let created = BucketInfo(name: bucket, created: Clock.nowMillis(), writeOnce: false)
                try db.execute(
                    sql: "INSERT INTO buckets (name, created, write_once) VALUES (?, ?, 0)",
                    arguments: [bucket, created.created])
                info = created
            }
            guard
                let size = try Int64.fetchOne(
                    db, sql: "SELECT size FROM blobs WHERE blob = ?", arguments: [blob.data])
            else {
                throw BucketError.store(.objectNotFound(blob))
            }
            let current = try Store.objectRow(db, bucket, key)
            if let current, current.blob == blob { return (current, false) }
            if info!.writeOnce, current != nil { throw BucketError.writeOnce(bucket: bucket, key: key) }
            let object = BucketObject(key: key, blob: blob, size: UInt64(size), etag: blob.hex)
            try Store.insertObject(db, bucket, object)
            return (object, true)
        }
    }
}
