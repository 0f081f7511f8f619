// bench-store: store benchmarks, driven by ../../scripts/bench-store.
//
//   bench-store ingest FILE [--root DIR] [--threads N] [--codec zstd|lz4|raw] [--runs N]
//       Local ingest, file → store: Ingest (chunks + digests + blob digest), then N threads read,
//       compress and putChunks (verified, group commit) in ~4 MiB batches, then commit (which
//       re-reads every chunk to verify the blob digest). Prints per-phase and total GB/s
//       (median of runs, a fresh store each run).
//   bench-store lookup [--chunks N] [--queries Q] [--root DIR] [--runs N]
//       Builds a store with N chunks (tiny ones, so the index dominates), then asks `missing`
//       for Q digests (half present, half absent, shuffled). Prints digests/s (median).
import Foundation
import TroveCore
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU seconds (user + system) used by this process so far.
func cpuSeconds() -> Double {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return Double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) + Double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6
}

func median(_ xs: [Double]) -> Double {
    let s = xs.sorted()
    return s.isEmpty ? 0 : s[s.count / 2]
}

func option(_ name: String, _ def: String) -> String {
    let a = CommandLine.arguments
    if let i = a.firstIndex(of: name), i + 1 < a.count { return a[i + 1] }
    return def
}

func fail(_ m: String) -> Never {
    FileHandle.standardError.write(Data("bench-store: \(m)\n".utf8))
    exit(1)
}

func freshRoot(_ base: String) -> String {
    let root = base + "/bench-store-\(getpid())-\(Int(now() * 1000))"
    try? FileManager.default.removeItem(atPath: root)
    return root
}

final class Counter: @unchecked Sendable {
    private let lock = NSLock()
    private var next = 0
    func take() -> Int {
        lock.withLock {
            defer { next += 1 }
            return next
        }
    }
}

/// One ingest run; returns (ingest, store, commit) seconds.
func ingestOnce(
    file: String, base: String, threads: Int, codec: Codec
) -> (Double, Double, Double, StoreStats, [Double]) {
    let root = freshRoot(base)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store: Store
    do { store = try Store.create(at: root) } catch { fail("\(error)") }
    let params = store.config.chunking.parameters
    let c0 = cpuSeconds()
    let t0 = now()
    let result: IngestResult
    do { result = try Ingest.file(at: file, parameters: params, threads: 2) } catch { fail("\(error)") }
    let t1 = now()
    let c1 = cpuSeconds()
    // Batches of consecutive chunks of about 4 MiB.
    var batches: [Range<Int>] = []
    var start = 0
    var bytes = 0
    for (i, c) in result.chunks.enumerated() {
        bytes += c.length
        if bytes >= 4 << 20 {
            batches.append(start..<i + 1)
            start = i + 1
            bytes = 0
        }
    }
    if start < result.chunks.count { batches.append(start..<result.chunks.count) }
    let batchList = batches
    let counter = Counter()
    let failures = Counter()
    let group = DispatchGroup()
    for _ in 0..<threads {
        group.enter()
        let th = Thread {
            defer { group.leave() }
            let fd = open(file, O_RDONLY)
            defer { close(fd) }
            let compressor = ChunkCompressor(codec: codec, level: 3)
            var buffer = [UInt8]()
            while true {
                let b = counter.take()
                guard b < batchList.count else { return }
                let range = batchList[b]
                let first = result.chunks[range.lowerBound]
                let last = result.chunks[range.upperBound - 1]
                let length = Int(last.offset - first.offset) + last.length
                if buffer.count < length { buffer = [UInt8](repeating: 0, count: length) }
                let n = buffer.withUnsafeMutableBytes {
                    pread(fd, $0.baseAddress, length, off_t(first.offset))
                }
                guard n == length else {
                    _ = failures.take()
                    return
                }
                var inputs: [ChunkInput] = []
                inputs.reserveCapacity(range.count)
                buffer.withUnsafeBytes { all in
                    for c in result.chunks[range] {
                        let o = Int(c.offset - first.offset)
                        let raw = UnsafeRawBufferPointer(rebasing: all[o..<o + c.length])
                        compressor.compress(raw) { codec, stored in
                            inputs.append(
                                ChunkInput(
                                    digest: c.digest, codec: codec, rawLength: c.length, bytes: Array(stored))
                            )
                        }
                    }
                }
                do { _ = try store.putChunks(inputs) } catch {
                    _ = failures.take()
                    return
                }
            }
        }
        th.stackSize = 1 << 20
        th.start()
    }
    group.wait()
    if failures.take() > 0 { fail("store phase failed") }
    let t2 = now()
    let c2 = cpuSeconds()
    let recipe = Recipe(
        blobDigest: result.blobDigest, size: result.size,
        chunks: result.chunks.map { RecipeChunk(digest: $0.digest, length: UInt32($0.length)) })
    let name = URL(fileURLWithPath: file).lastPathComponent
    let tree = Tree(entries: [.file(name, blob: result.blobDigest, size: result.size)])
    do {
        guard case .committed = try store.commit(recipes: [recipe], tree: tree) else {
            fail("commit: missing chunks")
        }
    } catch { fail("commit: \(error)") }
    let t3 = now()
    let c3 = cpuSeconds()
    let stats = (try? store.stats())!
    return (t1 - t0, t2 - t1, t3 - t2, stats, [c1 - c0, c2 - c1, c3 - c2])
}

func runIngest() {
    let args = CommandLine.arguments
    guard args.count >= 3 else {
        fail("usage: bench-store ingest FILE [--root DIR] [--threads N] [--codec C]")
    }
    let file = args[2]
    let base = option("--root", FileManager.default.temporaryDirectory.path)
    let threads = Int(option("--threads", "2")) ?? 2
    let runs = Int(option("--runs", "3")) ?? 3
    guard let codec = Codec(name: option("--codec", "zstd")) else { fail("unknown codec") }
    var totals: [Double] = []
    var phases: [(Double, Double, Double)] = []
    var last: StoreStats? = nil
    var cpu: [[Double]] = []
    for _ in 0..<runs {
        let (a, b, c, s, u) = ingestOnce(file: file, base: base, threads: threads, codec: codec)
        totals.append(a + b + c)
        phases.append((a, b, c))
        cpu.append(u)
        last = s
    }
    let size = Double((try? FileManager.default.attributesOfItem(atPath: file)[.size] as? UInt64) ?? 0)
    let gb = size / 1e9
    let m = median(totals)
    print(String(format: "ingest_total_gbps %.3f", gb / m))
    print(String(format: "ingest_pass_gbps %.3f", gb / median(phases.map(\.0))))
    print(String(format: "store_phase_gbps %.3f", gb / median(phases.map(\.1))))
    print(String(format: "commit_verify_gbps %.3f", gb / median(phases.map(\.2))))
    // CPU seconds per GB (less sensitive to a busy machine than wall-clock).
    print(String(format: "cpu_seconds_per_gb_ingest_pass %.3f", median(cpu.map { $0[0] }) / gb))
    print(String(format: "cpu_seconds_per_gb_store_phase %.3f", median(cpu.map { $0[1] }) / gb))
    print(String(format: "cpu_seconds_per_gb_commit %.3f", median(cpu.map { $0[2] }) / gb))
    print(String(format: "cpu_seconds_per_gb_total %.3f", median(cpu.map { $0.reduce(0, +) }) / gb))
    if let s = last {
        print(String(format: "compression_ratio %.3f", s.compressionRatio))
        print("chunks \(s.chunkCount) packs \(s.packCount) pack_bytes \(s.packBytes)")
    }
}

func runLookup() {
    let base = option("--root", FileManager.default.temporaryDirectory.path)
    let chunks = Int(option("--chunks", "1000000")) ?? 1_000_000
    let queries = Int(option("--queries", "100000")) ?? 100_000
    let runs = Int(option("--runs", "5")) ?? 5
    let root = freshRoot(base)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let store: Store
    do { store = try Store.create(at: root) } catch { fail("\(error)") }
    func raw(_ i: Int) -> [UInt8] { withUnsafeBytes(of: UInt64(i).bigEndian) { Array($0) } + [0x54, 0x52] }
    let t0 = now()
    var i = 0
    var present: [Digest] = []
    present.reserveCapacity(chunks)
    while i < chunks {
        let n = min(20_000, chunks - i)
        var batch: [ChunkInput] = []
        batch.reserveCapacity(n)
        for k in i..<i + n {
            let r = raw(k)
            let d = SHA256.hash(r)
            present.append(d)
            batch.append(ChunkInput(digest: d, codec: .raw, rawLength: r.count, bytes: r))
        }
        do { _ = try store.putChunks(batch) } catch { fail("\(error)") }
        i += n
    }
    let built = now() - t0
    print(String(format: "build_seconds %.1f (%d chunks)", built, chunks))
    var rng = SplitMix64(seed: 42)
    var rates: [Double] = []
    for run in 0..<runs {
        var q: [Digest] = []
        q.reserveCapacity(queries)
        for k in 0..<queries {
            if k % 2 == 0 {
                q.append(present[Int(rng.next() % UInt64(present.count))])
            } else {
                q.append(SHA256.hash(raw(chunks + run * queries + k)))
            }
        }
        q.shuffle(using: &rng)
        let t = now()
        let missing: [Digest]
        do { missing = try store.missing(q) } catch { fail("\(error)") }
        let dt = now() - t
        guard missing.count == queries / 2 else { fail("wrong answer: \(missing.count) missing") }
        rates.append(Double(queries) / dt)
    }
    print(String(format: "missing_lookup_per_second %.0f", median(rates)))
    print(String(format: "missing_lookup_seconds_per_%d %.3f", queries, Double(queries) / median(rates)))
}

/// Writes SIZE bytes of compressible, non-repeating text (pseudo-words and numbers).
func runGenText() {
    let args = CommandLine.arguments
    guard args.count >= 4, let size = Int(args[3]) else { fail("usage: bench-store gen-text FILE BYTES") }
    var rng = SplitMix64(seed: 7)
    let letters = Array("etaoinshrdlcumwfgypbvkjxqz".utf8)
    let vocab: [[UInt8]] = (0..<4096).map { _ in
        (0..<(2 + Int(rng.next() % 9))).map { _ in letters[Int(min(rng.next() % 40, 25))] }
    }
    guard let out = fopen(args[2], "wb") else { fail("cannot write \(args[2])") }
    var buf: [UInt8] = []
    buf.reserveCapacity(1 << 20 + 64)
    var written = 0
    while written < size {
        buf.removeAll(keepingCapacity: true)
        while buf.count < 1 << 20 {
            let r = rng.next()
            // Skewed word frequencies (a few words are common), like natural text or logs.
            buf += vocab[Int(min(r % 4096, (r >> 12) % 4096, (r >> 24) % 4096, (r >> 36) % 4096))]
            switch (r >> 48) % 16 {
            case 0: buf += Array(String(r >> 40).utf8) + [0x2C, 0x20]
            case 1: buf += [0x2E, 0x0A]
            default: buf.append(0x20)
            }
        }
        let n = min(buf.count, size - written)
        _ = buf.withUnsafeBytes { fwrite($0.baseAddress, 1, n, out) }
        written += n
    }
    fclose(out)
}

switch CommandLine.arguments.dropFirst().first {
case "gen-text": runGenText()
case "ingest": runIngest()
case "lookup": runLookup()
default: fail("usage: bench-store ingest FILE ... | bench-store lookup ...")
}
