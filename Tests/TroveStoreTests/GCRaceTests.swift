import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

/// GC running in a loop while several pushers push, reuse each other's chunks, retire old
/// versions, and (some of them) ask HAS long before they commit.
@Suite("GC racing pushers", .serialized)
struct GCRaceTests {
    struct Tally {
        var live: [(String, String, Digest)] = []
        var errors: [String] = []
        var missingAnswers = 0
        var commits = 0
    }
    final class Shared: Sendable {
        let lock = Mutex(Tally())
        func add(_ e: String) { lock.withLock { $0.errors.append(e) } }
        var tally: Tally { lock.withLock { $0 } }
    }

    /// One push the way troved runs it, through an upload session: HAS → PUT missing →
    /// PUT_OBJECTS → [delay] → COMMIT, re-PUT on missing → CREATE_VERSION → END. Without a lease
    /// (`lease: false`) the same steps run on the bare store, which nothing protects.
    static func push(
        _ store: Store, _ content: [UInt8], name: String, version: String, lease: Bool, delay: Bool,
        _ shared: Shared
    ) throws -> Digest {
        let (chunks, recipe) = makeBlob(content)
        let tree = Tree(entries: [.file("f.bin", blob: recipe.blobDigest, size: recipe.size)])
        guard lease else { return try pushUnprotected(store, chunks, recipe, tree, name, version, delay, shared) }
        let upload = try store.beginUpload(name: name, ttlSeconds: 600)
        defer { _ = try? upload.end() }
        let present = try upload.has(.chunk, chunks.map(\.digest))
        _ = try upload.putChunks(zip(chunks, present).filter { !$0.1 }.map(\.0))
        _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)])
        if delay { usleep(UInt32.random(in: 1000...20_000)) }  // a GC may run here
        for _ in 0..<20 {
            switch try upload.commit(tree: SHA256.hash(tree.canonicalBytes)) {
            case .committed(let t, _, _):
                _ = try upload.createVersion(name: name, version: version, tree: t, creator: "race")
                shared.lock.withLock { $0.commits += 1 }
                return t
            case .missingChunks(let m):
                shared.lock.withLock { $0.missingAnswers += 1 }
                let want = Set(m)
                _ = try upload.putChunks(chunks.filter { want.contains($0.digest) })
            case .missingObjects:
                shared.lock.withLock { $0.missingAnswers += 1 }
                _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)])
            }
        }
        throw StoreError.invalidCommit("commit kept answering missing")
    }

    static func pushUnprotected(
        _ store: Store, _ chunks: [ChunkInput], _ recipe: Recipe, _ tree: Tree, _ name: String, _ version: String,
        _ delay: Bool, _ shared: Shared
    ) throws -> Digest {
        let missing = Set(try store.missing(chunks.map(\.digest)))
        try store.touch(chunks.map(\.digest).filter { !missing.contains($0) })
        _ = try store.putChunks(chunks.filter { missing.contains($0.digest) })
        if delay { usleep(UInt32.random(in: 1000...20_000)) }  // a GC may run here
        for _ in 0..<20 {
            switch try store.commit(recipes: [recipe], tree: tree) {
            case .committed(let t):
                _ = try store.createVersion(name: name, version: version, tree: t, creator: "race")
                shared.lock.withLock { $0.commits += 1 }
                return t
            case .missing(let m):
                shared.lock.withLock { $0.missingAnswers += 1 }
                let want = Set(m)
                _ = try store.putChunks(chunks.filter { want.contains($0.digest) })
            }
        }
        throw StoreError.invalidCommit("commit kept answering missing")
    }

    @Test("zero reachable chunks lost over many rounds; garbage is reclaimed")
    func racing() throws {
        let root = tempStorePath("gcrace")
        defer { cleanup(root) }
        let store = try createStore(at: root, options: StoreOptions(packSize: 192 << 10))
        var seedRng = TestRandom(seed: 99)
        let pool = (0..<48).map { _ in seedRng.bytes(4096) }  // chunks many versions share
        let shared = Shared()
        let gcState = Mutex((done: false, stopped: false, runs: 0, freed: 0))
        let gc = Thread {
            defer { gcState.withLock { $0.stopped = true } }
            while !gcState.withLock({ $0.done }) {
                do {
                    let r = try store.collectGarbage(
                        GCOptions(graceSeconds: 0, packRemovalDelay: 0, batchSize: 50, leaseSlackSeconds: 0))
                    gcState.withLock {
                        $0.runs += 1
                        $0.freed += r.chunksFreed
                    }
                } catch {
                    shared.add("gc: \(error)")
                }
            }
        }
        gc.start()
        let pushers = 3
        let rounds = 25
        let group = DispatchGroup()
        for p in 0..<pushers {
            group.enter()
            Thread {
                defer { group.leave() }
                var rng = TestRandom(seed: UInt64(1000 + p))
                var mine: [String] = []
                for round in 0..<rounds {
                    var content: [UInt8] = []
                    for _ in 0..<12 {
                        if rng.next() % 3 == 0 {
                            content += rng.bytes(4096)
                        } else {
                            content += pool[Int(rng.next() % UInt64(pool.count))]
                        }
                    }
                    let version = "\(round)"
                    do {
                        let t = try GCRaceTests.push(
                            store, content, name: "p\(p)", version: version, lease: p != 0, delay: true,
                            shared)
                        shared.lock.withLock { $0.live.append(("p\(p)", version, t)) }
                        mine.append(version)
                        // Keep the two newest versions of this pusher; retire the rest.
                        if mine.count > 2 {
                            let old = mine.removeFirst()
                            try store.retireVersion(name: "p\(p)", version: old, actor: "race")
                            shared.lock.withLock { $0.live.removeAll { $0.0 == "p\(p)" && $0.1 == old } }
                        }
                    } catch {
                        shared.add("pusher \(p) round \(round): \(error)")
                    }
                }
            }.start()
        }
        group.wait()
        gcState.withLock { $0.done = true }
        while !gcState.withLock({ $0.stopped }) { usleep(10_000) }
        let tally = shared.tally
        let (gcRuns, freed) = gcState.withLock { ($0.runs, $0.freed) }
        #expect(tally.errors.isEmpty, "\(tally.errors.prefix(5))")
        #expect(tally.commits == pushers * rounds)
        print(
            "GC race: \(gcRuns) GC runs freed \(freed) chunks; \(tally.commits) commits, "
                + "\(tally.missingAnswers) answered missing")
        #expect(gcRuns >= 3)
        #expect(freed > 0)
        // Every live version is fully readable, and the store is consistent.
        for (_, _, t) in tally.live { try verifyTreeReadable(store, t) }
        #expect(try store.fsck(deep: true).isClean)
        // After a final GC only what the live versions need remains.
        _ = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        var needed = Set<Digest>()
        for (_, _, t) in tally.live {
            for e in try store.readTree(t).entries {
                for c in try #require(try store.recipe(forBlob: e.blob!)).chunks { needed.insert(c.digest) }
            }
        }
        #expect(try store.stats().chunkCount == needed.count)
        #expect(try store.fsck(deep: true).isClean)
    }
}
