// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Buckets, the S3 face of the store, for operators: BUCKET_LIST, BUCKET_CREATE, BUCKET_RM,
// BUCKET_KEYS and SNAPSHOT (PROTOCOL.md §11, docs/S3.md).
import NIOCore
import TroveCore

extension Message {
    /// Lists the buckets the token sees, with their key counts and sizes.
    ///
    /// Frame type `BUCKET_LIST`; see PROTOCOL.md.
    public struct BucketList: WireRequest {
        public static let type = MessageType.bucketList
        public typealias Reply = Buckets
        public static let access = Access.read(.filtered)

        public init() {}

        public func encode(into buffer: inout ByteBuffer) {}

        public init(from r: inout WireReader) throws(ProtocolError) {}
    }

    /// Answer to BUCKET_LIST (possibly several frames).
    ///
    /// Frame type `BUCKETS`; see PROTOCOL.md.
    public struct Buckets: MultiFrameResponse {
        public static let type = MessageType.buckets

        /// Buckets sorted by name.
        public var buckets: [BucketRecord]

        public init(buckets: [BucketRecord]) {
            self.buckets = buckets
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(buckets.count)
            for e in buckets { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            buckets = try r.list(
                "Buckets.buckets", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 29
            ) { r throws(ProtocolError) in try BucketRecord(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            buckets += next.buckets
        }
    }

    /// Creates a bucket.
    ///
    /// Frame type `BUCKET_CREATE`; see PROTOCOL.md.
    public struct BucketCreate: WireRequest {
        public static let type = MessageType.bucketCreate
        public typealias Reply = BucketCreated
        public static let access = Access.write(.prefix)
        public var scopedName: String? { bucket }

        /// Bucket name (S3's rules: 3–63 of `a-z 0-9 . -`).
        public var bucket: String
        /// Keys, once written, can be neither overwritten nor deleted.
        public var writeOnce: Bool

        public init(bucket: String, writeOnce: Bool) {
            self.bucket = bucket
            self.writeOnce = writeOnce
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireBool(writeOnce)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("BucketCreate.bucket", max: ProtocolLimits.maxBucketNameLength)
            writeOnce = try r.bool("BucketCreate.writeOnce")
        }
    }

    /// The bucket exists now.
    ///
    /// Frame type `BUCKET_CREATED`; see PROTOCOL.md.
    public struct BucketCreated: SingleFrameResponse {
        public static let type = MessageType.bucketCreated

        /// The new bucket (no keys).
        public var bucket: BucketRecord

        public init(bucket: BucketRecord) {
            self.bucket = bucket
        }

        public func encode(into buffer: inout ByteBuffer) {
            bucket.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try BucketRecord(from: &r)
        }
    }

    /// Deletes an empty bucket.
    ///
    /// Frame type `BUCKET_RM`; see PROTOCOL.md.
    public struct BucketRemove: WireRequest {
        public static let type = MessageType.bucketRemove
        public typealias Reply = BucketRemoved
        public static let access = Access.write(.prefix)
        public var scopedName: String? { bucket }

        /// Bucket name.
        public var bucket: String

        public init(bucket: String) {
            self.bucket = bucket
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("BucketRemove.bucket", max: ProtocolLimits.maxBucketNameLength)
        }
    }

    /// The bucket is gone.
    ///
    /// Frame type `BUCKET_REMOVED`; see PROTOCOL.md.
    public struct BucketRemoved: SingleFrameResponse {
        public static let type = MessageType.bucketRemoved

        /// Bucket name.
        public var bucket: String

        public init(bucket: String) {
            self.bucket = bucket
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("BucketRemoved.bucket", max: ProtocolLimits.maxBucketNameLength)
        }
    }

    /// Lists the keys of a bucket under a key prefix, in UTF-8 byte order.
    ///
    /// Frame type `BUCKET_KEYS`; see PROTOCOL.md.
    public struct BucketKeys: WireRequest {
        public static let type = MessageType.bucketKeys
        public typealias Reply = KeyList
        public static let access = Access.read(.filtered)

        /// Bucket name.
        public var bucket: String
        /// Only keys starting with this (may be empty).
        public var prefix: String
        /// Only keys after this one (a cursor; absent: from the start).
        public var after: String?
        /// At most this many (0: no limit).
        public var limit: UInt32

        public init(bucket: String, prefix: String, after: String? = nil, limit: UInt32) {
            self.bucket = bucket
            self.prefix = prefix
            self.after = after
            self.limit = limit
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireString(prefix)
            buffer.writeWireOptional(after) { buffer, v in buffer.writeWireString(v) }
            buffer.writeWireU32(limit)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("BucketKeys.bucket", max: ProtocolLimits.maxBucketNameLength)
            prefix = try r.string("BucketKeys.prefix", max: ProtocolLimits.maxKeyLength)
            after = try r.optional("BucketKeys.after") { r throws(ProtocolError) in
                try r.string("BucketKeys.after", max: ProtocolLimits.maxKeyLength)
            }
            limit = try r.u32("BucketKeys.limit")
        }
    }

    /// Answer to BUCKET_KEYS (possibly several frames).
    ///
    /// Frame type `KEY_LIST`; see PROTOCOL.md.
    public struct KeyList: MultiFrameResponse {
        public static let type = MessageType.keyList

        /// Keys in UTF-8 byte order.
        public var keys: [BucketKeyRecord]

        public init(keys: [BucketKeyRecord]) {
            self.keys = keys
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(keys.count)
            for e in keys { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            keys = try r.list(
                "KeyList.keys", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 56
            ) { r throws(ProtocolError) in try BucketKeyRecord(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            keys += next.keys
        }
    }

    /// Makes the keys of a bucket under a prefix the immutable version `name:version`; no bytes
    /// move (the objects' blobs become the files of a tree).
    ///
    /// Frame type `SNAPSHOT`; see PROTOCOL.md.
    public struct Snapshot: WireRequest {
        public static let type = MessageType.snapshot
        public typealias Reply = SnapshotOK
        public static let access = Access.write(.prefix)
        public var scopedName: String? { name }

        /// Bucket name.
        public var bucket: String
        /// Key prefix, a directory (`data/v2`; empty: the whole bucket).
        public var prefix: String
        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Free text (may be empty).
        public var message: String
        /// Metadata; keys unique.
        public var metadata: [MetadataEntry]
        /// Parent refs (`NAME:VERSION`, `NAME:ALIAS` or `NAME@sha256:HEX`), which must exist.
        public var parents: [String]

        public init(
            bucket: String, prefix: String, name: String, version: String, message: String,
            metadata: [MetadataEntry], parents: [String]
        ) {
            self.bucket = bucket
            self.prefix = prefix
            self.name = name
            self.version = version
            self.message = message
            self.metadata = metadata
            self.parents = parents
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireString(prefix)
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireDescription(message: message, metadata: metadata, parents: parents)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("Snapshot.bucket", max: ProtocolLimits.maxBucketNameLength)
            prefix = try r.string("Snapshot.prefix", max: ProtocolLimits.maxKeyLength)
            name = try r.string("Snapshot.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("Snapshot.version", max: ProtocolLimits.maxTagLength)
            (message, metadata, parents) = try r.versionDescription("Snapshot")
        }
    }

    /// The version exists and holds the keys as files.
    ///
    /// Frame type `SNAPSHOT_OK`; see PROTOCOL.md.
    public struct SnapshotOK: SingleFrameResponse {
        public static let type = MessageType.snapshotOK

        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Tree digest.
        public var tree: Digest
        /// Creation time, ms since the Unix epoch.
        public var createdAt: Int64
        /// False when it already existed with this same tree (an idempotent re-run).
        public var created: Bool
        /// Files in the tree (keys snapshotted).
        public var files: UInt64
        /// Sum of their sizes.
        public var totalSize: UInt64

        public init(
            name: String, version: String, tree: Digest, createdAt: Int64, created: Bool, files: UInt64,
            totalSize: UInt64
        ) {
            self.name = name
            self.version = version
            self.tree = tree
            self.createdAt = createdAt
            self.created = created
            self.files = files
            self.totalSize = totalSize
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireDigest(tree)
            buffer.writeWireI64(createdAt)
            buffer.writeWireBool(created)
            buffer.writeWireU64(files)
            buffer.writeWireU64(totalSize)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("SnapshotOK.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("SnapshotOK.version", max: ProtocolLimits.maxTagLength)
            tree = try r.digest("SnapshotOK.tree")
            createdAt = try r.i64("SnapshotOK.createdAt")
            created = try r.bool("SnapshotOK.created")
            files = try r.u64("SnapshotOK.files")
            totalSize = try r.u64("SnapshotOK.totalSize")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.buckets(.init(buckets: []))` for `Message(Buckets(buckets: []))`.
    public static func bucketList(_ m: BucketList) -> Message { Message(m) }
    public static func buckets(_ m: Buckets) -> Message { Message(m) }
    public static func bucketCreate(_ m: BucketCreate) -> Message { Message(m) }
    public static func bucketCreated(_ m: BucketCreated) -> Message { Message(m) }
    public static func bucketRemove(_ m: BucketRemove) -> Message { Message(m) }
    public static func bucketRemoved(_ m: BucketRemoved) -> Message { Message(m) }
    public static func bucketKeys(_ m: BucketKeys) -> Message { Message(m) }
    public static func keyList(_ m: KeyList) -> Message { Message(m) }
    public static func snapshot(_ m: Snapshot) -> Message { Message(m) }
    public static func snapshotOK(_ m: SnapshotOK) -> Message { Message(m) }
}
