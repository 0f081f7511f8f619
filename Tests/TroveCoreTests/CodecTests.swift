import Testing

@testable import TroveCore

@Suite("Chunk codecs")
struct CodecTests {
    /// Text-like data: words from a small vocabulary (both zstd and lz4 find matches).
    static let compressible: [UInt8] = {
        let words = [
            "tensor", "weight", "bias", "layer", "norm", "attention", "float16", "shape", "dtype", "mlp",
        ]
        var g = SplitMix64(seed: 21)
        var out: [UInt8] = []
        while out.count < 200_000 {
            out.append(contentsOf: words[Int(g.next() % UInt64(words.count))].utf8)
            out.append(UInt8(ascii: g.next() % 8 == 0 ? "\n" : " "))
        }
        return Array(out.prefix(200_000))
    }()
    static let incompressible = TestInput.random.bytes(seed: 22, count: 200_000)

    @Test("round trip", arguments: [Codec.raw, .zstd, .lz4])
    func roundTrip(_ codec: Codec) throws {
        let compressor = ChunkCompressor(codec: codec)
        let decompressor = ChunkDecompressor()
        let inputs: [[UInt8]] = [
            [], [42], Self.compressible, Self.incompressible, TestInput.zeros.bytes(seed: 0, count: 1 << 20),
            TestInput.periodic.bytes(seed: 23, count: 300_000),
        ]
        for input in inputs {
            // Reusing one compressor and decompressor across inputs is the normal pattern.
            let (used, stored) = compressor.compress(input)
            let back = try decompressor.decompress(stored, codec: used, rawLength: input.count)
            #expect(back == input, "\(codec) \(input.count) bytes")
            if codec == .raw || input.isEmpty { #expect(used == .raw) }
        }
    }

    @Test("compressible data is compressed", arguments: [Codec.zstd, .lz4])
    func compressibleIsCompressed(_ codec: Codec) {
        let (used, stored) = ChunkCompressor(codec: codec).compress(Self.compressible)
        #expect(used == codec)
        #expect(stored.count < Self.compressible.count * 3 / 4)
    }

    @Test("incompressible data is stored raw", arguments: [Codec.zstd, .lz4])
    func incompressibleIsRaw(_ codec: Codec) {
        let (used, stored) = ChunkCompressor(codec: codec).compress(Self.incompressible)
        #expect(used == .raw)
        #expect(stored == Self.incompressible)
    }

    @Test("a stream that decodes to more than declared is refused", arguments: [Codec.zstd, .lz4])
    func bombIsRefused(_ codec: Codec) {
        let big = TestInput.zeros.bytes(seed: 0, count: 4 << 20)
        let (used, stored) = ChunkCompressor(codec: codec).compress(big)
        #expect(used == codec)
        let d = ChunkDecompressor()
        for declared in [0, 1, 1000, big.count - 1] {
            #expect(throws: CodecError.self) { try d.decompress(stored, codec: codec, rawLength: declared) }
        }
        // The decompressor is still usable afterwards.
        #expect((try? d.decompress(stored, codec: codec, rawLength: big.count)) == big)
    }

    @Test func declaredLengthAboveTheLimitIsRefusedBeforeAllocating() {
        let d = ChunkDecompressor(maxRawLength: 1 << 20)
        #expect(throws: CodecError.tooLarge(declared: (1 << 20) + 1, limit: 1 << 20)) {
            try d.decompress([UInt8](), codec: .zstd, rawLength: (1 << 20) + 1)
        }
        #expect(throws: CodecError.self) { try d.decompress([UInt8](), codec: .raw, rawLength: -1) }
        #expect(throws: CodecError.self) { try d.decompress([UInt8](), codec: .zstd, rawLength: Int.max) }
    }

    @Test("truncated streams throw", arguments: [Codec.raw, .zstd, .lz4])
    func truncatedThrows(_ codec: Codec) {
        let input = codec == .raw ? Self.incompressible : Self.compressible
        let (used, stored) = ChunkCompressor(codec: codec).compress(input)
        #expect(used == codec)
        let d = ChunkDecompressor()
        for cut in [0, 1, stored.count / 2, stored.count - 1] {
            #expect(throws: CodecError.self, "cut at \(cut)") {
                try d.decompress(Array(stored[..<cut]), codec: codec, rawLength: input.count)
            }
        }
    }

    @Test("garbage streams throw", arguments: [Codec.zstd, .lz4])
    func garbageThrows(_ codec: Codec) {
        let d = ChunkDecompressor()
        for seed in UInt64(0)..<20 {
            let garbage = TestInput.random.bytes(seed: 100 + seed, count: Int(seed) * 37 + 1)
            #expect(throws: CodecError.self) { try d.decompress(garbage, codec: codec, rawLength: 65536) }
        }
    }

    @Test("corrupted streams never trap and never yield a wrong length", arguments: [Codec.zstd, .lz4])
    func corruptionIsContained(_ codec: Codec) {
        let input = Array(Self.compressible.prefix(50_000))
        let (used, stored) = ChunkCompressor(codec: codec).compress(input)
        #expect(used == codec)
        let d = ChunkDecompressor()
        var g = SplitMix64(seed: 5)
        var failures = 0
        for _ in 0..<300 {
            var bad = stored
            let i = Int(g.next() % UInt64(bad.count))
            bad[i] ^= UInt8(truncatingIfNeeded: g.next() | 1)
            do {
                let out = try d.decompress(bad, codec: codec, rawLength: input.count)
                #expect(out.count == input.count)
            } catch {
                failures += 1
            }
        }
        // Content corruption can go unnoticed by the codec (chunk digests catch it), but header
        // and structure corruption must be reported.
        #expect(failures > 0)
    }

    @Test func rawLengthMismatchThrows() {
        let d = ChunkDecompressor()
        #expect(throws: CodecError.lengthMismatch(codec: .raw, declared: 4, actual: 3)) {
            try d.decompress([1, 2, 3], codec: .raw, rawLength: 4)
        }
        #expect(Codec(name: "zstd") == .zstd && Codec(name: "lz4") == .lz4 && Codec(name: "gzip") == nil)
    }

    @Test("the compressibility sampler agrees with a full compression attempt on clear cases")
    func sampler() {
        let sampler = CompressibilitySampler()
        let compressor = ChunkCompressor(codec: .zstd)
        for (input, expected) in [(Self.compressible, true), (Self.incompressible, false)] {
            // The slow path: a full zstd attempt keeps the compressed form only when it pays.
            let full = input.withUnsafeBytes { compressor.compress($0) { codec, _ in codec != .raw } }
            #expect(full == expected)
            #expect(input.withUnsafeBytes { sampler.looksCompressible($0) } == expected)
        }
        // Disabled (codec raw): nothing is worth compressing.
        sampler.enabled = false
        #expect(!Self.compressible.withUnsafeBytes { sampler.looksCompressible($0) })
    }

    @Test(
        "small chunks: the byte histogram agrees with a full compression attempt, after any chunk",
        arguments: [1024, 3000, 8192, 12_288])
    func samplerSmallChunks(_ size: Int) {
        let compressor = ChunkCompressor(codec: .zstd)
        let text = Array(Self.compressible.prefix(size))
        let random = Array(Self.incompressible.prefix(size))
        // A CSV-like file, as small data sets hold next to random samples.
        var rows: [UInt8] = []
        var g = SplitMix64(seed: 23)
        while rows.count < size {
            rows += Array("\(g.next() % 100_000),label\(g.next() % 50),0.\(g.next() % 10_000)\n".utf8)
        }
        rows = Array(rows.prefix(size))
        for (input, expected) in [(text, true), (rows, true), (random, false)] {
            let full = input.withUnsafeBytes { compressor.compress($0) { codec, _ in codec != .raw } }
            #expect(full == expected)
            // Whatever the chunk before did (after a compressed one the large-chunk rule skips
            // its sample), a small chunk is judged on its own bytes.
            for previous in [false, true] {
                let sampler = CompressibilitySampler()
                sampler.record(compressed: previous)
                #expect(input.withUnsafeBytes { sampler.looksCompressible($0) } == expected)
            }
        }
        // Below the histogram's sample size a chunk is always worth the attempt.
        let tiny = Array(random.prefix(CompressibilitySampler.histogramSample - 1))
        #expect(tiny.withUnsafeBytes { CompressibilitySampler().looksCompressible($0) })
    }
}
