/// Appends big-endian fields to a byte array (canonical object encodings).
struct ObjectWriter {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u16(_ v: UInt16) {
        bytes.append(UInt8(v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    mutating func u32(_ v: UInt32) {
        for s in stride(from: 24, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt32(s)))
        }
    }
    mutating func u64(_ v: UInt64) {
        for s in stride(from: 56, through: 0, by: -8) {
            bytes.append(UInt8(truncatingIfNeeded: v >> UInt64(s)))
        }
    }
    mutating func digest(_ d: Digest) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 32))
        bytes.withUnsafeMutableBytes { d.write(to: $0.baseAddress! + start) }
    }
    mutating func raw<S: Sequence>(_ s: S) where S.Element == UInt8 { bytes.append(contentsOf: s) }
}

/// Reads big-endian fields from hostile bytes; every read checks the remaining length first.
struct ObjectReader {
    let bytes: [UInt8]
    private(set) var offset: Int = 0

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    var remaining: Int { bytes.count - offset }

    mutating func need(_ n: Int, _ field: String) throws(ObjectError) {
        guard n >= 0, remaining >= n else { throw .truncated(field: field) }
    }
    mutating func u8(_ field: String) throws(ObjectError) -> UInt8 {
        try need(1, field)
        defer { offset += 1 }
        return bytes[offset]
    }
    mutating func u16(_ field: String) throws(ObjectError) -> UInt16 {
        try need(2, field)
        defer { offset += 2 }
        return UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
    }
    mutating func u32(_ field: String) throws(ObjectError) -> UInt32 {
        try need(4, field)
        var v: UInt32 = 0
        for i in 0..<4 { v = v << 8 | UInt32(bytes[offset + i]) }
        offset += 4
        return v
    }
    mutating func u64(_ field: String) throws(ObjectError) -> UInt64 {
        try need(8, field)
        var v: UInt64 = 0
        for i in 0..<8 { v = v << 8 | UInt64(bytes[offset + i]) }
        offset += 8
        return v
    }
    mutating func digest(_ field: String) throws(ObjectError) -> Digest {
        try need(32, field)
        defer { offset += 32 }
        return bytes.withUnsafeBytes { Digest(pointer: $0.baseAddress! + offset) }
    }
    mutating func raw(_ n: Int, _ field: String) throws(ObjectError) -> ArraySlice<UInt8> {
        try need(n, field)
        defer { offset += n }
        return bytes[offset..<offset + n]
    }
    func expectEnd() throws(ObjectError) {
        if remaining != 0 { throw .trailingBytes(count: remaining) }
    }
}
