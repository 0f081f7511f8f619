// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Push, blob streams (protocol version 2, PROTOCOL.md §9a): a file's chunks sent in order while
// the client still reads it, the recipe given at the end.
import NIOCore
import TroveCore

/// One chunk of a blob stream, at its position in the blob: its bytes, or (for a chunk the
/// store already holds) only its digest and length, which the server reads back to hash the blob.
public enum StreamChunk: WireCodable {
    /// The chunk's bytes (tag 0).
    case data(ChunkPayload)
    /// A chunk the store holds (tag 1): its digest and raw length.
    case stored(digest: Digest, rawLength: UInt32)

    /// Smallest encoding: a tag and a stored reference (1 + 32 + 4 bytes).
    public static let minimumSize = 37

    /// The chunk's digest.
    public var digest: Digest {
        switch self {
        case .data(let p): p.digest
        case .stored(let d, _): d
        }
    }

    /// The chunk's raw length.
    public var rawLength: UInt32 {
        switch self {
        case .data(let p): p.rawLength
        case .stored(_, let n): n
        }
    }

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .data(let p):
            buffer.writeWireU8(0)
            p.encode(into: &buffer)
        case .stored(let d, let n):
            buffer.writeWireU8(1)
            buffer.writeWireDigest(d)
            buffer.writeWireU32(n)
        }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        switch try r.u8("StreamChunk.tag") {
        case 0:
            self = .data(try ChunkPayload(from: &r))
        case 1:
            let d = try r.digest("StreamChunk.digest")
            let n = try r.u32("StreamChunk.rawLength")
            guard n >= 1, n <= ProtocolLimits.maxChunkLength else {
                throw .invalidValue(
                    field: "StreamChunk.rawLength", detail: "\(n) is not within 1...\(ProtocolLimits.maxChunkLength)")
            }
            self = .stored(digest: d, rawLength: n)
        case let t:
            throw .invalidValue(field: "StreamChunk.tag", detail: "\(t) is neither 0 (data) nor 1 (stored)")
        }
    }
}

extension Message {
    /// Opens a blob stream under a push lease (protocol version 2).
    ///
    /// Frame type `BLOB_OPEN`; see PROTOCOL.md.
    public struct BlobOpen: WireRequest {
        public static let type = MessageType.blobOpen
        public typealias Reply = BlobOpened
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The client's number for the stream, unique among the lease's open streams.
        public var stream: UInt32

        public init(lease: LeaseID, stream: UInt32) {
            self.lease = lease
            self.stream = stream
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireU32(stream)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            stream = try r.u32("BlobOpen.stream")
        }
    }

    /// The stream is open.
    ///
    /// Frame type `BLOB_OPENED`; see PROTOCOL.md.
    public struct BlobOpened: SingleFrameResponse {
        public static let type = MessageType.blobOpened

        /// The stream number.
        public var stream: UInt32

        public init(stream: UInt32) { self.stream = stream }

        public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU32(stream) }

        public init(from r: inout WireReader) throws(ProtocolError) {
            stream = try r.u32("BlobOpened.stream")
        }
    }

    /// The next chunks of a blob stream, from chunk `position` of the blob on, in order.
    ///
    /// Frame type `BLOB_CHUNKS`; see PROTOCOL.md.
    public struct BlobChunks: WireRequest {
        public static let type = MessageType.blobChunks
        public typealias Reply = BlobChunksOK
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The stream number.
        public var stream: UInt32
        /// Index in the blob's recipe of the first chunk below (0 for the first request).
        public var position: UInt64
        /// The chunks (≤ maxChunksPerPut; bytes bounded by the frame cap).
        public var chunks: [StreamChunk]

        public init(lease: LeaseID, stream: UInt32, position: UInt64, chunks: [StreamChunk]) {
            self.lease = lease
            self.stream = stream
            self.position = position
            self.chunks = chunks
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireU32(stream)
            buffer.writeWireU64(position)
            buffer.writeWireCount(chunks.count)
            for c in chunks { c.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            stream = try r.u32("BlobChunks.stream")
            position = try r.u64("BlobChunks.position")
            guard position <= ProtocolLimits.maxObjectLength else {
                throw .invalidValue(
                    field: "BlobChunks.position", detail: "\(position) exceeds \(ProtocolLimits.maxObjectLength)")
            }
            chunks = try r.list(
                "BlobChunks.chunks", max: ProtocolLimits.maxChunksPerFrame, minElementSize: StreamChunk.minimumSize
            ) { r throws(ProtocolError) in try StreamChunk(from: &r) }
        }
    }

    /// Every chunk of the BLOB_CHUNKS verified; the new ones are durable.
    ///
    /// Frame type `BLOB_CHUNKS_OK`; see PROTOCOL.md.
    public struct BlobChunksOK: SingleFrameResponse {
        public static let type = MessageType.blobChunksOK

        /// Chunks newly stored.
        public var stored: UInt32
        /// Chunks the store already held (sent as bytes or as references).
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
            stored = try r.u32("BlobChunksOK.stored")
            alreadyPresent = try r.u32("BlobChunksOK.alreadyPresent")
        }
    }

    /// Closes a blob stream: the blob it carried, its size and chunk count.
    ///
    /// Frame type `BLOB_CLOSE`; see PROTOCOL.md.
    public struct BlobClose: WireRequest {
        public static let type = MessageType.blobClose
        public typealias Reply = BlobClosed
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The stream number.
        public var stream: UInt32
        /// SHA-256 of the whole file.
        public var blob: Digest
        /// The file's size in bytes.
        public var size: UInt64
        /// Chunks in the file's recipe.
        public var chunks: UInt64

        public init(lease: LeaseID, stream: UInt32, blob: Digest, size: UInt64, chunks: UInt64) {
            self.lease = lease
            self.stream = stream
            self.blob = blob
            self.size = size
            self.chunks = chunks
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireU32(stream)
            buffer.writeWireDigest(blob)
            buffer.writeWireU64(size)
            buffer.writeWireU64(chunks)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            stream = try r.u32("BlobClose.stream")
            blob = try r.digest("BlobClose.blob")
            size = try r.u64("BlobClose.size")
            chunks = try r.u64("BlobClose.chunks")
        }
    }

    /// The stream is closed.
    ///
    /// Frame type `BLOB_CLOSED`; see PROTOCOL.md.
    public struct BlobClosed: SingleFrameResponse {
        public static let type = MessageType.blobClosed

        /// True: the server hashed every chunk in order and the blob digest matched, so COMMIT
        /// reads none of it back. False: COMMIT verifies the blob from where the stream stopped.
        public var verified: Bool

        public init(verified: Bool) { self.verified = verified }

        public func encode(into buffer: inout ByteBuffer) { buffer.writeWireBool(verified) }

        public init(from r: inout WireReader) throws(ProtocolError) {
            verified = try r.bool("BlobClosed.verified")
        }
    }
}

extension Message {
    /// Closes a blob stream and has the server compute the blob digest from the chunks the stream
    /// carried (protocol version 3): the client sends the size and chunk count only.
    ///
    /// Frame type `BLOB_SEAL`; see PROTOCOL.md.
    public struct BlobSeal: WireRequest {
        public static let type = MessageType.blobSeal
        public typealias Reply = BlobSealed
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The stream number.
        public var stream: UInt32
        /// The file's size in bytes.
        public var size: UInt64
        /// Chunks in the file's recipe.
        public var chunks: UInt64

        public init(lease: LeaseID, stream: UInt32, size: UInt64, chunks: UInt64) {
            self.lease = lease
            self.stream = stream
            self.size = size
            self.chunks = chunks
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireU32(stream)
            buffer.writeWireU64(size)
            buffer.writeWireU64(chunks)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            stream = try r.u32("BlobSeal.stream")
            size = try r.u64("BlobSeal.size")
            chunks = try r.u64("BlobSeal.chunks")
        }
    }

    /// The stream is closed; the blob digest the server computed from its chunks, in order.
    ///
    /// Frame type `BLOB_SEALED`; see PROTOCOL.md.
    public struct BlobSealed: SingleFrameResponse {
        public static let type = MessageType.blobSealed

        /// SHA-256 of the chunks' bytes in order: the file's blob digest.
        public var blob: Digest

        public init(blob: Digest) { self.blob = blob }

        public func encode(into buffer: inout ByteBuffer) { buffer.writeWireDigest(blob) }

        public init(from r: inout WireReader) throws(ProtocolError) {
            blob = try r.digest("BlobSealed.blob")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.blobOpen(.init(lease: l, stream: 1))`.
    public static func blobOpen(_ m: BlobOpen) -> Message { Message(m) }
    public static func blobOpened(_ m: BlobOpened) -> Message { Message(m) }
    public static func blobChunks(_ m: BlobChunks) -> Message { Message(m) }
    public static func blobChunksOK(_ m: BlobChunksOK) -> Message { Message(m) }
    public static func blobClose(_ m: BlobClose) -> Message { Message(m) }
    public static func blobClosed(_ m: BlobClosed) -> Message { Message(m) }
    public static func blobSeal(_ m: BlobSeal) -> Message { Message(m) }
    public static func blobSealed(_ m: BlobSealed) -> Message { Message(m) }
}
