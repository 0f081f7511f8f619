import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

/// Bytes of every pack file under the store root (what `du` would see).
func packDiskBytes(_ root: String) -> Int {
    var total = 0
    let fm = FileManager.default
    guard let e = fm.enumerator(atPath: root + "/packs") else { return 0 }
    for case let p as String in e where p.hasSuffix(".pack") {
        total += ((try? fm.attributesOfItem(atPath: root + "/packs/" + p)[.size]) as? Int) ?? 0
    }
    return total
}

/// Reads every chunk of every file of `tree` and checks each blob digest.
func verifyTreeReadable(_ store: Store, _ tree: Digest) throws {
    let t = try store.readTree(tree)
    for e in t.entries where e.kind == .file {
        guard let recipe = try store.recipe(forBlob: e.blob!) else {
            throw StoreError.invalidCommit("no recipe for \(e.path)")
        }
        let sha = SHA256()
        for c in recipe.chunks { sha.update(try store.readChunk(c.digest)) }
        guard sha.finalize() == recipe.blobDigest else { throw StoreError.invalidCommit("blob mismatch") }
    }
}

/// GC options for tests: no grace, no pack-removal delay.
let immediateGC = GCOptions(graceSeconds: 0, packRemovalDelay: 0)

/// A GC with no grace, started at least 2 ms after whatever the test did last (timestamps are
/// milliseconds, and rows created in the GC's first millisecond are not collectable).
func gcNow(_ store: Store) throws -> GCResult {
    usleep(2000)
    return try store.collectGarbage(immediateGC)
}

@Suite("GC", .serialized)
struct GCTests {
    func makeStore(packSize: Int = 256 << 10) throws -> (Store, String) {
        let root = tempStorePath("gc")
        let store = try createStore(at: root, options: StoreOptions(packSize: packSize))
        return (store, root)
    }

    @Test("retire + GC frees the retired version's chunks and disk space; the rest stays readable")
    func reclaimsRetired() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 1)
        let shared = rng.bytes(64 << 10)
        let a = shared + rng.bytes(600 << 10)
        let b = shared + rng.bytes(300 << 10)
        let ta = try storeFile(store, path: "a.bin", a)
        let tb = try storeFile(store, path: "b.bin", b)
        _ = try store.createVersion(name: "m", version: "1", tree: ta, creator: "t")
        _ = try store.createVersion(name: "m", version: "2", tree: tb, creator: "t")
        let before = packDiskBytes(root)
        let chunksBefore = try store.stats().chunkCount

        // Nothing unreachable yet.
        let r0 = try gcNow(store)
        #expect(r0.chunksFreed == 0)
        #expect(try store.stats().chunkCount == chunksBefore)

        try store.retireVersion(name: "m", version: "1", actor: "t")
        let r = try gcNow(store)
        #expect(r.chunksFreed == 600 / 4)
        #expect(r.blobsFreed == 1)
        #expect(r.treesFreed == 1)
        #expect(r.objectsFreed == 2)
        #expect(r.diskBytesFreed > 0)
        #expect(try store.stats().chunkCount == chunksBefore - 150)
        #expect(packDiskBytes(root) < before - (400 << 10))
        #expect(try store.fsck(deep: true).isClean)
        try verifyTreeReadable(store, tb)
        #expect(try !store.hasTree(ta))

        // Converges: a second run frees nothing.
        let again = try gcNow(store)
        #expect(again.chunksFreed == 0 && again.packsRewritten == 0 && again.packsDeleted == 0)
    }

    @Test("--dry-run reports what would be freed and changes nothing")
    func dryRun() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 2)
        let ta = try storeFile(store, rng.bytes(400 << 10))
        _ = try store.createVersion(name: "m", version: "1", tree: ta, creator: "t")
        try store.retireVersion(name: "m", version: "1", actor: "t")
        let statsBefore = try store.stats()
        let diskBefore = packDiskBytes(root)
        var o = immediateGC
        o.dryRun = true
        usleep(2000)
        let r = try store.collectGarbage(o)
        #expect(r.dryRun)
        #expect(r.chunksFreed == 100)
        #expect(r.blobsFreed == 1 && r.treesFreed == 1)
        #expect(r.diskBytesFreed > 0)
        #expect(try store.stats() == statsBefore)
        #expect(packDiskBytes(root) == diskBefore)
        #expect(try store.hasTree(ta))
        // And the real run frees what the dry run announced.
        let real = try gcNow(store)
        #expect(real.chunksFreed == r.chunksFreed)
        #expect(try store.fsck().isClean)
    }

    @Test("the grace period and live leases protect recent, unreferenced chunks")
    func graceAndLeases() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 3)
        let (chunks, _) = makeBlob(rng.bytes(64 << 10))
        _ = try store.putChunks(chunks)
        let r = try store.collectGarbage(GCOptions(graceSeconds: 3600, packRemovalDelay: 0))
        #expect(r.chunksFreed == 0)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        let r2 = try gcNow(store)
        #expect(r2.chunksFreed == 0)
        #expect(r2.liveLeases == 1)
        // The report says what the lease pins: these unreferenced chunks, and their bytes.
        let pin = try #require(r2.leases.first)
        #expect(pin.name == "m" && pin.expires > pin.created)
        #expect(pin.pinnedChunks == chunks.count)
        #expect(pin.pinnedBytes == Int64(chunks.map(\.bytes.count).reduce(0, +)))
        #expect(try upload.end())
        let r3 = try gcNow(store)
        #expect(r3.chunksFreed == chunks.count)
        #expect(try store.missing(chunks.map(\.digest)).count == chunks.count)
    }

    @Test("HAS said present before GC, commit after: COMMIT_MISSING, then a re-PUT commits intact data")
    func hasBeforeGCCommitAfter() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 4)
        let content = rng.bytes(128 << 10)
        let (chunks, recipe) = makeBlob(content)
        _ = try store.putChunks(chunks)  // e.g. left over from an abandoned push
        #expect(try store.missing(chunks.map(\.digest)).isEmpty)  // HAS: all present
        usleep(3000)  // created strictly before the GC starts (millisecond timestamps)
        _ = try gcNow(store)  // no lease, no grace: collected
        let tree = Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])
        guard case .missing(let m) = try store.commit(recipes: [recipe], tree: tree) else {
            Issue.record("commit must not succeed over collected chunks")
            return
        }
        #expect(Set(m) == Set(chunks.map(\.digest)))
        _ = try store.putChunks(chunks)
        guard case .committed(let t) = try store.commit(recipes: [recipe], tree: tree) else {
            Issue.record("commit after re-PUT failed")
            return
        }
        _ = try store.createVersion(name: "m", version: "1", tree: t, creator: "t")
        try verifyTreeReadable(store, t)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("with a live lease, chunks seen by HAS survive a GC and the commit succeeds")
    func leaseProtectsPush() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 5)
        let (chunks, recipe) = makeBlob(rng.bytes(128 << 10))
        _ = try store.putChunks(chunks)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        #expect(try upload.has(.chunk, chunks.map(\.digest)).allSatisfy { $0 })
        let tree = Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])
        #expect(try upload.putObjects([wholeObject(recipe), wholeObject(tree)]) == 2)
        let r = try gcNow(store)
        #expect(r.chunksFreed == 0)
        guard case .committed(let t, _, _) = try upload.commit(tree: SHA256.hash(tree.canonicalBytes)) else {
            Issue.record("commit under a lease must succeed")
            return
        }
        _ = try upload.createVersion(name: "m", version: "1", tree: t, creator: "t")
        try upload.end()
        _ = try gcNow(store)
        try verifyTreeReadable(store, t)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a GC that deletes between a commit's checks and its final transaction makes it answer missing")
    func gcInsideCommit() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 6)
        let (chunks, recipe) = makeBlob(rng.bytes(64 << 10))
        _ = try store.putChunks(chunks)
        let tree = Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])
        usleep(3000)  // created strictly before the GC starts (millisecond timestamps)
        let freed = Mutex(0)
        MaintenanceTestHooks.beforeCommitFinal = { s in
            guard s === store else { return }
            MaintenanceTestHooks.beforeCommitFinal = nil
            let n = (try? store.collectGarbage(immediateGC))?.chunksFreed ?? -1
            freed.withLock { $0 = n }
        }
        defer { MaintenanceTestHooks.beforeCommitFinal = nil }
        let outcome = try store.commit(recipes: [recipe], tree: tree)
        #expect(freed.withLock { $0 } == chunks.count)
        guard case .missing(let m) = outcome else {
            Issue.record("commit registered a tree whose chunks were collected")
            return
        }
        #expect(m.count == chunks.count)
        #expect(try !store.hasTree(SHA256.hash(tree.canonicalBytes)))
        #expect(try store.fsck().isClean)
    }

    @Test("a reused blob's tree committed during a GC keeps its chunks (roots are marked before deletes)")
    func commitDuringSweepKeepsReusedBlob() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 7)
        let content = rng.bytes(64 << 10)
        let t1 = try storeFile(store, path: "a", content)
        _ = try store.createVersion(name: "m", version: "1", tree: t1, creator: "t")
        try store.retireVersion(name: "m", version: "1", actor: "t")
        // While GC is between mark and sweep, a new tree reusing the old blob is committed.
        let recipe = try #require(try store.recipe(forBlob: SHA256.hash(content)))
        let tree2 = Tree(entries: [.file("b", blob: recipe.blobDigest, size: recipe.size)])
        let committed = Mutex<Digest?>(nil)
        MaintenanceTestHooks.gcPhase = { s, phase in
            guard s === store, phase == "sweep-trees" else { return }
            MaintenanceTestHooks.gcPhase = nil
            if case .committed(let t)? = try? store.commit(recipes: [], tree: tree2) {
                committed.withLock { $0 = t }
                _ = try? store.createVersion(name: "m", version: "2", tree: t, creator: "t")
            }
        }
        defer { MaintenanceTestHooks.gcPhase = nil }
        let r = try gcNow(store)
        let t2 = try #require(committed.withLock { $0 })
        #expect(r.chunksFreed == 0)
        try verifyTreeReadable(store, t2)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("one GC at a time: a second one gets busy")
    func busy() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        let second = Mutex<MaintenanceError?>(nil)
        MaintenanceTestHooks.gcPhase = { s, phase in
            guard s === store, phase == "mark" else { return }
            MaintenanceTestHooks.gcPhase = nil
            do { _ = try store.collectGarbage(immediateGC) } catch {
                second.withLock { $0 = error as? MaintenanceError }
            }
        }
        defer { MaintenanceTestHooks.gcPhase = nil }
        _ = try gcNow(store)
        #expect(second.withLock { $0 } == .busy(running: "GC"))
        // And the lock is released afterwards.
        _ = try gcNow(store)
    }

    @Test("sparse packs are rewritten: disk space returns, survivors stay readable")
    func rewritesSparsePacks() throws {
        let root = tempStorePath("gc")
        defer { cleanup(root) }
        var keep: [Digest] = []
        do {
            let store = try createStore(at: root, options: StoreOptions(packSize: 256 << 10))
            try rewriteScenario(store, root, &keep)
        }
        let reopened = try openStore(at: root)
        for t in keep { try verifyTreeReadable(reopened, t) }
        #expect(try reopened.fsck(deep: true).isClean)
    }

    func rewriteScenario(_ store: Store, _ root: String, _ keep: inout [Digest]) throws {
        var rng = TestRandom(seed: 8)
        // Interleave keep/drop files in the same packs.
        var drop: [(String, String)] = []
        for i in 0..<8 {
            let t = try storeFile(store, path: "f\(i)", rng.bytes(96 << 10))
            _ = try store.createVersion(name: "m", version: "\(i)", tree: t, creator: "t")
            if i % 4 == 0 { keep.append(t) } else { drop.append(("m", "\(i)")) }
        }
        for (n, v) in drop { try store.retireVersion(name: n, version: v, actor: "t") }
        let before = packDiskBytes(root)
        let r = try gcNow(store)
        #expect(r.packsRewritten >= 1)
        #expect(r.diskBytesFreed > 0)
        #expect(packDiskBytes(root) <= before - Int(r.diskBytesFreed) + 4096)
        for t in keep { try verifyTreeReadable(store, t) }
        #expect(try store.fsck(deep: true).isClean)
    }
}
