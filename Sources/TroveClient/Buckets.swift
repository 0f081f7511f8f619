import TroveCore
import TroveProtocol

/// Bucket requests for operators (PROTOCOL.md §11, docs/S3.md): list, create, remove, list keys,
/// and snapshot keys into a version.
extension Remote {
    /// BUCKET_LIST: the buckets the token sees, with key counts and sizes.
    public func buckets() throws(ClientError) -> [BucketRecord] {
        try connection.call(Message.BucketList()).buckets
    }

    /// BUCKET_CREATE.
    public func createBucket(_ bucket: String, writeOnce: Bool) throws(ClientError) -> BucketRecord {
        try connection.call(Message.BucketCreate(bucket: bucket, writeOnce: writeOnce)).bucket
    }

    /// BUCKET_RM: deletes an empty bucket.
    public func removeBucket(_ bucket: String) throws(ClientError) {
        _ = try connection.call(Message.BucketRemove(bucket: bucket))
    }

    /// BUCKET_KEYS: the keys of `bucket` starting with `prefix`, in UTF-8 byte order (0: all).
    public func bucketKeys(_ bucket: String, prefix: String, limit: UInt32 = 0) throws(ClientError)
        -> [BucketKeyRecord]
    {
        try connection.call(Message.BucketKeys(bucket: bucket, prefix: prefix, limit: limit)).keys
    }

    /// SNAPSHOT: makes the keys of `bucket` under the directory `prefix` the version
    /// `name:version` (no bytes move).
    public func snapshot(
        bucket: String, prefix: String, name: String, version: String, message: String,
        metadata: [MetadataEntry], parents: [String]
    ) throws(ClientError) -> Message.SnapshotOK {
        try Self.validate(name: name)
        try Self.validate(tag: version, what: "version")
        return try connection.call(
            Message.Snapshot(
                bucket: bucket, prefix: prefix, name: name, version: version, message: message,
                metadata: metadata, parents: parents))
    }
}

/// `BUCKET[/PREFIX]` or `s3://BUCKET[/PREFIX]` as operators write it.
public struct BucketPath: Sendable, Equatable {
    public var bucket: String
    public var prefix: String

    /// Splits at the first `/`; an `s3://` scheme is optional. Nil when the bucket part is empty.
    public init?(_ text: String) {
        let rest = text.hasPrefix("s3://") ? String(text.dropFirst(5)) : text
        let parts = rest.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let first = parts.first, !first.isEmpty else { return nil }
        bucket = String(first)
        prefix = parts.count > 1 ? String(parts[1]) : ""
    }
}
