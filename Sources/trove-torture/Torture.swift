import Foundation
import Synchronization
import TroveCore
import TroveStore

/// The writes of one crash-test run: three threads storing chunks, the calling thread committing
/// trees, creating versions and moving an alias, each acknowledged on standard output once durable.
final class Torture: Sendable {
    let store: Store
    let seed: UInt64
    /// Raw bytes of chunks this process stored (to build blobs from).
    private let stored = Mutex<[(Digest, [UInt8])]>([])
    /// Keeps acknowledgement lines whole across threads (and flushed before the next write).
    private let output = Mutex(())

    init(store: Store, seed: UInt64) {
        self.store = store
        self.seed = seed
    }

    /// Prints `lines` and flushes, as one block.
    private func ack(_ lines: [String]) {
        output.withLock { _ in say(lines.joined(separator: "\n")) }
    }

    /// Runs until killed (or a write fails: exit 3 or 4).
    func run() -> Never {
        ack(["READY"])
        for t in 0..<3 {
            Thread { [self] in writeChunks(UInt64(t)) }.start()
        }
        commitVersions()
    }

    private func writeChunks(_ id: UInt64) -> Never {
        var rng = SplitMix64(seed: seed &* 1000 &+ id)
        let compressor = ChunkCompressor(codec: .zstd)
        while true {
            var batch: [ChunkInput] = []
            var raws: [(Digest, [UInt8])] = []
            for _ in 0..<(1 + rng.below(8)) {
                // Some chunks repeat across processes (small seed space) to exercise duplicates.
                var r = rng.below(10) == 0 ? SplitMix64(seed: UInt64(rng.below(50))) : rng
                let raw = r.bytes(512 + r.below(6000), compressible: r.below(2) == 0)
                let d = SHA256.hash(raw)
                let (codec, stored) = compressor.compress(raw)
                batch.append(ChunkInput(digest: d, codec: codec, rawLength: raw.count, bytes: stored))
                raws.append((d, raw))
            }
            do {
                let result = try store.putChunks(batch)
                guard result.rejected.isEmpty else {
                    fail("rejected: \(result.rejected)", exit: 3)
                }
            } catch {
                fail("put failed: \(error)", exit: 3)
            }
            ack(raws.map { "CHUNK \($0.0.hex)" })
            stored.withLock { $0 += raws }
        }
    }

    /// Commits, versions and aliases (on the calling thread).
    private func commitVersions() -> Never {
        var rng = SplitMix64(seed: seed &* 7919)
        let name = "torture/s\(seed)"
        var versions: [String] = []
        var k = 0
        while true {
            usleep(UInt32(1000 + rng.below(5000)))
            let pool = stored.withLock { $0 }
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
                    fail("commit reported missing chunks that were acknowledged", exit: 4)
                }
                ack(["TREE \(t.hex)"])
                let v = "v\(k)"
                _ = try store.createVersion(
                    name: name, version: v, tree: t, creator: "torture", message: "k=\(k)",
                    metadata: ["k": "\(k)"],
                    parents: versions.last.map { [VersionKey(name: name, version: $0)] } ?? [])
                ack(["VERSION \(name) \(v) \(t.hex)"])
                versions.append(v)
                if rng.below(2) == 0 {
                    try store.setAlias(name: name, alias: "latest", version: v, actor: "torture")
                    ack(["ALIAS \(name) latest \(v)"])
                }
                k += 1
            } catch {
                fail("commit/version failed: \(error)", exit: 4)
            }
        }
    }
}

extension SplitMix64 {
    /// A value in `0..<n`.
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }

    /// `n` bytes: uppercase A–D when `compressible`, else one output's low byte each.
    mutating func bytes(_ n: Int, compressible: Bool) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: n)
        for i in 0..<n { out[i] = compressible ? UInt8(65 + below(4)) : UInt8(truncatingIfNeeded: next()) }
        return out
    }
}

/// Writes `line` and a newline to standard output at once (unbuffered: a line printed is out
/// before the process can be killed).
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Writes `message` to standard error and exits with `code`.
func fail(_ message: String, exit code: Int32) -> Never {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    exit(code)
}
