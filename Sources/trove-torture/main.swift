// trove-torture: the crash-test child. Opens (or creates) a store and writes chunks, commits
// and versions from several threads until it is killed, printing one line per acknowledged
// write (flushed before the next write starts):
//   CHUNK <hex>            chunk durable and indexed
//   TREE <hex>             commit durable
//   VERSION <name> <ver> <tree-hex>
//   ALIAS <name> <alias> <ver>
// Usage: trove-torture ROOT SEED [PACK_SIZE]; trove-torture gc-crash … (GCCrashMode.swift)
import Foundation
import TroveCore
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

struct Rng {
    var s: UInt64
    mutating func next() -> UInt64 {
        s &+= 0x9E37_79B9_7F4A_7C15
        var z = s
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
    mutating func bytes(_ n: Int, compressible: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n { out[i] = compressible ? UInt8(65 + below(4)) : UInt8(truncatingIfNeeded: next()) }
        return out
    }
}

let outLock = NSLock()
func ack(_ line: String) {
    outLock.lock()
    fputs(line + "\n", stdout)
    fflush(stdout)
    outLock.unlock()
}

let args = CommandLine.arguments
if args.count >= 2 && args[1] == "gc-crash" { runGCCrashMode(Array(args.dropFirst(2))) }
guard args.count >= 3, let seed = UInt64(args[2]) else {
    fputs("usage: trove-torture ROOT SEED [PACK_SIZE]\n", stderr)
    exit(2)
}
let root = args[1]
let packSize = args.count > 3 ? Int(args[3]) ?? 256 << 10 : 256 << 10
let options = StoreOptions(packSize: packSize)
let store: Store
do {
    store =
        FileManager.default.fileExists(atPath: root + "/trove.toml")
        ? try Store.open(at: root, options: options) : try Store.create(at: root, options: options)
} catch {
    fputs("open failed: \(error)\n", stderr)
    exit(1)
}
ack("READY")

/// Raw bytes of chunks this process stored (to build blobs from).
final class Shared: @unchecked Sendable {
    let lock = NSLock()
    var chunks: [(Digest, [UInt8])] = []
}
let shared = Shared()

@Sendable func writer(_ id: UInt64) {
    var rng = Rng(s: seed &* 1000 &+ id)
    let compressor = ChunkCompressor(codec: .zstd)
    while true {
        var batch: [ChunkInput] = []
        var raws: [(Digest, [UInt8])] = []
        for _ in 0..<(1 + rng.below(8)) {
            // Some chunks repeat across processes (small seed space) to exercise duplicates.
            var r = rng.below(10) == 0 ? Rng(s: UInt64(rng.below(50))) : rng
            let raw = r.bytes(512 + r.below(6000), compressible: r.below(2) == 0)
            let d = SHA256.hash(raw)
            let (codec, stored) = compressor.compress(raw)
            batch.append(ChunkInput(digest: d, codec: codec, rawLength: raw.count, bytes: stored))
            raws.append((d, raw))
        }
        do {
            let result = try store.putChunks(batch)
            guard result.rejected.isEmpty else {
                fputs("rejected: \(result.rejected)\n", stderr)
                exit(3)
            }
        } catch {
            fputs("put failed: \(error)\n", stderr)
            exit(3)
        }
        outLock.lock()
        for (d, _) in raws { fputs("CHUNK \(d.hex)\n", stdout) }
        fflush(stdout)
        outLock.unlock()
        shared.lock.withLock { shared.chunks += raws }
    }
}

for t in 0..<3 {
    let th = Thread { writer(UInt64(t)) }
    th.start()
}

// Main thread: commits, versions, aliases.
var rng = Rng(s: seed &* 7919)
let name = "torture/s\(seed)"
var versions: [String] = []
var k = 0
while true {
    usleep(UInt32(1000 + rng.below(5000)))
    let pool = shared.lock.withLock { shared.chunks }
    guard pool.count >= 2 else { continue }
    var content: [UInt8] = []
    var rc: [RecipeChunk] = []
    for _ in 0..<(1 + rng.below(4)) {
        let (d, raw) = pool[rng.below(pool.count)]
        content += raw
        rc.append(RecipeChunk(digest: d, length: UInt32(raw.count)))
    }
    let recipe = Recipe(blobDigest: SHA256.hash(content), size: UInt64(content.count), chunks: rc)
    let tree = Tree(entries: [
        .file("f\(k).bin", blob: recipe.blobDigest, size: recipe.size), .directory("empty\(rng.below(3))"),
    ])
    do {
        guard case .committed(let t) = try store.commit(recipes: [recipe], tree: tree) else {
            fputs("commit reported missing chunks that were acknowledged\n", stderr)
            exit(4)
        }
        ack("TREE \(t.hex)")
        let v = "v\(k)"
        _ = try store.createVersion(
            name: name, version: v, tree: t, creator: "torture", message: "k=\(k)", metadata: ["k": "\(k)"],
            parents: versions.last.map { [VersionKey(name: name, version: $0)] } ?? [])
        ack("VERSION \(name) \(v) \(t.hex)")
        versions.append(v)
        if rng.below(2) == 0 {
            try store.setAlias(name: name, alias: "latest", version: v, actor: "torture")
            ack("ALIAS \(name) latest \(v)")
        }
        k += 1
    } catch {
        fputs("commit/version failed: \(error)\n", stderr)
        exit(4)
    }
}
