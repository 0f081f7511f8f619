/// A SHA-256 digest: 32 bytes, stored as four big-endian 64-bit words so that it is cheap to
/// hash, compare and copy (no heap allocation).
///
/// Ordering is the lexicographic order of the 32 bytes, which is also the order of the
/// lowercase hex form. Canonical encodings that sort by digest rely on that.
public struct Digest: Hashable, Comparable, Sendable, CustomStringConvertible {
    /// Byte count of a SHA-256 digest.
    public static let byteCount = 32

    @usableFromInline var w0: UInt64
    @usableFromInline var w1: UInt64
    @usableFromInline var w2: UInt64
    @usableFromInline var w3: UInt64

    /// The all-zero digest (never the SHA-256 of anything in practice; useful as a sentinel).
    public static let zero = Digest(w0: 0, w1: 0, w2: 0, w3: 0)

    @inlinable init(w0: UInt64, w1: UInt64, w2: UInt64, w3: UInt64) {
        self.w0 = w0
        self.w1 = w1
        self.w2 = w2
        self.w3 = w3
    }

    /// Builds a digest from exactly 32 raw bytes at `pointer`.
    @inlinable public init(pointer: UnsafeRawPointer) {
        w0 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        w1 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 8, as: UInt64.self))
        w2 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 16, as: UInt64.self))
        w3 = UInt64(bigEndian: pointer.loadUnaligned(fromByteOffset: 24, as: UInt64.self))
    }

    /// Builds a digest from a collection of exactly 32 bytes; `nil` for any other length.
    public init?<C: Collection>(bytes: C) where C.Element == UInt8 {
        guard bytes.count == Digest.byteCount else { return nil }
        let array = Array(bytes)
        self = array.withUnsafeBytes { Digest(pointer: $0.baseAddress!) }
    }

    /// Parses 64 hex digits (either case); `nil` for anything else.
    public init?<S: StringProtocol>(hex: S) {
        let utf8 = Array(hex.utf8)
        guard utf8.count == 64 else { return nil }
        var words: [UInt64] = [0, 0, 0, 0]
        for (i, c) in utf8.enumerated() {
            let v: UInt64
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): v = UInt64(c - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): v = UInt64(c - UInt8(ascii: "a") + 10)
            case UInt8(ascii: "A")...UInt8(ascii: "F"): v = UInt64(c - UInt8(ascii: "A") + 10)
            default: return nil
            }
            words[i / 16] = words[i / 16] << 4 | v
        }
        self.init(w0: words[0], w1: words[1], w2: words[2], w3: words[3])
    }

    /// Parses `sha256:HEX`; `nil` for anything else.
    public init?<S: StringProtocol>(prefixed: S) {
        guard prefixed.hasPrefix("sha256:") else { return nil }
        self.init(hex: prefixed.dropFirst(7))
    }

    /// The 32 raw bytes.
    public var bytes: [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        out.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return out
    }

    /// Writes the 32 raw bytes to `pointer`.
    @inlinable public func write(to pointer: UnsafeMutableRawPointer) {
        pointer.storeBytes(of: w0.bigEndian, toByteOffset: 0, as: UInt64.self)
        pointer.storeBytes(of: w1.bigEndian, toByteOffset: 8, as: UInt64.self)
        pointer.storeBytes(of: w2.bigEndian, toByteOffset: 16, as: UInt64.self)
        pointer.storeBytes(of: w3.bigEndian, toByteOffset: 24, as: UInt64.self)
    }

    /// Lowercase hex, 64 characters: the form `sha256sum` prints.
    public var hex: String {
        let digits = Array("0123456789abcdef".utf8)
        var out = [UInt8](repeating: 0, count: 64)
        for (i, w) in [w0, w1, w2, w3].enumerated() {
            for j in 0..<16 {
                out[i * 16 + j] = digits[Int((w >> UInt64(60 - 4 * j)) & 0xF)]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// `sha256:HEX`, the form used in references and CLI output.
    public var prefixed: String { "sha256:" + hex }

    /// The first byte, used for sharding (`ab/` directories).
    public var firstByte: UInt8 { UInt8(truncatingIfNeeded: w0 >> 56) }

    public var description: String { prefixed }

    @inlinable public static func < (a: Digest, b: Digest) -> Bool {
        if a.w0 != b.w0 { return a.w0 < b.w0 }
        if a.w1 != b.w1 { return a.w1 < b.w1 }
        if a.w2 != b.w2 { return a.w2 < b.w2 }
        return a.w3 < b.w3
    }
}
