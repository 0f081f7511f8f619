import NIOCore
import TroveCore

/// Reads the primitive field types of a message payload from hostile bytes.
///
/// Every read checks the remaining length first and throws ``ProtocolError`` instead of trapping;
/// byte fields are zero-copy slices of the frame; list counts are checked against both their limit
/// and the bytes left (`count × minimum element size`) before anything is allocated.
public struct WireReader {
    /// The bytes not read yet.
    public private(set) var buffer: ByteBuffer

    /// A reader over `buffer` (from its reader index).
    public init(_ buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Bytes left to read.
    public var remaining: Int { buffer.readableBytes }

    @inline(__always) mutating func need(_ n: Int, _ field: String) throws(ProtocolError) {
        guard buffer.readableBytes >= n else {
            throw .truncated(field: field, needed: n, available: buffer.readableBytes)
        }
    }

    /// A `u8`.
    public mutating func u8(_ field: String) throws(ProtocolError) -> UInt8 {
        try need(1, field)
        return buffer.readInteger(as: UInt8.self)!
    }

    /// A big-endian `u16`.
    public mutating func u16(_ field: String) throws(ProtocolError) -> UInt16 {
        try need(2, field)
        return buffer.readInteger(endianness: .big, as: UInt16.self)!
    }

    /// A big-endian `u32`.
    public mutating func u32(_ field: String) throws(ProtocolError) -> UInt32 {
        try need(4, field)
        return buffer.readInteger(endianness: .big, as: UInt32.self)!
    }

    /// A big-endian `u64`.
    public mutating func u64(_ field: String) throws(ProtocolError) -> UInt64 {
        try need(8, field)
        return buffer.readInteger(endianness: .big, as: UInt64.self)!
    }

    /// A big-endian two's-complement `i64`.
    public mutating func i64(_ field: String) throws(ProtocolError) -> Int64 {
        try need(8, field)
        return buffer.readInteger(endianness: .big, as: Int64.self)!
    }

    /// A `bool`: one byte, 0 or 1 (anything else is invalid).
    public mutating func bool(_ field: String) throws(ProtocolError) -> Bool {
        switch try u8(field) {
        case 0: return false
        case 1: return true
        case let v: throw .invalidValue(field: field, detail: "boolean byte must be 0 or 1, got \(v)")
        }
    }

    /// A 32-byte SHA-256 digest.
    public mutating func digest(_ field: String) throws(ProtocolError) -> Digest {
        try need(Digest.byteCount, field)
        let d = buffer.withUnsafeReadableBytes { Digest(pointer: $0.baseAddress!) }
        buffer.moveReaderIndex(forwardBy: Digest.byteCount)
        return d
    }

    /// `n` raw bytes as an array (`n` is a small constant such as a nonce length).
    public mutating func fixedBytes(_ n: Int, _ field: String) throws(ProtocolError) -> [UInt8] {
        try need(n, field)
        return buffer.readBytes(length: n)!
    }

    /// A `bytes` field: `u32` length then the bytes, returned as a zero-copy slice.
    public mutating func bytes(_ field: String, max limit: Int) throws(ProtocolError) -> ByteBuffer {
        let n = Int(try u32(field + " length"))
        guard n <= limit else { throw .fieldTooLong(field: field, length: n, limit: limit) }
        try need(n, field)
        return buffer.readSlice(length: n)!
    }

    /// A `string` field: `u32` length then UTF-8 bytes.
    public mutating func string(_ field: String, max limit: Int) throws(ProtocolError) -> String {
        let n = Int(try u32(field + " length"))
        guard n <= limit else { throw .fieldTooLong(field: field, length: n, limit: limit) }
        try need(n, field)
        let s: String? = buffer.withUnsafeReadableBytes { raw in
            String(validating: UnsafeRawBufferPointer(rebasing: raw[0..<n]), as: UTF8.self)
        }
        guard let s else { throw .invalidUTF8(field: field) }
        buffer.moveReaderIndex(forwardBy: n)
        return s
    }

    /// An optional value: a presence byte (0 absent, 1 present) then the value.
    public mutating func optional<T>(
        _ field: String, _ read: (inout WireReader) throws(ProtocolError) -> T
    ) throws(ProtocolError) -> T? {
        guard try bool(field + " presence") else { return nil }
        return try read(&self)
    }

    /// A list count (`u32`), checked against `limit` and against the bytes left, assuming every
    /// element takes at least `minElementSize` bytes (≥ 1).
    public mutating func count(_ field: String, max limit: Int, minElementSize: Int) throws(ProtocolError)
        -> Int
    {
        let n = Int(try u32(field + " count"))
        guard n <= limit else { throw .countTooLarge(field: field, count: n, limit: limit) }
        let fit = buffer.readableBytes / Swift.max(1, minElementSize)
        guard n <= fit else { throw .countTooLarge(field: field, count: n, limit: fit) }
        return n
    }

    /// A list: a checked count then `count` elements.
    public mutating func list<T>(
        _ field: String, max limit: Int, minElementSize: Int,
        _ read: (inout WireReader) throws(ProtocolError) -> T
    ) throws(ProtocolError) -> [T] {
        let n = try count(field, max: limit, minElementSize: minElementSize)
        var out: [T] = []
        out.reserveCapacity(n)
        for _ in 0..<n { out.append(try read(&self)) }
        return out
    }

    /// A list of digests (`u32` count, then 32 bytes each).
    public mutating func digests(_ field: String, max limit: Int) throws(ProtocolError) -> [Digest] {
        try list(field, max: limit, minElementSize: Digest.byteCount) { r throws(ProtocolError) in
            try r.digest(field)
        }
    }

    /// Throws unless every byte was consumed.
    public func finish(_ message: String) throws(ProtocolError) {
        guard buffer.readableBytes == 0 else {
            throw .trailingBytes(message: message, count: buffer.readableBytes)
        }
    }
}
