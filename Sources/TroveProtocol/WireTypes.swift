import NIOCore
import TroveCore

/// A value that has a wire encoding (see PROTOCOL.md, "Field encodings").
public protocol WireCodable: Equatable, Sendable {
    /// Appends the encoding to `buffer`.
    func encode(into buffer: inout ByteBuffer)
    /// Decodes from hostile bytes.
    init(from reader: inout WireReader) throws(ProtocolError)
}

/// A push lease: 16 random bytes chosen by the server.
public struct LeaseID: WireCodable, Hashable, CustomStringConvertible {
    public var high: UInt64
    public var low: UInt64

    public init(high: UInt64, low: UInt64) {
        self.high = high
        self.low = low
    }

    /// A fresh random lease id.
    public static func random() -> LeaseID {
        let b = SecureRandom.bytes(16)
        var h: UInt64 = 0
        var l: UInt64 = 0
        for i in 0..<8 {
            h = h << 8 | UInt64(b[i])
            l = l << 8 | UInt64(b[8 + i])
        }
        return LeaseID(high: h, low: l)
    }

    /// Parses 32 hex digits.
    public init?(hex: String) {
        guard hex.utf8.count == 32, let h = UInt64(hex.prefix(16), radix: 16),
            let l = UInt64(hex.suffix(16), radix: 16)
        else { return nil }
        self.init(high: h, low: l)
    }

    /// 32 lowercase hex digits.
    public var description: String {
        func pad(_ v: UInt64) -> String {
            let s = String(v, radix: 16)
            return String(repeating: "0", count: 16 - s.count) + s
        }
        return pad(high) + pad(low)
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireU64(high)
        buffer.writeWireU64(low)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        high = try r.u64("lease id")
        low = try r.u64("lease id")
    }
}

/// What a session may do; ordered: `admin` ⊇ `write` ⊇ `read`. On the wire a `u8`.
public enum AccessScope: UInt8, WireCodable, Comparable, CaseIterable {
    case read = 0
    case write = 1
    case admin = 2

    public static func < (a: AccessScope, b: AccessScope) -> Bool { a.rawValue < b.rawValue }

    public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU8(rawValue) }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let v = try r.u8("scope")
        guard let s = AccessScope(rawValue: v) else {
            throw .invalidValue(field: "scope", detail: "unknown scope code \(v) (0 read, 1 write, 2 admin)")
        }
        self = s
    }
}

/// What a digest in HAS / GET_OBJECTS / PUT_OBJECTS / COMMIT_MISSING names. On the wire a `u8`.
public enum ContentKind: UInt8, WireCodable, CaseIterable, CustomStringConvertible {
    /// A chunk, keyed by the SHA-256 of its raw bytes.
    case chunk = 0
    /// A recipe, keyed by the digest of the blob it rebuilds.
    case recipe = 1
    /// A tree, keyed by the SHA-256 of its canonical bytes.
    case tree = 2

    public var description: String {
        switch self {
        case .chunk: "chunk"
        case .recipe: "recipe"
        case .tree: "tree"
        }
    }

    public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU8(rawValue) }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let v = try r.u8("kind")
        guard let k = ContentKind(rawValue: v) else {
            throw .invalidValue(field: "kind", detail: "unknown kind \(v) (0 chunk, 1 recipe, 2 tree)")
        }
        self = k
    }

    /// Decodes a kind that must name an object (recipe or tree), not a chunk.
    static func object(from r: inout WireReader) throws(ProtocolError) -> ContentKind {
        let k = try ContentKind(from: &r)
        guard k != .chunk else { throw .invalidValue(field: "kind", detail: "expected recipe or tree") }
        return k
    }
}

extension Codec: WireCodable {
    public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU8(rawValue) }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let v = try r.u8("codec")
        guard let c = Codec(rawValue: v) else {
            throw .invalidValue(field: "codec", detail: "unknown codec \(v) (0 raw, 1 zstd, 2 lz4)")
        }
        self = c
    }
}

/// A metadata value on the wire: tag `u8` then the value — 0 `string` (≤ 4096 bytes), 1 `i64`,
/// 2 a finite IEEE-754 double as its `u64` bit pattern, 3 `bool`. (The type is TroveCore's.)
extension MetadataValue: WireCodable {
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .string(let s):
            buffer.writeWireU8(0)
            buffer.writeWireString(s)
        case .integer(let i):
            buffer.writeWireU8(1)
            buffer.writeWireI64(i)
        case .number(let d):
            buffer.writeWireU8(2)
            buffer.writeWireU64(d.bitPattern)
        case .bool(let b):
            buffer.writeWireU8(3)
            buffer.writeWireBool(b)
        }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        switch try r.u8("metadata value tag") {
        case 0: self = .string(try r.string("metadata value", max: ProtocolLimits.maxMetadataValueLength))
        case 1: self = .integer(try r.i64("metadata value"))
        case 2:
            let d = Double(bitPattern: try r.u64("metadata value"))
            guard d.isFinite else {
                throw .invalidValue(field: "metadata value", detail: "number is not finite")
            }
            self = .number(d)
        case 3: self = .bool(try r.bool("metadata value"))
        case let t: throw .invalidValue(field: "metadata value tag", detail: "unknown tag \(t)")
        }
    }
}

/// The expectation of an alias compare-and-swap. Tag `u8`: 0 any, 1 absent, 2 version (+ `string`).
public enum AliasExpectation: WireCodable, Hashable {
    /// Unconditional.
    case any
    /// The alias must not exist.
    case absent
    /// The alias must currently point at this version.
    case version(String)

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .any: buffer.writeWireU8(0)
        case .absent: buffer.writeWireU8(1)
        case .version(let v):
            buffer.writeWireU8(2)
            buffer.writeWireString(v)
        }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        switch try r.u8("expectation tag") {
        case 0: self = .any
        case 1: self = .absent
        case 2: self = .version(try r.string("expected version", max: ProtocolLimits.maxTagLength))
        case let t: throw .invalidValue(field: "expectation tag", detail: "unknown tag \(t)")
        }
    }
}

/// What a scrub covers. Tag `u8`: 0 full; 1 slice (`u32` index, `u32` count, 1 ≤ index ≤ count);
/// 2 sample (`u32` parts per million, 1…1 000 000).
public enum ScrubMode: WireCodable, Hashable {
    /// Everything.
    case full
    /// Slice `index` of `count` (1-based): `count` runs cover the store.
    case slice(index: UInt32, count: UInt32)
    /// A random sample of this many parts per million of the chunks.
    case sample(partsPerMillion: UInt32)

    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .full: buffer.writeWireU8(0)
        case .slice(let i, let n):
            buffer.writeWireU8(1)
            buffer.writeWireU32(i)
            buffer.writeWireU32(n)
        case .sample(let ppm):
            buffer.writeWireU8(2)
            buffer.writeWireU32(ppm)
        }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        switch try r.u8("scrub mode") {
        case 0: self = .full
        case 1:
            let i = try r.u32("slice index")
            let n = try r.u32("slice count")
            guard i >= 1, i <= n else {
                throw .invalidValue(field: "slice", detail: "\(i)/\(n) is not within 1...count")
            }
            self = .slice(index: i, count: n)
        case 2:
            let ppm = try r.u32("sample")
            guard ppm >= 1, ppm <= 1_000_000 else {
                throw .invalidValue(field: "sample", detail: "\(ppm) ppm is not within 1...1000000")
            }
            self = .sample(partsPerMillion: ppm)
        case let t: throw .invalidValue(field: "scrub mode", detail: "unknown mode \(t)")
        }
    }
}

/// The outcome of a GC or scrub. On the wire a `u8`.
public enum ReportStatus: UInt8, WireCodable, CaseIterable {
    /// Ran to the end; for scrub: no damage.
    case clean = 0
    /// Scrub found damage (CLI exit 5).
    case damageFound = 1
    /// Could not run or was interrupted (CLI exit 1); a rerun resumes.
    case incomplete = 2

    public func encode(into buffer: inout ByteBuffer) { buffer.writeWireU8(rawValue) }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let v = try r.u8("status")
        guard let s = ReportStatus(rawValue: v) else {
            throw .invalidValue(field: "status", detail: "unknown report status \(v)")
        }
        self = s
    }
}

/// Presence bits for HAS_RESULT: `u32` count, then ⌈count / 8⌉ bytes, bit `i` is
/// `byte[i / 8] & (0x80 >> (i % 8))` (most significant bit first); padding bits are zero.
public struct PresenceBitmap: WireCodable, Hashable {
    /// One flag per asked digest, in request order: true when present.
    public var present: [Bool]

    public init(_ present: [Bool]) {
        self.present = present
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireCount(present.count)
        var byte: UInt8 = 0
        for (i, p) in present.enumerated() {
            if p { byte |= 0x80 >> UInt8(i & 7) }
            if i & 7 == 7 {
                buffer.writeWireU8(byte)
                byte = 0
            }
        }
        if present.count & 7 != 0 { buffer.writeWireU8(byte) }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let n = Int(try r.u32("presence count"))
        guard n <= ProtocolLimits.maxDigestsPerRequest else {
            throw .countTooLarge(field: "presence", count: n, limit: ProtocolLimits.maxDigestsPerRequest)
        }
        let bytes = try r.fixedBytes((n + 7) / 8, "presence bits")
        var out = [Bool]()
        out.reserveCapacity(n)
        for i in 0..<n { out.append(bytes[i >> 3] & (0x80 >> UInt8(i & 7)) != 0) }
        if n & 7 != 0, bytes[bytes.count - 1] & (0xFF >> UInt8(n & 7)) != 0 {
            throw .invalidValue(field: "presence bits", detail: "padding bits are not zero")
        }
        present = out
    }
}
