// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Bucket keys over the binary protocol: BIND_KEY, LOOKUP_KEY (PROTOCOL.md §11; git-lfs, docs/GIT-LFS.md).
import NIOCore
import TroveCore

extension Message {
    /// Points `bucket/key` at a committed blob (a push committed it first), creating the bucket
    /// when asked and it is missing. A write-once bucket accepts a key already bound to this blob.
    ///
    /// Frame type `BIND_KEY`; see PROTOCOL.md.
    public struct BindKey: WireRequest {
        public static let type = MessageType.bindKey
        public typealias Reply = KeyBound
        public static let access = Access.write(.prefix)
        /// `BUCKET/KEY`: the name a token's prefixes must cover (as for S3).
        public var scopedName: String? { bucket + "/" + key }

        /// The push lease that committed the blob, if any (extended by the request).
        public var lease: LeaseID?
        /// Bucket name (S3 rules).
        public var bucket: String
        /// Key: a valid Trove name (so token prefixes apply to `BUCKET/KEY`).
        public var key: String
        /// The blob (SHA-256 of the content), committed.
        public var blob: Digest
        /// Create the bucket if it does not exist.
        public var createBucket: Bool

        public init(lease: LeaseID?, bucket: String, key: String, blob: Digest, createBucket: Bool) {
            self.lease = lease
            self.bucket = bucket
            self.key = key
            self.blob = blob
            self.createBucket = createBucket
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireOptional(lease) { buffer, v in v.encode(into: &buffer) }
            buffer.writeWireString(bucket)
            buffer.writeWireString(key)
            buffer.writeWireDigest(blob)
            buffer.writeWireBool(createBucket)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try r.optional("BindKey.lease") { r throws(ProtocolError) in try LeaseID(from: &r) }
            bucket = try r.string("BindKey.bucket", max: ProtocolLimits.maxBucketNameLength)
            key = try r.string("BindKey.key", max: ProtocolLimits.maxNameLength)
            blob = try r.digest("BindKey.blob")
            createBucket = try r.bool("BindKey.createBucket")
        }
    }

    /// The key points at the blob.
    ///
    /// Frame type `KEY_BOUND`; see PROTOCOL.md.
    public struct KeyBound: SingleFrameResponse {
        public static let type = MessageType.keyBound

        /// Bucket name.
        public var bucket: String
        /// Key.
        public var key: String
        /// The blob it points at.
        public var blob: Digest
        /// The blob's size in bytes.
        public var size: UInt64
        /// False when the key already pointed at this blob (nothing changed).
        public var created: Bool

        public init(bucket: String, key: String, blob: Digest, size: UInt64, created: Bool) {
            self.bucket = bucket
            self.key = key
            self.blob = blob
            self.size = size
            self.created = created
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireString(key)
            buffer.writeWireDigest(blob)
            buffer.writeWireU64(size)
            buffer.writeWireBool(created)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("KeyBound.bucket", max: ProtocolLimits.maxBucketNameLength)
            key = try r.string("KeyBound.key", max: ProtocolLimits.maxNameLength)
            blob = try r.digest("KeyBound.blob")
            size = try r.u64("KeyBound.size")
            created = try r.bool("KeyBound.created")
        }
    }

    /// Looks up `bucket/key`: the blob it points at (`not-found` if the bucket or key is missing).
    ///
    /// Frame type `LOOKUP_KEY`; see PROTOCOL.md.
    public struct LookupKey: WireRequest {
        public static let type = MessageType.lookupKey
        public typealias Reply = KeyInfo
        public static let access = Access.read(.prefix)
        /// `BUCKET/KEY`: the name a token's prefixes must cover (as for S3).
        public var scopedName: String? { bucket + "/" + key }

        /// Bucket name.
        public var bucket: String
        /// Key: a valid Trove name.
        public var key: String

        public init(bucket: String, key: String) {
            self.bucket = bucket
            self.key = key
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireString(key)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("LookupKey.bucket", max: ProtocolLimits.maxBucketNameLength)
            key = try r.string("LookupKey.key", max: ProtocolLimits.maxNameLength)
        }
    }

    /// What a key points at.
    ///
    /// Frame type `KEY_INFO`; see PROTOCOL.md.
    public struct KeyInfo: SingleFrameResponse {
        public static let type = MessageType.keyInfo

        /// Bucket name.
        public var bucket: String
        /// Key.
        public var key: String
        /// The blob (SHA-256 of the content).
        public var blob: Digest
        /// Size in bytes.
        public var size: UInt64
        /// Last modification, ms since the Unix epoch.
        public var mtime: Int64

        public init(bucket: String, key: String, blob: Digest, size: UInt64, mtime: Int64) {
            self.bucket = bucket
            self.key = key
            self.blob = blob
            self.size = size
            self.mtime = mtime
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(bucket)
            buffer.writeWireString(key)
            buffer.writeWireDigest(blob)
            buffer.writeWireU64(size)
            buffer.writeWireI64(mtime)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            bucket = try r.string("KeyInfo.bucket", max: ProtocolLimits.maxBucketNameLength)
            key = try r.string("KeyInfo.key", max: ProtocolLimits.maxNameLength)
            blob = try r.digest("KeyInfo.blob")
            size = try r.u64("KeyInfo.size")
            mtime = try r.i64("KeyInfo.mtime")
        }
    }
}

extension Message {
    public static func bindKey(_ m: BindKey) -> Message { Message(m) }
    public static func keyBound(_ m: KeyBound) -> Message { Message(m) }
    public static func lookupKey(_ m: LookupKey) -> Message { Message(m) }
    public static func keyInfo(_ m: KeyInfo) -> Message { Message(m) }
}
