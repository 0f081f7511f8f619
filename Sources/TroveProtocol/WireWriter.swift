import NIOCore
import TroveCore

/// Writers for the primitive field types (see PROTOCOL.md, "Field encodings").
///
/// Writers do not enforce limits: the receiver does. Lengths are `u32`, so no Swift value a
/// process can hold in memory makes a writer trap.
extension ByteBuffer {
    /// Writes a `u8`.
    @inlinable public mutating func writeWireU8(_ v: UInt8) { writeInteger(v) }
    /// Writes a big-endian `u16`.
    @inlinable public mutating func writeWireU16(_ v: UInt16) { writeInteger(v, endianness: .big) }
    /// Writes a big-endian `u32`.
    @inlinable public mutating func writeWireU32(_ v: UInt32) { writeInteger(v, endianness: .big) }
    /// Writes a big-endian `u64`.
    @inlinable public mutating func writeWireU64(_ v: UInt64) { writeInteger(v, endianness: .big) }
    /// Writes a big-endian `i64`.
    @inlinable public mutating func writeWireI64(_ v: Int64) { writeInteger(v, endianness: .big) }
    /// Writes a `bool` as 0 or 1.
    @inlinable public mutating func writeWireBool(_ v: Bool) { writeInteger(v ? 1 : 0 as UInt8) }

    /// Writes a 32-byte digest.
    public mutating func writeWireDigest(_ d: Digest) {
        reserveCapacity(minimumWritableBytes: Digest.byteCount)
        writeWithUnsafeMutableBytes(minimumWritableBytes: Digest.byteCount) { p in
            d.write(to: p.baseAddress!)
            return Digest.byteCount
        }
    }

    /// Writes a `u32` length then the bytes.
    public mutating func writeWireBytes(_ b: ByteBuffer) {
        writeWireU32(UInt32(truncatingIfNeeded: b.readableBytes))
        writeImmutableBuffer(b)
    }

    /// Writes a `u32` length then the bytes.
    public mutating func writeWireBytes(_ b: [UInt8]) {
        writeWireU32(UInt32(truncatingIfNeeded: b.count))
        writeBytes(b)
    }

    /// Writes a `u32` length then the UTF-8 bytes.
    public mutating func writeWireString(_ s: String) {
        writeWireU32(UInt32(truncatingIfNeeded: s.utf8.count))
        writeString(s)
    }

    /// Writes a list count.
    public mutating func writeWireCount(_ n: Int) { writeWireU32(UInt32(truncatingIfNeeded: n)) }

    /// Writes a digest list.
    public mutating func writeWireDigests(_ ds: [Digest]) {
        writeWireCount(ds.count)
        reserveCapacity(minimumWritableBytes: ds.count * Digest.byteCount)
        for d in ds { writeWireDigest(d) }
    }

    /// Writes an optional: a presence byte, then the value when present.
    @inlinable public mutating func writeWireOptional<T>(_ v: T?, _ write: (inout ByteBuffer, T) -> Void) {
        if let v {
            writeWireBool(true)
            write(&self, v)
        } else {
            writeWireBool(false)
        }
    }
}
