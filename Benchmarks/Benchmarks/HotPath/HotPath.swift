// package-benchmark suite for Trove's hot path. Run from Benchmarks/:
//   swift package benchmark --target HotPath
// Every benchmark processes a fixed in-memory input per iteration (size in its name), so
// throughput in bytes/s is iterations/s × that size. scripts/bench-hotpath measures the same
// paths on a 1 GiB file and reports ratios to `openssl speed`.
import Benchmark
import TroveCore

/// Text-like bytes: words from a small vocabulary (compressible by zstd and lz4).
func compressibleBytes(_ count: Int) -> [UInt8] {
    let words = ["tensor", "weight", "bias", "layer", "norm", "attention", "float16", "shape", "dtype"]
    var g = SplitMix64(seed: 7)
    var out: [UInt8] = []
    out.reserveCapacity(count + 16)
    while out.count < count {
        out.append(contentsOf: words[Int(g.next() % UInt64(words.count))].utf8)
        out.append(g.next() % 8 == 0 ? 10 : 32)
    }
    return Array(out.prefix(count))
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(5),
        maxIterations: 20
    )
    let size = 64 << 20
    let random = TestInput.random.bytes(seed: 1, count: size)
    let parameters = ChunkerParameters.default

    Benchmark("FastCDC chunking, 1 thread (64 MiB)") { benchmark in
        let cdc = try FastCDC(parameters)
        for _ in benchmark.scaledIterations {
            let n = random.withUnsafeBytes { raw in
                let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                var offset = 0
                var chunks = 0
                while offset < raw.count {
                    offset += cdc.cut(base + offset, count: raw.count - offset)
                    chunks += 1
                }
                return chunks
            }
            blackHole(n)
        }
    }

    Benchmark("SHA-256 (64 MiB)") { benchmark in
        let h = SHA256()
        for _ in benchmark.scaledIterations {
            blackHole(random.withUnsafeBytes { h.hash($0) })
        }
    }

    for threads in [1, 2] {
        Benchmark("Chunk + chunk digests, \(threads) thread(s) (64 MiB)") { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(
                    try Ingest.bytes(random, parameters: parameters, threads: threads, blobDigest: false))
            }
        }
    }

    for threads in [1, 2] {
        Benchmark("Full ingest pass (chunks + digests + blob digest), \(threads) thread(s) (64 MiB)") {
            benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try Ingest.bytes(random, parameters: parameters, threads: threads))
            }
        }
    }

    let codecSize = 16 << 20
    let chunk = 64 << 10
    let inputs: [(String, [UInt8])] = [
        ("incompressible", Array(random.prefix(codecSize))), ("compressible", compressibleBytes(codecSize)),
    ]
    for (kind, data) in inputs {
        for codec in [Codec.zstd, .lz4] {
            Benchmark("\(codec) compress 64 KiB chunks, \(kind) (16 MiB)") { benchmark in
                let compressor = ChunkCompressor(codec: codec)
                for _ in benchmark.scaledIterations {
                    var stored = 0
                    data.withUnsafeBytes { raw in
                        var o = 0
                        while o < raw.count {
                            let n = min(chunk, raw.count - o)
                            stored &+= compressor.compress(UnsafeRawBufferPointer(rebasing: raw[o..<o + n])) {
                                $1.count
                            }
                            o += n
                        }
                    }
                    blackHole(stored)
                }
            }
            Benchmark("\(codec) decompress 64 KiB chunks, \(kind) (16 MiB)") { benchmark in
                let compressor = ChunkCompressor(codec: codec)
                var frames: [(Codec, [UInt8], Int)] = []
                data.withUnsafeBytes { raw in
                    var o = 0
                    while o < raw.count {
                        let n = min(chunk, raw.count - o)
                        frames.append(
                            compressor.compress(UnsafeRawBufferPointer(rebasing: raw[o..<o + n])) {
                                ($0, Array($1), n)
                            })
                        o += n
                    }
                }
                let d = ChunkDecompressor()
                let out = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
                defer { out.deallocate() }
                for _ in benchmark.scaledIterations {
                    for (used, bytes, n) in frames {
                        try bytes.withUnsafeBytes {
                            try d.decompress(
                                $0, codec: used, into: UnsafeMutableRawBufferPointer(rebasing: out[0..<n]))
                        }
                    }
                    blackHole(out)
                }
            }
        }
    }
}
