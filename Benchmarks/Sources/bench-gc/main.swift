// bench-gc: GC and scrub benchmarks on large stores (used by ../scripts/bench-gc).
//
//   bench-gc populate ROOT [--chunks N] [--chunk-bytes B] [--chunks-per-blob K] [--blobs-per-version V]
//       N small random chunks through the store API, committed as blobs of K chunks, V blobs per
//       version; every second version is retired (about half the chunks become garbage).
//   bench-gc populate-bytes ROOT --bytes N [--text]   N bytes in 64 KiB chunks (random, or text + zstd)
//   bench-gc gc ROOT [--dry-run]        one GC (grace 0); JSON: phase times, peak RSS (total and anon)
//   bench-gc scrub ROOT                 one full scrub; JSON: bytes read, time, throughput
import Foundation
import TroveCore
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

struct SplitMix {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func fill(_ out: inout [UInt8]) {
        out.withUnsafeMutableBytes { b in
            var i = 0
            while i + 8 <= b.count {
                b.storeBytes(of: next(), toByteOffset: i, as: UInt64.self)
                i += 8
            }
            while i < b.count {
                b[i] = UInt8(truncatingIfNeeded: next())
                i += 1
            }
        }
    }
}

/// Peak resident memory, sampled from /proc/self/status every 20 ms while `body` runs.
final class MemorySampler: @unchecked Sendable {
    var peakAnonKB = 0
    var peakFileKB = 0
    var running = true
    let lock = NSLock()

    static func read() -> (anon: Int, file: Int) {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else {
            return (0, 0)
        }
        var anon = 0
        var file = 0
        for line in text.split(separator: "\n") {
            let f = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            if f.count >= 2, f[0] == "RssAnon:" { anon = Int(f[1]) ?? 0 }
            if f.count >= 2, f[0] == "RssFile:" { file = Int(f[1]) ?? 0 }
        }
        return (anon, file)
    }

    func sample() {
        let (a, f) = MemorySampler.read()
        lock.withLock {
            peakAnonKB = max(peakAnonKB, a)
            peakFileKB = max(peakFileKB, f)
        }
    }

    func start() {
        Thread {
            while self.lock.withLock({ self.running }) {
                self.sample()
                usleep(20_000)
            }
        }.start()
    }

    func stop() {
        sample()
        lock.withLock { running = false }
    }
}

func maxRSSKB() -> Int {
    var u = rusage()
    getrusage(RUSAGE_SELF.rawValue, &u)
    return u.ru_maxrss
}

func warn(_ s: String) { FileHandle.standardError.write(Data(s.utf8)) }

func option(_ args: [String], _ name: String) -> String? {
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

func emit(_ obj: [String: Any]) {
    let data = try! JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

let args = CommandLine.arguments
guard args.count >= 3 else {
    warn("usage: bench-gc populate|populate-bytes|gc|scrub ROOT [options]\n")
    exit(2)
}
let root = args[2]
let options = StoreOptions()

do {
    switch args[1] {
    case "populate":
        let n = Int(option(args, "--chunks") ?? "") ?? 1_000_000
        let size = Int(option(args, "--chunk-bytes") ?? "") ?? 64
        let perBlob = Int(option(args, "--chunks-per-blob") ?? "") ?? 1000
        let perVersion = Int(option(args, "--blobs-per-version") ?? "") ?? 100
        let t0 = now()
        let store = try Store.create(at: root, options: options)
        var rng = SplitMix(s: 12345)
        var made = 0
        var blobIndex = 0
        var files: [TreeEntry] = []
        var version = 0
        var recipes: [Recipe] = []
        while made < n {
            let k = min(perBlob, n - made)
            var inputs: [ChunkInput] = []
            var rc: [RecipeChunk] = []
            var content: [UInt8] = []
            var raw = [UInt8](repeating: 0, count: size)
            for _ in 0..<k {
                rng.fill(&raw)
                let d = SHA256.hash(raw)
                inputs.append(ChunkInput(digest: d, codec: .raw, rawLength: size, bytes: raw))
                rc.append(RecipeChunk(digest: d, length: UInt32(size)))
                content += raw
            }
            _ = try store.putChunks(inputs)
            made += k
            let recipe = Recipe(blobDigest: SHA256.hash(content), size: UInt64(content.count), chunks: rc)
            recipes.append(recipe)
            files.append(.file("blob\(blobIndex).bin", blob: recipe.blobDigest, size: recipe.size))
            blobIndex += 1
            if files.count == perVersion || made == n {
                guard case .committed(let t) = try store.commit(recipes: recipes, tree: Tree(entries: files))
                else {
                    warn("commit reported missing chunks\n")
                    exit(1)
                }
                _ = try store.createVersion(
                    name: "bench/gc", version: "v\(version)", tree: t, creator: "bench")
                if version % 2 == 1 {
                    try store.retireVersion(name: "bench/gc", version: "v\(version)", actor: "bench")
                }
                version += 1
                files = []
                recipes = []
            }
        }
        let st = try store.stats()
        emit([
            "op": "populate", "chunks": st.chunkCount, "packs": st.packCount, "versions": version,
            "seconds": now() - t0,
        ])
    case "populate-bytes":
        let total = Int(option(args, "--bytes") ?? "") ?? (1 << 30)
        let text = args.contains("--text")
        let t0 = now()
        let store = try Store.create(at: root, options: options)
        var rng = SplitMix(s: 777)
        let compressor = ChunkCompressor(codec: .zstd)
        let words = ["tensor ", "weight ", "bias ", "layer ", "epoch ", "0.125 ", "\n"].map { Array($0.utf8) }
        var done = 0
        var batch: [ChunkInput] = []
        var raw = [UInt8](repeating: 0, count: 64 << 10)
        while done < total {
            if text {
                var out: [UInt8] = []
                out.reserveCapacity(raw.count + 16)
                while out.count < raw.count { out += words[Int(rng.next() % UInt64(words.count))] }
                raw = Array(out.prefix(64 << 10))
            } else {
                rng.fill(&raw)
            }
            let d = SHA256.hash(raw)
            if text {
                let (codec, stored) = compressor.compress(raw)
                batch.append(ChunkInput(digest: d, codec: codec, rawLength: raw.count, bytes: stored))
            } else {
                batch.append(ChunkInput(digest: d, codec: .raw, rawLength: raw.count, bytes: raw))
            }
            done += raw.count
            if batch.count == 128 {
                _ = try store.putChunks(batch)
                batch = []
            }
        }
        if !batch.isEmpty { _ = try store.putChunks(batch) }
        let st = try store.stats()
        emit([
            "op": "populate-bytes", "rawBytes": st.uniqueRawBytes, "storedBytes": st.storedChunkBytes,
            "chunks": st.chunkCount, "seconds": now() - t0,
        ])
    case "gc":
        let store = try Store.open(at: root, options: options)
        let sampler = MemorySampler()
        sampler.start()
        let before = MemorySampler.read()
        let t0 = now()
        let r = try store.collectGarbage(
            GCOptions(dryRun: args.contains("--dry-run"), graceSeconds: 0, packRemovalDelay: 0))
        let seconds = now() - t0
        sampler.stop()
        emit([
            "op": "gc", "seconds": seconds, "durationsMs": r.durationsMs, "liveChunks": r.liveChunks,
            "chunksFreed": r.chunksFreed, "packsRewritten": r.packsRewritten, "packsDeleted": r.packsDeleted,
            "diskBytesFreed": r.diskBytesFreed, "rssAnonBeforeKB": before.anon,
            "peakRssAnonKB": sampler.peakAnonKB,
            "peakRssFileKB": sampler.peakFileKB, "maxRssKB": maxRSSKB(),
        ])
    case "scrub":
        let store = try Store.open(at: root, options: options)
        let st = try store.stats()
        let sampler = MemorySampler()
        sampler.start()
        let t0 = now()
        let r = try store.scrub(ScrubOptions(scope: .full))
        let seconds = now() - t0
        sampler.stop()
        emit([
            "op": "scrub", "seconds": seconds, "bytesRead": r.bytesRead, "rawBytes": st.uniqueRawBytes,
            "chunks": r.chunksChecked, "clean": r.clean, "readGBps": Double(r.bytesRead) / seconds / 1e9,
            "rawGBps": Double(st.uniqueRawBytes) / seconds / 1e9, "peakRssAnonKB": sampler.peakAnonKB,
        ])
    default:
        warn("unknown command \(args[1])\n")
        exit(2)
    }
} catch {
    warn("bench-gc: \(error)\n")
    exit(1)
}
