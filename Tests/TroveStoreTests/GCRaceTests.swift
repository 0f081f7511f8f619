import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// GC running in a loop while several pushers push, reuse each other's chunks, retire old
/// versions, and (some of them) ask HAS long before they commit.
@Suite("GC racing pushers", .serialized)
struct GCRaceTests {
    final class Shared: @unchecked Sendable {
        let lock = NSLock()
        var live: [(String, String, Digest)] = []
        var errors: [String] = []
        var missingAnswers = 0
        var commits = 0
        func add(_ e: String) { lock.withLock { errors.append(e) } }
    }

    /// One push the way troved runs it: (lease) → HAS → PUT missing → [delay] → COMMIT, re-PUT on
    /// missing → CREATE_VERSION.
    static func push(
        _ store: Store, _ content: [UInt8], name: String, version: String, lease: Bool, delay: Bool,
        _ shared: Shared
    ) throws -> Digest {
        let (chunks, recipe) = makeBlob(content)
        let l = lease ? try store.beginLease(name: name, seconds: 600) : nil
        defer { if let l { try? store.endLease(id: l.id) } }
        let missing = Set(try store.missing(chunks.map(\.digest)))
        try store.touch(chunks.map(\.digest).filter { !missing.contains($0) })
        _ = try store.putChunks(chunks.filter { missing.contains($0.digest) })
        if delay { usleep(UInt32.random(in: 1000...20_000)) }  // a GC may run here
        let tree = Tree(entries: [.file("f.bin", blob: recipe.blobDigest, size: recipe.size)])
        for _ in 0..<20 {
            switch try store.commit(recipes: [recipe], tree: tree) {
            case .committed(let t):
                _ = try store.createVersion(name: name, version: version, tree: t, creator: "race")
                shared.lock.withLock { shared.commits += 1 }
                return t
            case .missing(let m):
                shared.lock.withLock { shared.missingAnswers += 1 }
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
        let store = try Store.create(at: root, options: StoreOptions(packSize: 192 << 10))
        var seedRng = TestRandom(seed: 99)
        let pool = (0..<48).map { _ in seedRng.bytes(4096) }  // chunks many versions share
        let shared = Shared()
        let stop = NSCondition()
        nonisolated(unsafe) var done = false
        nonisolated(unsafe) var gcRuns = 0
        nonisolated(unsafe) var freed = 0
        let gc = Thread {
            while !stop.withLock({ done }) {
                do {
                    let r = try store.collectGarbage(
                        GCOptions(graceSeconds: 0, packRemovalDelay: 0, batchSize: 50, leaseSlackSeconds: 0))
                    gcRuns += 1
                    freed += r.chunksFreed
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
                        shared.lock.withLock { shared.live.append(("p\(p)", version, t)) }
                        mine.append(version)
                        // Keep the two newest versions of this pusher; retire the rest.
                        if mine.count > 2 {
                            let old = mine.removeFirst()
                            try store.retireVersion(name: "p\(p)", version: old, actor: "race")
                            shared.lock.withLock { shared.live.removeAll { $0.0 == "p\(p)" && $0.1 == old } }
                        }
                    } catch {
                        shared.add("pusher \(p) round \(round): \(error)")
                    }
                }
            }.start()
        }
        group.wait()
        stop.withLock { done = true }
        while gc.isExecuting { usleep(10_000) }
        #expect(shared.errors.isEmpty, "\(shared.errors.prefix(5))")
        #expect(shared.commits == pushers * rounds)
        print(
            "GC race: \(gcRuns) GC runs freed \(freed) chunks; \(shared.commits) commits, "
                + "\(shared.missingAnswers) answered missing")
        #expect(gcRuns >= 3)
        #expect(freed > 0)
        // Every live version is fully readable, and the store is consistent.
        for (_, _, t) in shared.live { try verifyTreeReadable(store, t) }
        #expect(try store.fsck(deep: true).isClean)
        // After a final GC only what the live versions need remains.
        _ = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        var needed = Set<Digest>()
        for (_, _, t) in shared.live {
            for e in try store.readTree(t).entries {
                for c in try #require(try store.recipe(forBlob: e.blob!)).chunks { needed.insert(c.digest) }
            }
        }
        #expect(try store.stats().chunkCount == needed.count)
        #expect(try store.fsck(deep: true).isClean)
    }
}
