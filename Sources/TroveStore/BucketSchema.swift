import GRDB

extension SQLiteCatalog {
    /// Tables for buckets, the S3 face of the store (migration "v4-buckets", additive).
    ///
    /// - `buckets`: name → creation time and write-once flag.
    /// - `bucket_objects`: (bucket, key) → blob digest, size, ETag, content type, user metadata
    ///   (sorted-key JSON) and modification time. Keys compare as UTF-8 bytes (SQLite's BINARY
    ///   collation), which is S3's listing order. Every blob named here is a GC root.
    /// - `multipart_uploads` / `multipart_parts`: uploads in progress; each part is a committed
    ///   blob, a GC root until the upload completes or is aborted.
    static func createBucketTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE buckets (
                    name TEXT PRIMARY KEY NOT NULL,
                    created INTEGER NOT NULL,
                    write_once INTEGER NOT NULL DEFAULT 0
                ) WITHOUT ROWID;
                CREATE TABLE bucket_objects (
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    blob BLOB NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    content_type TEXT,
                    metadata TEXT NOT NULL,
                    mtime INTEGER NOT NULL,
                    PRIMARY KEY (bucket, key)
                ) WITHOUT ROWID;
                CREATE INDEX bucket_objects_by_blob ON bucket_objects(blob);
                CREATE TABLE multipart_uploads (
                    id TEXT PRIMARY KEY NOT NULL,
                    bucket TEXT NOT NULL,
                    key TEXT NOT NULL,
                    content_type TEXT,
                    metadata TEXT NOT NULL,
                    created INTEGER NOT NULL
                ) WITHOUT ROWID;
                CREATE INDEX multipart_uploads_by_bucket ON multipart_uploads(bucket, key);
                CREATE TABLE multipart_parts (
                    upload TEXT NOT NULL,
                    part INTEGER NOT NULL,
                    blob BLOB NOT NULL,
                    size INTEGER NOT NULL,
                    etag TEXT NOT NULL,
                    mtime INTEGER NOT NULL,
                    PRIMARY KEY (upload, part)
                ) WITHOUT ROWID;
                """)
    }
}
