import NIOCore
import TroveCore

/// Flag bits of a frame.
public struct FrameFlags: OptionSet, Hashable, Sendable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// More frames of the same response follow (set on every frame of a multi-frame response
    /// except the last). Only responses set it.
    public static let more = FrameFlags(rawValue: 0x01)

    /// Bits defined in protocol version 1; a frame with any other bit set is a protocol violation.
    public static let defined: FrameFlags = [.more]
}

/// One frame as it travels: a header, a payload holding one message, and a checksum.
///
/// Layout (big-endian): `u32 payload length`, `u8 type`, `u8 flags`, `u32 request id`,
/// payload, `u32 CRC-32C` of the 10 header bytes and the payload.
public struct Frame: Equatable, Sendable {
    /// Bytes before the payload.
    public static let headerSize = 10
    /// Bytes after the payload.
    public static let trailerSize = 4
    /// Header plus trailer.
    public static let overhead = headerSize + trailerSize

    /// The message type.
    public var type: MessageType
    /// Flag bits.
    public var flags: FrameFlags
    /// The request this frame belongs to (0: a connection-level `ERROR`, not tied to a request).
    public var requestID: UInt32
    /// The message payload.
    public var payload: ByteBuffer

    public init(type: MessageType, flags: FrameFlags = [], requestID: UInt32, payload: ByteBuffer) {
        self.type = type
        self.flags = flags
        self.requestID = requestID
        self.payload = payload
    }

    /// A frame holding `message`.
    public init(_ message: Message, requestID: UInt32, flags: FrameFlags = []) {
        var payload = ByteBuffer()
        message.encode(into: &payload)
        self.init(type: message.type, flags: flags, requestID: requestID, payload: payload)
    }

    /// Decodes the message in the payload.
    public func message() throws(ProtocolError) -> Message {
        try Message.decode(type: type, payload: payload)
    }

    /// Appends the encoded frame to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        Frame.write(type: type, flags: flags, requestID: requestID, into: &buffer) { out in
            out.writeImmutableBuffer(payload)
        }
    }

    /// Appends a frame whose payload `writePayload` writes in place (no intermediate buffer),
    /// then patches in the length and appends the checksum.
    public static func write(
        type: MessageType, flags: FrameFlags, requestID: UInt32, into buffer: inout ByteBuffer,
        payload writePayload: (inout ByteBuffer) -> Void
    ) {
        let start = buffer.writerIndex
        writeHeader(type: type, flags: flags, requestID: requestID, payloadLength: 0, into: &buffer)
        writePayload(&buffer)
        let length = buffer.writerIndex - start - headerSize
        buffer.setInteger(UInt32(truncatingIfNeeded: length), at: start, endianness: .big)
        writeChecksum(from: start, into: &buffer)
    }

    /// Appends a frame header announcing `payloadLength` bytes of payload.
    public static func writeHeader(
        type: MessageType, flags: FrameFlags, requestID: UInt32, payloadLength: Int, into buffer: inout ByteBuffer
    ) {
        buffer.writeInteger(UInt32(truncatingIfNeeded: payloadLength), endianness: .big)
        buffer.writeInteger(type.rawValue)
        buffer.writeInteger(flags.rawValue)
        buffer.writeInteger(requestID, endianness: .big)
    }

    /// Appends the checksum of the frame whose header starts at writer index `start` and whose
    /// payload ends at the writer index.
    public static func writeChecksum(from start: Int, into buffer: inout ByteBuffer) {
        let offset = start - buffer.readerIndex
        let crc = buffer.withUnsafeReadableBytes { raw in
            CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[offset...]))
        }
        buffer.writeInteger(crc, endianness: .big)
    }

    /// The encoded size (header, payload and checksum) of the frame at the front of `buffer`, once
    /// its 10 header bytes are there (nil before), after the checks ``parse(_:maxPayload:)`` makes on
    /// the header: so a receiver can account for the frame's memory before the payload arrives.
    public static func announcedSize(_ buffer: ByteBuffer, maxPayload: Int) throws(ProtocolError) -> Int? {
        guard let header = try checkedHeader(buffer, maxPayload: maxPayload) else { return nil }
        return overhead + header.length
    }

    /// Checks the header at the front of `buffer` (length against the cap, type, flags).
    private static func checkedHeader(_ buffer: ByteBuffer, maxPayload: Int) throws(ProtocolError) -> (
        type: MessageType, flags: FrameFlags, length: Int
    )? {
        guard buffer.readableBytes >= headerSize else { return nil }
        let r = buffer.readerIndex
        let length = Int(buffer.getInteger(at: r, endianness: .big, as: UInt32.self)!)
        guard length <= maxPayload else { throw .frameTooLarge(length: length, limit: maxPayload) }
        let typeByte = buffer.getInteger(at: r + 4, as: UInt8.self)!
        guard let type = MessageType(rawValue: typeByte) else { throw .unknownMessageType(typeByte) }
        let flags = FrameFlags(rawValue: buffer.getInteger(at: r + 5, as: UInt8.self)!)
        guard flags.isSubset(of: .defined) else { throw .reservedFlags(flags.rawValue) }
        return (type, flags, length)
    }

    /// Parses one frame from the front of `buffer` if it is complete, consuming it; returns nil
    /// (consuming nothing) when more bytes are needed. Checks the length against `maxPayload`,
    /// the type and the flags as soon as the 10 header bytes are there, before waiting for (or
    /// allocating) the payload, and the checksum once the frame is whole. `computed`, when given,
    /// is the CRC-32C of the frame's bytes before its checksum, taken by the caller as it copied
    /// them (``FrameAssembler``): compared instead of reading the frame again.
    public static func parse(
        _ buffer: inout ByteBuffer, maxPayload: Int, computed: UInt32? = nil
    ) throws(ProtocolError) -> Frame? {
        guard let header = try checkedHeader(buffer, maxPayload: maxPayload) else { return nil }
        let (type, flags, length) = header
        let r = buffer.readerIndex
        guard buffer.readableBytes >= headerSize + length + trailerSize else { return nil }
        let requestID = buffer.getInteger(at: r + 6, endianness: .big, as: UInt32.self)!
        let expected = buffer.getInteger(at: r + headerSize + length, endianness: .big, as: UInt32.self)!
        let actual =
            computed
            ?? buffer.withUnsafeReadableBytes { raw in
                CRC32C.update(0, UnsafeRawBufferPointer(rebasing: raw[0..<(headerSize + length)]))
            }
        guard expected == actual else { throw .badChecksum(expected: expected, actual: actual) }
        buffer.moveReaderIndex(forwardBy: headerSize)
        let payload = buffer.readSlice(length: length)!
        buffer.moveReaderIndex(forwardBy: trailerSize)
        return Frame(type: type, flags: flags, requestID: requestID, payload: payload)
    }
}

/// A message with its request id and flags, as handed to ``FrameEncoder``.
public struct Envelope: Equatable, Sendable {
    public var message: Message
    public var requestID: UInt32
    public var flags: FrameFlags

    public init(_ message: Message, requestID: UInt32, flags: FrameFlags = []) {
        self.message = message
        self.requestID = requestID
        self.flags = flags
    }

    /// Appends the encoded frame to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        Frame.write(type: message.type, flags: flags, requestID: requestID, into: &buffer) { out in
            message.encode(into: &out)
        }
    }

    /// Appends the encoded frame to `buffer` if its payload is at most `maxPayload` bytes; otherwise
    /// leaves `buffer` as it was and throws ``ProtocolError/frameTooLarge(length:limit:)``. A sender
    /// uses it so that no frame above the negotiated cap ever leaves.
    public func write(into buffer: inout ByteBuffer, maxPayload: Int) throws(ProtocolError) {
        let start = buffer.writerIndex
        write(into: &buffer)
        let length = buffer.writerIndex - start - Frame.overhead
        guard length <= maxPayload else {
            buffer.moveWriterIndex(to: start)
            throw .frameTooLarge(length: length, limit: maxPayload)
        }
    }
}
