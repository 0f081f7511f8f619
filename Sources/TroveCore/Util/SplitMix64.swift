/// The SplitMix64 generator (Steele, Lea, Flood 2014), as specified by the chunker test vectors
/// (`Tests/TroveCoreTests/Vectors/README`): deterministic bytes for tests, benchmarks and demos.
///
/// Each output is one 64-bit word emitted as 8 little-endian bytes; byte streams are the
/// concatenation of outputs, truncated to the wanted length.
public struct SplitMix64: Sendable, RandomNumberGenerator {
    /// The generator state.
    public var state: UInt64

    /// A generator seeded with `seed`.
    public init(seed: UInt64) { state = seed }

    /// The next 64-bit output.
    @inlinable public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Fills `buffer` with the next bytes of the stream. Continuing a stream across calls gives
    /// the same bytes as one call only when every earlier call filled a multiple of 8 bytes.
    public mutating func fill(_ buffer: UnsafeMutableRawBufferPointer) {
        guard let base = buffer.baseAddress else { return }
        var i = 0
        let n = buffer.count
        while i + 8 <= n {
            base.storeBytes(of: next().littleEndian, toByteOffset: i, as: UInt64.self)
            i += 8
        }
        if i < n {
            var w = next()
            while i < n {
                base.storeBytes(of: UInt8(truncatingIfNeeded: w), toByteOffset: i, as: UInt8.self)
                w >>= 8
                i += 1
            }
        }
    }

    /// The first `count` bytes of the stream for `seed`.
    public static func bytes(seed: UInt64, count: Int) -> [UInt8] {
        var g = SplitMix64(seed: seed)
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { g.fill($0) }
        return out
    }
}

/// Test and benchmark inputs, as the chunker test vectors define them.
public enum TestInput: String, Sendable, CaseIterable {
    /// The SplitMix64 bytes for the seed.
    case random
    /// Each SplitMix64 byte `b` becomes `"etaoinshrdlucmfw"[b & 15]` (ASCII).
    case text
    /// Zero bytes (the seed is unused).
    case zeros
    /// The first 1000 SplitMix64 bytes for the seed, repeated.
    case periodic

    /// Builds `count` bytes of this kind for `seed`.
    public func bytes(seed: UInt64, count: Int) -> [UInt8] {
        switch self {
        case .random:
            return SplitMix64.bytes(seed: seed, count: count)
        case .text:
            let alphabet = Array("etaoinshrdlucmfw".utf8)
            var out = SplitMix64.bytes(seed: seed, count: count)
            for i in out.indices { out[i] = alphabet[Int(out[i] & 15)] }
            return out
        case .zeros:
            return [UInt8](repeating: 0, count: count)
        case .periodic:
            let period = SplitMix64.bytes(seed: seed, count: 1000)
            var out = [UInt8]()
            out.reserveCapacity(count)
            while out.count < count { out.append(contentsOf: period.prefix(count - out.count)) }
            return out
        }
    }
}
