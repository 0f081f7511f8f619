/// A violation of the wire protocol found while decoding bytes from a peer.
///
/// Every decoder in this module throws only this type and never traps. A channel handler that
/// receives one should send an `ERROR` frame with ``ErrorCode/protocolViolation`` (when it can)
/// and close the connection: after a framing error the byte stream cannot be trusted any more.
public enum ProtocolError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The first bytes were not a Trove preamble (wrong magic or an impossible version range).
    case badPreamble(detail: String)
    /// The peer speaks no protocol version this side speaks.
    case unsupportedVersion(local: ClosedRange<UInt8>, peer: ClosedRange<UInt8>)
    /// A frame announced a payload longer than the current cap.
    case frameTooLarge(length: Int, limit: Int)
    /// A frame's CRC-32C did not match its contents.
    case badChecksum(expected: UInt32, actual: UInt32)
    /// A frame set flag bits this version does not define.
    case reservedFlags(UInt8)
    /// A frame carried a message type this version does not know.
    case unknownMessageType(UInt8)
    /// A message ended before `field` was complete.
    case truncated(field: String, needed: Int, available: Int)
    /// A list announced more elements than its limit or than the remaining bytes can hold.
    case countTooLarge(field: String, count: Int, limit: Int)
    /// A string or byte field was longer than its limit.
    case fieldTooLong(field: String, length: Int, limit: Int)
    /// A string field was not valid UTF-8.
    case invalidUTF8(field: String)
    /// A field held a value outside its domain (an unknown enum code, a bool that is not 0/1, …).
    case invalidValue(field: String, detail: String)
    /// Bytes were left over after the last field of a message.
    case trailingBytes(message: String, count: Int)
    /// A response's frames were not of the type(s) that answer the request.
    case unexpectedResponse(expected: String, got: [MessageType])

    public var description: String {
        switch self {
        case .badPreamble(let detail):
            "the peer did not start with a Trove preamble (\(detail)); is this a Trove server/client?"
        case .unsupportedVersion(let local, let peer):
            "protocol version mismatch: this side speaks \(local.lowerBound)...\(local.upperBound), "
                + "the peer \(peer.lowerBound)...\(peer.upperBound); upgrade the older side"
        case .frameTooLarge(let length, let limit):
            "frame payload of \(length) bytes exceeds the limit of \(limit) bytes; connection closed"
        case .badChecksum(let expected, let actual):
            "frame checksum mismatch (frame says \(hex(expected)), content gives \(hex(actual))); "
                + "the connection corrupted data, retry"
        case .reservedFlags(let flags):
            "frame flags 0x\(String(flags, radix: 16)) set undefined bits; peer speaks a different protocol"
        case .unknownMessageType(let type):
            "unknown message type 0x\(String(type, radix: 16)); peer speaks a different protocol"
        case .truncated(let field, let needed, let available):
            "message truncated in \(field): needed \(needed) bytes, \(available) left"
        case .countTooLarge(let field, let count, let limit):
            "\(field) announces \(count) elements, more than the limit of \(limit)"
        case .fieldTooLong(let field, let length, let limit):
            "\(field) is \(length) bytes long, more than the limit of \(limit)"
        case .invalidUTF8(let field):
            "\(field) is not valid UTF-8"
        case .invalidValue(let field, let detail):
            "invalid \(field): \(detail)"
        case .trailingBytes(let message, let count):
            "\(count) unexpected bytes after the end of a \(message) message"
        case .unexpectedResponse(let expected, let got):
            "expected \(expected) in answer, got \(got.isEmpty ? "no frame" : got.map(\.description).joined(separator: ", "))"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return "0x" + String(repeating: "0", count: max(0, 8 - s.count)) + s
}
