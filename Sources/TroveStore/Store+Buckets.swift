import Foundation
import TroveCore

/// Buckets: mutable key → blob maps in the catalog (docs/S3.md). Blobs are ordinary committed
/// blobs, deduplicated against everything in the store; the keys are GC roots (`bucketRootBlobs`).
extension Store {
    /// Every bucket, by name.
    public func listBuckets() throws(BucketError) -> [BucketInfo] {
        try bucketCatalog { db in
            try Row.fetchAll(db, sql: "SELECT name, created, write_once FROM buckets ORDER BY name").map {
                BucketInfo(name: $0["name"], created: $0["created"], writeOnce: ($0["write_once"] as Int) != 0)
            }
        }
    }

    /// One bucket, or nil.
    public func bucket(_ name: String) throws(BucketError) -> BucketInfo? {
        try bucketCatalog { db in try Store.bucketRow(db, name) }
    }

    /// Creates a bucket; `.bucketExists` if it does.
    public func createBucket(_ name: String, writeOnce: Bool = false) throws(BucketError) -> BucketInfo {
        try BucketNames.validate(name)
        guard !BucketNames.reserved.contains(name) else {
            throw .invalidBucketName("'\(name)' is reserved (the read-only view of versions)")
        }
        do { try checkWritable() } catch { throw .store(error) }
        let info = BucketInfo(name: name, created: Clock.nowMillis(), writeOnce: writeOnce)
        try bucketCatalog(write: true) { db in
            if try Store.bucketRow(db, name) != nil { throw BucketError.bucketExists(name) }
            try db.execute(
                sql: "INSERT INTO buckets (name, created, write_once) VALUES (?, ?, ?)",
                arguments: [name, info.created, writeOnce ? 1 : 0])
        }
        return info
    }

    /// Deletes an empty bucket (`.bucketNotEmpty` while it has keys or uploads in progress).
    public func deleteBucket(_ name: String) throws(BucketError) {
        do { try checkWritable() } catch { throw .store(error) }
        try bucketCatalog(write: true) { db in
            guard try Store.bucketRow(db, name) != nil else { throw BucketError.noSuchBucket(name) }
            let keys = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM bucket_objects WHERE bucket = ? LIMIT 1", arguments: [name]) ?? false
            let uploads = try Bool.fetchOne(
                db, sql: "SELECT 1 FROM multipart_uploads WHERE bucket = ? LIMIT 1", arguments: [name]) ?? false
            if keys || uploads { throw BucketError.bucketNotEmpty(name) }
            try db.execute(sql: "DELETE FROM buckets WHERE name = ?", arguments: [name])
        }
    }

    /// The object at `key`, or nil. Throws `.noSuchBucket`.
    public func bucketObject(_ bucket: String, _ key: String) throws(BucketError) -> BucketObject? {
        try bucketCatalog { db in
            guard try Store.bucketRow(db, bucket) != nil else { throw BucketError.noSuchBucket(bucket) }
            return try Store.objectRow(db, bucket, key)
        }
    }

    /// Points `object.key` at a committed blob (a new key or an overwrite), if `condition` holds
    /// and the bucket allows it. The blob must be committed (`ingestBlob`, `completeMultipart`).
    public func putBucketObject(
        _ bucket: String, _ object: BucketObject, condition: BucketWriteCondition = .none
    ) throws(BucketError) {
        do { try checkWritable() } catch { throw .store(error) }
        try bucketCatalog(write: true) { db in
            guard let b = try Store.bucketRow(db, bucket) else { throw BucketError.noSuchBucket(bucket) }
            let current = try Store.objectRow(db, bucket, object.key)
            try Store.check(condition, current: current, key: object.key)
            if b.writeOnce, current != nil { throw BucketError.writeOnce(bucket: bucket, key: object.key) }
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE blob = ?", arguments: [object.blob.data])
                == true
            else {
                throw BucketError.store(.invalidCommit("blob \(object.blob) is not committed"))
            }
            try Store.insertObject(db, bucket, object)
        }
    }

    /// Copies a key (catalog only: no bytes move). `replace` gives the new content type and
    /// metadata (S3's `x-amz-metadata-directive: REPLACE`); nil keeps the source's.
    public func copyBucketObject(
        from source: (bucket: String, key: String), to bucket: String, key: String,
        replace: (contentType: String?, metadata: [String: String])?, condition: BucketWriteCondition = .none
    ) throws(BucketError) -> BucketObject {
        do { try checkWritable() } catch { throw .store(error) }
        return try bucketCatalog(write: true) { db in
            guard try Store.bucketRow(db, source.bucket) != nil else {
                throw BucketError.noSuchBucket(source.bucket)
            }
            guard let b = try Store.bucketRow(db, bucket) else { throw BucketError.noSuchBucket(bucket) }
            guard var object = try Store.objectRow(db, source.bucket, source.key) else {
                throw BucketError.noSuchKey(bucket: source.bucket, key: source.key)
            }
            let current = try Store.objectRow(db, bucket, key)
            try Store.check(condition, current: current, key: key)
            if b.writeOnce, current != nil { throw BucketError.writeOnce(bucket: bucket, key: key) }
            object.key = key
            object.mtime = Clock.nowMillis()
            if let replace {
                object.contentType = replace.contentType
                object.metadata = replace.metadata
            }
            try Store.insertObject(db, bucket, object)
            return object
        }
    }

    /// Deletes keys; absent keys are not an error (S3 semantics). Returns the keys that existed.
    /// A write-once bucket refuses (`.writeOnce`) before deleting anything.
    @discardableResult
    public func deleteBucketObjects(_ bucket: String, keys: [String]) throws(BucketError) -> [String] {
        do { try checkWritable() } catch { throw .store(error) }
        return try bucketCatalog(write: true) { db in
            guard let b = try Store.bucketRow(db, bucket) else { throw BucketError.noSuchBucket(bucket) }
            var deleted: [String] = []
            let st = try db.cachedStatement(sql: "DELETE FROM bucket_objects WHERE bucket = ? AND key = ?")
            for k in keys {
                if b.writeOnce, try Store.objectRow(db, bucket, k) != nil {
                    throw BucketError.writeOnce(bucket: bucket, key: k)
                }
                try st.execute(arguments: [bucket, k])
                if db.changesCount > 0 { deleted.append(k) }
            }
            return deleted
        }
    }

    /// Keys of a bucket in UTF-8 byte order: those starting with `prefix` and greater than
    /// `after`, at most `limit`.
    public func listBucketObjects(
        _ bucket: String, prefix: String = "", after: String? = nil, limit: Int
    ) throws(BucketError) -> [BucketObject] {
        try bucketCatalog { db in
            guard try Store.bucketRow(db, bucket) != nil else { throw BucketError.noSuchBucket(bucket) }
            return try Store.objects(db, bucket, prefix: prefix, after: after, limit: max(0, limit))
        }
    }

    /// The objects of `bucket` whose keys start with `prefix` and are greater than `after`, in
    /// key order, at most `limit` (nil: all).
    static func objects(_ db: any CatalogTransaction, _ bucket: String, prefix: String, after: String?, limit: Int?) throws
        -> [BucketObject]
    {
        var sql = "SELECT * FROM bucket_objects WHERE bucket = ?"
        var args: [any CatalogValueConvertible] = [bucket]
        let start = after.map { $0 > prefix ? $0 : prefix } ?? prefix
        if let after, start == after {
            sql += " AND key > ?"
            args.append(after)
        } else if !prefix.isEmpty {
            sql += " AND key >= ?"
            args.append(prefix)
        }
        if let end = Store.prefixEnd(prefix) {
            sql += " AND key < ?"
            args.append(end)
        }
        sql += " ORDER BY key"
        if let limit {
            sql += " LIMIT ?"
            args.append(limit)
        }
        return try Row.fetchAll(db, sql: sql, arguments: CatalogArguments(args)).compactMap(Store.object(from:))
            .filter { $0.key.hasPrefix(prefix) }
    }

    /// Number of buckets and of keys in all buckets.
    public func bucketCounts() throws(BucketError) -> (buckets: Int, keys: Int) {
        try bucketCatalog { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM buckets") ?? 0,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM bucket_objects") ?? 0
            )
        }
    }

    /// The blobs that buckets keep alive (keys and parts of uploads in progress), for GC's mark.
    func bucketRootBlobs() throws(StoreError) -> [Digest] {
        try catalog.read { db in
            try Data.fetchAll(
                db, sql: "SELECT DISTINCT blob FROM bucket_objects UNION SELECT blob FROM multipart_parts"
            ).compactMap(Digest.init(data:))
        }
    }

    /// The smallest string greater than every string starting with `prefix` (nil: no bound), for
    /// ASCII prefixes; a non-ASCII last character gives nil (the caller then filters).
    static func prefixEnd(_ prefix: String) -> String? {
        guard var last = prefix.utf8.last, last < 0x7F else { return nil }
        last += 1
        return String(decoding: prefix.utf8.dropLast() + [last], as: UTF8.self)
    }

    // MARK: - Rows

    static func bucketRow(_ db: any CatalogTransaction, _ name: String) throws -> BucketInfo? {
        try Row.fetchOne(db, sql: "SELECT name, created, write_once FROM buckets WHERE name = ?", arguments: [name])
            .map { BucketInfo(name: $0["name"], created: $0["created"], writeOnce: ($0["write_once"] as Int) != 0) }
    }

    static func objectRow(_ db: any CatalogTransaction, _ bucket: String, _ key: String) throws -> BucketObject? {
        try Row.fetchOne(
            db, sql: "SELECT * FROM bucket_objects WHERE bucket = ? AND key = ?", arguments: [bucket, key]
        ).flatMap(object(from:))
    }

    static func object(from row: Row) -> BucketObject? {
        guard let blob = Digest(data: row["blob"]) else { return nil }
        let size: Int64 = row["size"]
        return BucketObject(
            key: row["key"], blob: blob, size: UInt64(size), etag: row["etag"], contentType: row["content_type"],
            metadata: decodeMetadata(row["metadata"]), mtime: row["mtime"])
    }

    static func insertObject(_ db: any CatalogTransaction, _ bucket: String, _ o: BucketObject) throws {
        try db.execute(
            sql: """
                INSERT INTO bucket_objects
                (bucket, key, blob, size, etag, content_type, metadata, mtime) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
                ON CONFLICT (bucket, key) DO UPDATE SET
                  blob = excluded.blob, size = excluded.size, etag = excluded.etag,
                  content_type = excluded.content_type, metadata = excluded.metadata, mtime = excluded.mtime
                """,
            arguments: [
                bucket, o.key, o.blob.data, Int64(o.size), o.etag, o.contentType, try encodeMetadata(o.metadata),
                o.mtime,
            ])
    }

    static func check(_ condition: BucketWriteCondition, current: BucketObject?, key: String) throws {
        switch condition {
        case .none: break
        case .absent:
            if current != nil { throw BucketError.preconditionFailed("\(key) exists (If-None-Match: *)") }
        case .etag(let e):
            guard let current, current.etag == e else {
                throw BucketError.preconditionFailed("\(key) does not have ETag \(e) (If-Match)")
            }
        }
    }

    static func decodeMetadata(_ text: String?) -> [String: String] {
        guard let text, let obj = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: String]
        else { return [:] }
        return obj
    }

    /// Runs `body` in a catalog transaction, mapping errors to `BucketError`.
    func bucketCatalog<T>(write: Bool = false, _ body: (any CatalogTransaction) throws -> T) throws(BucketError) -> T {
        do {
            return write ? try catalog.writeTransaction(body) : try catalog.readTransaction(body)
        } catch {
            throw Store.bucketError(error)
        }
    }

    /// Any error of a bucket operation as a `BucketError`.
    static func bucketError(_ error: any Error) -> BucketError {
        switch error {
        case let e as BucketError: e
        case let e as StoreError: .store(e)
        default: .store(.catalog("\(error)"))
        }
    }
}
