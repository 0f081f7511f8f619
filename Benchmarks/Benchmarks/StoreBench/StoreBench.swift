// package-benchmark suite for TroveStore. Run from Benchmarks/:
//   swift package benchmark --target StoreBench
// scripts/bench-store measures local ingest on 1 GiB files (as ratios to `openssl speed`) and
// the missing-lookup rate on a 1M-chunk store with bench-store.
import Benchmark
import Foundation
import TroveCore
import TroveStore

func benchRoot() -> String {
    FileManager.default.temporaryDirectory.path + "/storebench-\(getpid())-\(UUID().uuidString)"
}

/// `count` distinct tiny raw chunks (the index dominates, not the bytes).
func tinyChunks(_ range: Range<Int>) -> [ChunkInput] {
    range.map { i in
        let raw = withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) } + [0x53, 0x42]
        return ChunkInput(digest: SHA256.hash(raw), codec: .raw, rawLength: raw.count, bytes: raw)
    }
}

/// Hands out prepared batches in order.
final class BatchSource: @unchecked Sendable {
    private let batches: [[ChunkInput]]
    private var index = 0
    init(_ batches: [[ChunkInput]]) { self.batches = batches }
    func next() -> [ChunkInput] {
        defer { index += 1 }
        return batches[index % batches.count]
    }
}

let benchmarks: @Sendable () -> Void = {
    Benchmark.defaultConfiguration = .init(
        metrics: [.wallClock, .throughput, .cpuTotal, .peakMemoryResident],
        warmupIterations: 1,
        maxDuration: .seconds(5),
        maxIterations: 20
    )

    // A 100k-chunk store, queried with 10k digests (half present).
    Benchmark("missing(): 10k digests against 100k chunks") { (benchmark: Benchmark, store: Store) in
        let present = tinyChunks(0..<5000).map(\.digest)
        let absent = tinyChunks(1_000_000..<1_005_000).map(\.digest)
        let query = (present + absent).shuffled()
        benchmark.startMeasurement()
        for _ in benchmark.scaledIterations {
            do { blackHole(try store.missing(query)) } catch { fatalError("\(error)") }
        }
    } setup: {
        let root = benchRoot()
        let store = try Store.create(at: root)
        for start in stride(from: 0, to: 100_000, by: 20_000) {
            _ = try store.putChunks(tinyChunks(start..<start + 20_000))
        }
        return store
    }

    // putChunks of 64 chunks × 64 KiB (4 MiB) of compressible data: verify + one group commit.
    // Batches are prepared in setup (one fresh batch per iteration, never a duplicate).
    Benchmark(
        "putChunks: 4 MiB batch, zstd chunks, verified, durable",
        configuration: .init(warmupIterations: 0, maxIterations: 30)
    ) { (benchmark: Benchmark, setup: (Store, BatchSource)) in
        let (store, source) = setup
        for _ in benchmark.scaledIterations {
            do { blackHole(try store.putChunks(source.next())) } catch { fatalError("\(error)") }
        }
    } setup: {
        let compressor = ChunkCompressor(codec: .zstd)
        var g = SplitMix64(seed: 3)
        let batches: [[ChunkInput]] = (0..<40).map { _ in
            (0..<64).map { _ in
                let raw = TestInput.text.bytes(seed: g.next(), count: 64 << 10)
                let (codec, stored) = compressor.compress(raw)
                return ChunkInput(digest: SHA256.hash(raw), codec: codec, rawLength: raw.count, bytes: stored)
            }
        }
        return (try Store.create(at: benchRoot()), BatchSource(batches))
    }

    // readChunk: CRC, decompress, re-hash of one 64 KiB chunk.
    Benchmark("readChunk: 64 KiB zstd chunk, verified") { (benchmark: Benchmark, setup: (Store, [Digest])) in
        let (store, digests) = setup
        var i = 0
        for _ in benchmark.scaledIterations {
            do { blackHole(try store.readChunk(digests[i % digests.count])) } catch { fatalError("\(error)") }
            i += 1
        }
    } setup: {
        let store = try Store.create(at: benchRoot())
        let compressor = ChunkCompressor(codec: .zstd)
        let inputs: [ChunkInput] = (0..<64).map { k in
            let raw = TestInput.text.bytes(seed: UInt64(k), count: 64 << 10)
            let (codec, stored) = compressor.compress(raw)
            return ChunkInput(digest: SHA256.hash(raw), codec: codec, rawLength: raw.count, bytes: stored)
        }
        _ = try store.putChunks(inputs)
        return (store, inputs.map(\.digest))
    }
}
