// Fields in wire order. PROTOCOL.md ("Records") lists the same fields: keep both in sync.
import NIOCore
import TroveCore

/// One bucket, as BUCKETS lists it.
public struct BucketRecord: WireCodable {
    /// Bucket name.
    public var name: String
    /// Creation time, ms since the Unix epoch.
    public var createdAt: Int64
    /// Keys, once written, can be neither overwritten nor deleted.
    public var writeOnce: Bool
    /// Keys in the bucket.
    public var keys: UInt64
    /// Sum of the sizes of its objects.
    public var bytes: UInt64

    public init(name: String, createdAt: Int64, writeOnce: Bool, keys: UInt64, bytes: UInt64) {
        self.name = name
        self.createdAt = createdAt
        self.writeOnce = writeOnce
        self.keys = keys
        self.bytes = bytes
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(name)
        buffer.writeWireI64(createdAt)
        buffer.writeWireBool(writeOnce)
        buffer.writeWireU64(keys)
        buffer.writeWireU64(bytes)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        name = try r.string("BucketRecord.name", max: ProtocolLimits.maxBucketNameLength)
        createdAt = try r.i64("BucketRecord.createdAt")
        writeOnce = try r.bool("BucketRecord.writeOnce")
        keys = try r.u64("BucketRecord.keys")
        bytes = try r.u64("BucketRecord.bytes")
    }
}

/// One key of a bucket, as KEY_LIST lists it.
public struct BucketKeyRecord: WireCodable {
    /// The key.
    public var key: String
    /// Object size in bytes.
    public var size: UInt64
    /// The S3 ETag, without quotes.
    public var etag: String
    /// Last modification, ms since the Unix epoch.
    public var modifiedAt: Int64
    /// SHA-256 of the content (a committed blob).
    public var blob: Digest

    public init(key: String, size: UInt64, etag: String, modifiedAt: Int64, blob: Digest) {
        self.key = key
        self.size = size
        self.etag = etag
        self.modifiedAt = modifiedAt
        self.blob = blob
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(key)
        buffer.writeWireU64(size)
        buffer.writeWireString(etag)
        buffer.writeWireI64(modifiedAt)
        buffer.writeWireDigest(blob)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        key = try r.string("BucketKeyRecord.key", max: ProtocolLimits.maxKeyLength)
        size = try r.u64("BucketKeyRecord.size")
        etag = try r.string("BucketKeyRecord.etag", max: ProtocolLimits.maxETagLength)
        modifiedAt = try r.i64("BucketKeyRecord.modifiedAt")
        blob = try r.digest("BucketKeyRecord.blob")
    }
}
