import NIOCore
import TroveCore
import TroveProtocol

/// The payload bytes of `message`.
func payload(_ message: Message) -> ByteBuffer {
    var b = ByteBuffer()
    message.encode(into: &b)
    return b
}

/// The encoded frame of `message`.
func frameBytes(_ message: Message, requestID: UInt32 = 7, flags: FrameFlags = []) -> ByteBuffer {
    var b = ByteBuffer()
    Envelope(message, requestID: requestID, flags: flags).write(into: &b)
    return b
}

/// A frame with an arbitrary type byte, flags and payload, with a correct checksum.
func rawFrame(type: UInt8, flags: UInt8 = 0, requestID: UInt32 = 1, payload: [UInt8]) -> ByteBuffer {
    var b = ByteBuffer()
    b.writeInteger(UInt32(payload.count))
    b.writeInteger(type)
    b.writeInteger(flags)
    b.writeInteger(requestID)
    b.writeBytes(payload)
    let crc = b.withUnsafeReadableBytes { CRC32C.update(0, $0) }
    b.writeInteger(crc)
    return b
}

/// Decodes every frame `decoder` yields from `buffer`.
func drain(_ decoder: inout FrameDecoder, _ buffer: inout ByteBuffer) throws(ProtocolError) -> [Frame] {
    var out: [Frame] = []
    while let f = try decoder.next(&buffer) { out.append(f) }
    return out
}

/// Runs `body` and returns the ProtocolError it threw, or nil.
func protocolError<T>(_ body: () throws(ProtocolError) -> T) -> ProtocolError? {
    do {
        _ = try body()
        return nil
    } catch {
        return error
    }
}
