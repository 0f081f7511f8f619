import NIOCore
import TroveCore

extension ObjectPart {
    /// Checks `totalLength ≤ 2^40` and `offset + data.count ≤ totalLength`.
    public func validate() throws(ProtocolError) {
        guard totalLength <= ProtocolLimits.maxObjectLength else {
            throw .invalidValue(
                field: "ObjectPart.totalLength",
                detail: "\(totalLength) exceeds \(ProtocolLimits.maxObjectLength)")
        }
        // totalLength ≤ 2^40, so the sum cannot overflow once offset ≤ totalLength.
        guard offset <= totalLength, UInt64(data.readableBytes) <= totalLength - offset else {
            throw .invalidValue(
                field: "ObjectPart.offset",
                detail: "part \(offset)+\(data.readableBytes) runs past the object's \(totalLength) bytes")
        }
    }
}

extension ChunkPayload {
    /// Checks `1 ≤ rawLength ≤ 16 MiB`, raw data exactly `rawLength` long, compressed data at
    /// most `rawLength` long (a sender stores raw when compression does not pay).
    public func validate() throws(ProtocolError) {
        guard rawLength >= 1, rawLength <= ProtocolLimits.maxChunkLength else {
            throw .invalidValue(
                field: "ChunkPayload.rawLength",
                detail: "\(rawLength) is not within 1...\(ProtocolLimits.maxChunkLength)")
        }
        let n = data.readableBytes
        if codec == .raw ? n != Int(rawLength) : n > Int(rawLength) {
            throw .invalidValue(
                field: "ChunkPayload.data",
                detail: "\(n) \(codec) bytes for a chunk of \(rawLength) raw bytes")
        }
    }
}

extension ErrorCode: WireCodable {
    public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU16(rawValue) }

    public init(from r: inout WireReader) throws(ProtocolError) {
        self.init(rawValue: try r.u16("error code"))
    }
}

extension SessionLimits: WireCodable {
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireU32(maxFramePayload)
        buffer.writeWireU32(maxDigestsPerRequest)
        buffer.writeWireU32(maxChunksPerPut)
        buffer.writeWireU32(maxInFlight)
        buffer.writeWireU64(maxObjectLength)
        buffer.writeWireU32(handshakeTimeoutMillis)
        buffer.writeWireU32(idleTimeoutMillis)
        buffer.writeWireU32(leaseTTLSeconds)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        maxFramePayload = try r.u32("limits.maxFramePayload")
        guard maxFramePayload >= ProtocolLimits.preAuthMaxPayload,
            maxFramePayload <= ProtocolLimits.absoluteMaxPayload
        else {
            throw .invalidValue(
                field: "limits.maxFramePayload",
                detail: "\(maxFramePayload) is not within "
                    + "\(ProtocolLimits.preAuthMaxPayload)...\(ProtocolLimits.absoluteMaxPayload)")
        }
        maxDigestsPerRequest = try r.u32("limits.maxDigestsPerRequest")
        maxChunksPerPut = try r.u32("limits.maxChunksPerPut")
        maxInFlight = try r.u32("limits.maxInFlight")
        maxObjectLength = try r.u64("limits.maxObjectLength")
        handshakeTimeoutMillis = try r.u32("limits.handshakeTimeoutMillis")
        idleTimeoutMillis = try r.u32("limits.idleTimeoutMillis")
        leaseTTLSeconds = try r.u32("limits.leaseTTLSeconds")
    }
}
