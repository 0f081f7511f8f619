// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Push, part 1: the lease, HAS and uploads (PROTOCOL.md §9).
import NIOCore
import TroveCore

extension Message {
    /// Starts (or resumes) a push and obtains a lease that protects its chunks from GC.
    ///
    /// Frame type `BEGIN_PUSH`; see PROTOCOL.md.
    public struct BeginPush: WireRequest {
        public static let type = MessageType.beginPush
        public typealias Reply = PushBegun
        public static let access = Access.write(.prefix)
        public var scopedName: String? { name }

        /// The artifact name to be pushed (checked against the token's prefixes).
        public var name: String
        /// A lease from an earlier, interrupted push to extend and reuse.
        public var resume: LeaseID?

        public init(name: String, resume: LeaseID? = nil) {
            self.name = name
            self.resume = resume
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireOptional(resume) { buffer, v in v.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("BeginPush.name", max: ProtocolLimits.maxNameLength)
            resume = try r.optional("BeginPush.resume") { r throws(ProtocolError) in try LeaseID(from: &r) }
        }
    }

    /// The lease for a push.
    ///
    /// Frame type `PUSH_BEGUN`; see PROTOCOL.md.
    public struct PushBegun: SingleFrameResponse {
        public static let type = MessageType.pushBegun

        /// Lease id (16 bytes).
        public var lease: LeaseID
        /// Expiry, ms since the Unix epoch; every request under the lease extends it.
        public var expiresAt: Int64
        /// True when the requested lease was still live and is reused.
        public var resumed: Bool

        public init(lease: LeaseID, expiresAt: Int64, resumed: Bool) {
            self.lease = lease
            self.expiresAt = expiresAt
            self.resumed = resumed
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireI64(expiresAt)
            buffer.writeWireBool(resumed)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            expiresAt = try r.i64("PushBegun.expiresAt")
            resumed = try r.bool("PushBegun.resumed")
        }
    }

    /// Asks which chunks or objects the store already holds; present ones are protected by the lease.
    ///
    /// Frame type `HAS`; see PROTOCOL.md.
    public struct Has: WireRequest {
        public static let type = MessageType.has
        public typealias Reply = HasResult
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// What the digests name: 0 chunk, 1 recipe (by blob digest), 2 tree.
        public var kind: ContentKind
        /// The digests to check (≤ maxDigestsPerRequest).
        public var digests: [Digest]

        public init(lease: LeaseID, kind: ContentKind, digests: [Digest]) {
            self.lease = lease
            self.kind = kind
            self.digests = digests
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            kind.encode(into: &buffer)
            buffer.writeWireDigests(digests)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            kind = try ContentKind(from: &r)
            digests = try r.digests("Has.digests", max: ProtocolLimits.maxDigestsPerRequest)
        }
    }

    /// Answer to HAS.
    ///
    /// Frame type `HAS_RESULT`; see PROTOCOL.md.
    public struct HasResult: SingleFrameResponse {
        public static let type = MessageType.hasResult

        /// One bit per asked digest, in request order; 1 = present and durable.
        public var present: PresenceBitmap

        public init(present: PresenceBitmap) {
            self.present = present
        }

        public func encode(into buffer: inout ByteBuffer) {
            present.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            present = try PresenceBitmap(from: &r)
        }
    }

    /// Uploads chunks; the server decompresses and re-hashes every one.
    ///
    /// Frame type `PUT_CHUNKS`; see PROTOCOL.md.
    public struct PutChunks: WireRequest {
        public static let type = MessageType.putChunks
        public typealias Reply = PutChunksOK
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The chunks (≤ maxChunksPerPut; bytes bounded by the frame cap).
        public var chunks: [ChunkPayload]

        public init(lease: LeaseID, chunks: [ChunkPayload]) {
            self.lease = lease
            self.chunks = chunks
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireCount(chunks.count)
            for e in chunks { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            chunks = try r.list("PutChunks.chunks", max: ProtocolLimits.maxChunksPerFrame, minElementSize: 41)
            { r throws(ProtocolError) in try ChunkPayload(from: &r) }
        }
    }

    /// Every chunk of the PUT_CHUNKS is durable.
    ///
    /// Frame type `PUT_CHUNKS_OK`; see PROTOCOL.md.
    public struct PutChunksOK: SingleFrameResponse {
        public static let type = MessageType.putChunksOK

        /// Chunks newly stored.
        public var stored: UInt32
        /// Chunks the store already held.
        public var alreadyPresent: UInt32

        public init(stored: UInt32, alreadyPresent: UInt32) {
            self.stored = stored
            self.alreadyPresent = alreadyPresent
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU32(stored)
            buffer.writeWireU32(alreadyPresent)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            stored = try r.u32("PutChunksOK.stored")
            alreadyPresent = try r.u32("PutChunksOK.alreadyPresent")
        }
    }

    /// Uploads recipes and trees (canonical bytes), possibly in parts.
    ///
    /// Frame type `PUT_OBJECTS`; see PROTOCOL.md.
    public struct PutObjects: WireRequest {
        public static let type = MessageType.putObjects
        public typealias Reply = PutObjectsOK
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// Object parts; the parts of one object are sent in order.
        public var parts: [ObjectPart]

        public init(lease: LeaseID, parts: [ObjectPart]) {
            self.lease = lease
            self.parts = parts
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireCount(parts.count)
            for e in parts { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            parts = try r.list(
                "PutObjects.parts", max: ProtocolLimits.maxObjectPartsPerFrame, minElementSize: 53
            ) { r throws(ProtocolError) in try ObjectPart(from: &r) }
        }
    }

    /// The parts were accepted.
    ///
    /// Frame type `PUT_OBJECTS_OK`; see PROTOCOL.md.
    public struct PutObjectsOK: SingleFrameResponse {
        public static let type = MessageType.putObjectsOK

        /// Objects completed, verified and made durable by this request.
        public var completed: UInt32

        public init(completed: UInt32) {
            self.completed = completed
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU32(completed)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            completed = try r.u32("PutObjectsOK.completed")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func beginPush(_ m: BeginPush) -> Message { Message(m) }
    public static func pushBegun(_ m: PushBegun) -> Message { Message(m) }
    public static func has(_ m: Has) -> Message { Message(m) }
    public static func hasResult(_ m: HasResult) -> Message { Message(m) }
    public static func putChunks(_ m: PutChunks) -> Message { Message(m) }
    public static func putChunksOK(_ m: PutChunksOK) -> Message { Message(m) }
    public static func putObjects(_ m: PutObjects) -> Message { Message(m) }
    public static func putObjectsOK(_ m: PutObjectsOK) -> Message { Message(m) }
}
