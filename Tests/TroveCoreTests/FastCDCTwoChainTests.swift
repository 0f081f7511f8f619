import Testing

@testable import TroveCore

/// `FastCDC.scan` runs two hash chains over windows of a range (the second warmed up over the 32
/// pairs before its window) and falls back to one chain for short ranges. These compare it with
/// `ReferenceFastCDC` where that machinery has its edge cases: ranges just above and below the
/// two-chain threshold, last rounds with shrunk windows, cuts found by the second chain while the
/// first still has to finish its window, and inputs with no cut before `max`.
@Suite("FastCDC two-chain scan agrees with the reference")
struct FastCDCTwoChainTests {
    static let parameterSets: [ChunkerParameters] = [
        .default,
        // Both regions too short for two chains (under 512 pairs): one-chain path only.
        ChunkerParameters(min: 64, avg: 256, max: 1024, normalization: 1),
        // The maskS region one-chain, the maskL region (1536 pairs) one round of two.
        ChunkerParameters(min: 256, avg: 1024, max: 4096, normalization: 1),
        // Regions of a few hundred to a few thousand pairs: shrunk windows, one or more rounds,
        // frequent cuts (so the second chain often cuts while the first has to finish).
        ChunkerParameters(min: 64, avg: 4096, max: 16384, normalization: 0),
        ChunkerParameters(min: 64, avg: 4096, max: 16384, normalization: 2),
        ChunkerParameters(min: 1000, avg: 3001, max: 9999, normalization: 3),
        ChunkerParameters(min: 2048, avg: 8192, max: 65536, normalization: 1),
        ChunkerParameters(min: 64, avg: 65536, max: 1 << 20, normalization: 3),
    ]

    static func agree(_ input: [UInt8], _ p: ChunkerParameters) throws -> Bool {
        let fast = try FastCDC(p).lengths(of: input)
        let slow = try ReferenceFastCDC.lengths(of: input, parameters: p)
        return fast == slow && fast.reduce(0, +) == input.count
    }

    @Test("random input, seeded", arguments: parameterSets)
    func random(_ p: ChunkerParameters) throws {
        let count = p == .default ? 6_000_000 : 1_500_000
        let data = TestInput.random.bytes(seed: 0xCDC2, count: count)
        #expect(try Self.agree(data, p))
    }

    @Test("text input", arguments: parameterSets)
    func text(_ p: ChunkerParameters) throws {
        let data = TestInput.text.bytes(seed: 15, count: 1_000_000)
        #expect(try Self.agree(data, p))
    }

    /// Input lengths that put the end of the scanned range just around the two-chain threshold
    /// (512 pairs past the region start) and around window multiples (4096 pairs = 8 KiB).
    @Test("input lengths around window boundaries", arguments: [
        ChunkerParameters.default,
        ChunkerParameters(min: 64, avg: 4096, max: 16384, normalization: 1),
        ChunkerParameters(min: 2048, avg: 8192, max: 65536, normalization: 1),
    ])
    func lengths(_ p: ChunkerParameters) throws {
        let data = TestInput.random.bytes(seed: 77, count: 300_000)
        var sizes: Set<Int> = []
        for regionStart in [p.min, p.avg] {
            for pairs in [0, 1, 2, 3, 4, 31, 32, 33, 255, 256, 257, 510, 511, 512, 513, 514, 1024, 2047, 2048,
                2049, 4095, 4096, 4097, 8190, 8191, 8192, 8193, 8194, 12288, 16384, 16388]
            {
                for extra in [-1, 0, 1] {
                    let n = regionStart + 2 * pairs + extra
                    if n > 0 && n <= data.count { sizes.insert(n) }
                }
            }
        }
        for n in sizes.sorted() {
            #expect(try Self.agree(Array(data[0..<n]), p), "length \(n)")
        }
    }

    /// No cut anywhere: every chunk is `max` (or the rest), the two-chain loop runs every round
    /// to the end and hands its state to the maskL region.
    @Test("low-entropy inputs cut at max", arguments: parameterSets)
    func lowEntropy(_ p: ChunkerParameters) throws {
        let count = 3 * p.max + 12_345
        let zeros = TestInput.zeros.bytes(seed: 0, count: count)
        let periodic = TestInput.periodic.bytes(seed: 5, count: count)
        var pattern: [UInt8] = []
        while pattern.count < count { pattern += [0x41, 0x42, 0x43] }
        for input in [zeros, periodic, pattern] {
            #expect(try Self.agree(input, p))
        }
        for input in [zeros, pattern] {
            let fast = try FastCDC(p).lengths(of: input)
            #expect(fast.count == (count + p.max - 1) / p.max && fast.dropLast().allSatisfy { $0 == p.max })
        }
    }

    /// Random blocks between long zero runs: cuts land anywhere relative to the windows.
    @Test func mixedBlocks() throws {
        var data: [UInt8] = []
        var seed: UInt64 = 1
        while data.count < 2_000_000 {
            data += TestInput.random.bytes(seed: seed, count: 1000 + Int(seed * 7919 % 50_000))
            data += [UInt8](repeating: 0, count: Int(seed * 104_729 % 90_000))
            seed += 1
        }
        for p in Self.parameterSets {
            #expect(try Self.agree(data, p), "\(p)")
        }
    }
}
