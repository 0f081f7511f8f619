import Foundation
import Testing

@testable import TroveCore

@Suite("Chunker parameters")
struct ChunkerParameterTests {
    @Test func defaultsAreSixteenSixtyFourTwoFiftySixLevelOne() throws {
        let d = ChunkerParameters.default
        #expect(d == ChunkerParameters(min: 16384, avg: 65536, max: 262144, normalization: 1))
        try d.validate()
    }

    @Test func averageBitsIsRoundedLog2LikeTheCrate() {
        // The crate computes f64::from(avg).log2().round(); check the integer version agrees.
        for avg in [256, 257, 300, 362, 363, 512, 16383, 16384, 23170, 23171, 65535, 65536, 92681, 4_194_304]
        {
            let p = ChunkerParameters(min: 64, avg: avg, max: 16 << 20)
            #expect(p.averageBits == Int(log2(Double(avg)).rounded()), "avg \(avg)")
        }
    }

    @Test func limitsFollowTheFastCDCCrate() throws {
        try ChunkerParameters(min: 64, avg: 256, max: 1024, normalization: 0).validate()
        try ChunkerParameters(min: 1 << 20, avg: 4 << 20, max: 16 << 20, normalization: 3).validate()
        let bad: [(ChunkerParameters, ChunkerParameterError)] = [
            (
                .init(min: 63, avg: 256, max: 1024),
                .outOfRange(name: "min", value: 63, allowed: 64...1_048_576)
            ),
            (
                .init(min: 64, avg: 255, max: 1024),
                .outOfRange(name: "avg", value: 255, allowed: 256...4_194_304)
            ),
            (
                .init(min: 64, avg: 256, max: 1023),
                .outOfRange(name: "max", value: 1023, allowed: 1024...16_777_216)
            ),
            (
                .init(min: 64, avg: 256, max: (16 << 20) + 1),
                .outOfRange(name: "max", value: (16 << 20) + 1, allowed: 1024...16_777_216)
            ),
            (.init(min: 64, avg: 256, max: 1024, normalization: 4), .normalizationOutOfRange(4)),
            (.init(min: 64, avg: 256, max: 1024, normalization: -1), .normalizationOutOfRange(-1)),
            (.init(min: 8192, avg: 4096, max: 65536), .misordered(min: 8192, avg: 4096, max: 65536)),
            (.init(min: 1024, avg: 8192, max: 4096), .misordered(min: 1024, avg: 8192, max: 4096)),
        ]
        for (p, expected) in bad {
            #expect(throws: expected) { try p.validate() }
        }
    }

    @Test func errorMessagesSayWhatIsAllowed() {
        let e1 = ChunkerParameterError.outOfRange(name: "min", value: 1, allowed: 64...1_048_576)
        #expect(e1.description.contains("between 64 and 1048576"))
        #expect(ChunkerParameterError.normalizationOutOfRange(9).description.contains("0, 1, 2 or 3"))
        #expect(
            ChunkerParameterError.misordered(min: 3, avg: 2, max: 1).description.contains("min <= avg <= max")
        )
    }

    @Test func extremeParametersAgreeWithReference() throws {
        // Odd sizes, the smallest and normalization 0 and 3 exercise every mask index path.
        let data = TestInput.random.bytes(seed: 42, count: 300_000)
        let text = TestInput.text.bytes(seed: 43, count: 300_000)
        let cases = [
            ChunkerParameters(min: 64, avg: 256, max: 1024, normalization: 3),
            ChunkerParameters(min: 65, avg: 257, max: 1025, normalization: 0),
            ChunkerParameters(min: 999, avg: 3001, max: 7777, normalization: 2),
            ChunkerParameters(min: 256, avg: 256, max: 256 * 4, normalization: 1),
            ChunkerParameters(min: 4096, avg: 4096, max: 4096, normalization: 3),
        ]
        for p in cases {
            for input in [data, text] {
                let fast = try FastCDC(p).lengths(of: input)
                let slow = try ReferenceFastCDC.lengths(of: input, parameters: p)
                #expect(fast == slow, "\(p)")
                #expect(fast.reduce(0, +) == input.count)
                #expect(fast.allSatisfy { $0 <= p.max })
            }
        }
    }
}
