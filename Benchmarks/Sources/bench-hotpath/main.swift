// bench-hotpath: measures Trove's hot paths on one input file (median of N runs, GB/s).
//
//   bench-hotpath generate PATH SIZE [SEED]     write SIZE bytes of SplitMix64 random data
//   bench-hotpath measure PATH [--runs N] [--only NAME,...]
//
// `measure` prints one line per benchmark: NAME<TAB>MEDIAN_GBPS<TAB>MIN<TAB>MAX<TAB>CPU_GBPS
// (GB = 10^9 bytes; wall-clock throughput; CPU_GBPS is bytes per CPU-second of the whole process,
// median, which shows the work done independently of other load on the machine).
// File-based benchmarks read the file through the page cache on every run (warm it first);
// codec benchmarks work per 64 KiB chunk on the first 256 MiB held in memory.
// scripts/bench-hotpath runs this next to `openssl speed` and prints the ratios.
import Foundation
import TroveCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-hotpath: \(message)\n".utf8))
    exit(2)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of the whole process (all threads), in seconds.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// Wall-clock and CPU throughput samples (GB/s).
struct Samples {
    var wall: [Double] = []
    var cpu: [Double] = []
}

/// Runs `body` `runs` times; each returns the bytes it processed.
func measure(runs: Int, _ body: () throws -> UInt64) rethrows -> Samples {
    var samples = Samples()
    for _ in 0..<runs {
        let c0 = cpuTime()
        let t0 = now()
        let bytes = try body()
        let t1 = now()
        let c1 = cpuTime()
        samples.wall.append(Double(bytes) / (t1 - t0) / 1e9)
        samples.cpu.append(Double(bytes) / max(c1 - c0, 1e-9) / 1e9)
    }
    return samples
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func report(_ name: String, _ samples: Samples) {
    let s = samples.wall.sorted()
    print(
        name + String(format: "\t%.3f\t%.3f\t%.3f\t%.3f", median(s), s.first!, s.last!, median(samples.cpu)))
    fflush(nil)
}

/// Reads the file sequentially in 4 MiB blocks, calling `body` on each.
func readFile(_ path: String, block: Int = 4 << 20, _ body: (UnsafeRawBufferPointer) -> Void) throws -> UInt64
{
    let source = try FileByteSource(path: path)
    let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: block, alignment: 64)
    defer { buffer.deallocate() }
    var total: UInt64 = 0
    while true {
        let n = try source.read(into: buffer)
        if n == 0 { break }
        body(UnsafeRawBufferPointer(rebasing: buffer[0..<n]))
        total += UInt64(n)
    }
    return total
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    fail("usage: bench-hotpath generate PATH SIZE [SEED] | measure PATH [--runs N] [--only a,b]")
}

switch args[1] {
case "generate":
    guard args.count >= 4, let size = try? ByteSize.parse(args[3]) else { fail("generate PATH SIZE [SEED]") }
    let seed = args.count >= 5 ? UInt64(args[4]) ?? 1 : 1
    guard
        let out = FileHandle(forWritingAtPath: args[2])
            ?? {
                _ = FileManager.default.createFile(atPath: args[2], contents: nil)
                return FileHandle(forWritingAtPath: args[2])
            }()
    else { fail("cannot create \(args[2])") }
    try out.truncate(atOffset: 0)
    var g = SplitMix64(seed: seed)
    var block = [UInt8](repeating: 0, count: 8 << 20)
    var remaining = size
    while remaining > 0 {
        let n = min(remaining, block.count)
        block.withUnsafeMutableBytes { g.fill(UnsafeMutableRawBufferPointer(rebasing: $0[0..<n])) }
        out.write(Data(block[0..<n]))
        remaining -= n
    }
    try out.close()

case "measure":
    let path = args[2]
    var runs = 5
    var only: Set<String>? = nil
    var i = 3
    while i < args.count {
        switch args[i] {
        case "--runs":
            i += 1
            runs = Int(args[i]) ?? 5
        case "--only":
            i += 1
            only = Set(args[i].split(separator: ",").map(String.init))
        default: fail("unknown option \(args[i])")
        }
        i += 1
    }
    func wanted(_ name: String) -> Bool { only == nil || only!.contains(name) }
    let p = ChunkerParameters.default
    do {
        // Warm the page cache.
        _ = try readFile(path) { _ in }
        if wanted("read") { report("read", try measure(runs: runs) { try readFile(path) { _ in } }) }
        if wanted("sha256") {
            let h = SHA256()
            report(
                "sha256",
                try measure(runs: runs) {
                    let n = try readFile(path) { h.update($0) }
                    _ = h.finalize()
                    return n
                })
        }
        if wanted("chunk") {
            report(
                "chunk",
                try measure(runs: runs) {
                    let c = try StreamingChunker(source: FileByteSource(path: path), parameters: p)
                    var total: UInt64 = 0
                    while let chunk = try c.next() { total += UInt64(chunk.bytes.count) }
                    return total
                })
        }
        if wanted("chunk-memory") {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(1 << 30))
            let cdc = try FastCDC(p)
            report(
                "chunk-memory",
                measure(runs: runs) {
                    data.withUnsafeBytes { raw in
                        let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self)
                        var offset = 0
                        while offset < raw.count {
                            offset += cdc.cut(base + offset, count: raw.count - offset)
                        }
                        return UInt64(offset)
                    }
                })
        }
        // Chunk digests of the first 256 MiB's FastCDC chunks, one thread: two chunks per pass
        // (the longer one's excess on one stream) against two lanes that refill as chunks end.
        if wanted("digests-pairs") || wanted("digests-lanes") {
            let data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(256 << 20))
            let cdc = try FastCDC(p)
            let pair = SHA256Pair()
            data.withUnsafeBytes { raw in
                var chunks: [UnsafeRawBufferPointer] = []
                var offset = 0
                while offset < raw.count {
                    let base = raw.baseAddress!.assumingMemoryBound(to: UInt8.self) + offset
                    let n = cdc.cut(base, count: raw.count - offset)
                    chunks.append(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + n]))
                    offset += n
                }
                let none = UnsafeRawBufferPointer(start: nil, count: 0)
                if wanted("digests-pairs") {
                    report(
                        "digests-pairs",
                        measure(runs: runs) {
                            var i = 0
                            while i < chunks.count {
                                _ = pair.hash(chunks[i], i + 1 < chunks.count ? chunks[i + 1] : none)
                                i += 2
                            }
                            return UInt64(raw.count)
                        })
                }
                if wanted("digests-lanes") {
                    report(
                        "digests-lanes",
                        measure(runs: runs) {
                            precondition(pair.digests(of: chunks).count == chunks.count)
                            return UInt64(raw.count)
                        })
                }
            }
        }
        for threads in [1, 2] where wanted("chunk+digests-\(threads)t") {
            report(
                "chunk+digests-\(threads)t",
                try measure(runs: runs) {
                    try Ingest.file(at: path, parameters: p, threads: threads, blobDigest: false).size
                })
        }
        for threads in [1, 2] where wanted("ingest-\(threads)t") {
            report(
                "ingest-\(threads)t",
                try measure(runs: runs) { try Ingest.file(at: path, parameters: p, threads: threads).size })
        }
        // Codecs: per 64 KiB chunk, independent frames, as packs store them.
        let codecBytes = 256 << 20
        let random = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)).prefix(codecBytes))
        var g = SplitMix64(seed: 99)
        let words = ["tensor", "weight", "bias", "layer", "norm", "attention", "float16", "shape", "dtype"]
        var text: [UInt8] = []
        text.reserveCapacity(random.count)
        while text.count < random.count {
            text.append(contentsOf: words[Int(g.next() % UInt64(words.count))].utf8)
            text.append(g.next() % 8 == 0 ? 10 : 32)
        }
        text = Array(text.prefix(random.count))
        for (kind, data) in [("incompressible", random), ("compressible", text)] {
            for codec in [Codec.zstd, .lz4] {
                let name = "\(codec)-\(kind)"
                guard wanted("\(name)-compress") || wanted("\(name)-decompress") else { continue }
                let compressor = ChunkCompressor(codec: codec)
                let chunk = 64 << 10
                var stored: [(Codec, [UInt8])] = []
                data.withUnsafeBytes { raw in
                    var o = 0
                    while o < raw.count {
                        let n = min(chunk, raw.count - o)
                        stored.append(
                            compressor.compress(UnsafeRawBufferPointer(rebasing: raw[o..<o + n])) {
                                ($0, Array($1))
                            })
                        o += n
                    }
                }
                if wanted("\(name)-compress") {
                    report(
                        "\(name)-compress",
                        measure(runs: runs) {
                            data.withUnsafeBytes { raw in
                                var o = 0
                                var sink = 0
                                while o < raw.count {
                                    let n = min(chunk, raw.count - o)
                                    sink &+= compressor.compress(
                                        UnsafeRawBufferPointer(rebasing: raw[o..<o + n])
                                    ) { $1.count }
                                    o += n
                                }
                                precondition(sink > 0)
                                return UInt64(raw.count)
                            }
                        })
                }
                if wanted("\(name)-decompress") {
                    let d = ChunkDecompressor()
                    let out = UnsafeMutableRawBufferPointer.allocate(byteCount: chunk, alignment: 64)
                    defer { out.deallocate() }
                    report(
                        "\(name)-decompress",
                        try measure(runs: runs) {
                            var total = 0
                            var o = 0
                            for (used, bytes) in stored {
                                let n = min(chunk, data.count - o)
                                try bytes.withUnsafeBytes {
                                    try d.decompress(
                                        $0, codec: used,
                                        into: UnsafeMutableRawBufferPointer(rebasing: out[0..<n]))
                                }
                                total += n
                                o += n
                            }
                            return UInt64(total)
                        })
                }
            }
        }
    } catch {
        fail("\(error)")
    }

default:
    fail("unknown command \(args[1]); use generate or measure")
}
