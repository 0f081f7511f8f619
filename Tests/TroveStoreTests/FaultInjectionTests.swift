import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

/// I/O faults injected into the store's file layer (`FileFaults`): every write, fsync, rename
/// and read point in turn fails with EIO or ENOSPC while pushes run concurrently. Whatever
/// fails, nothing is acknowledged that is not durable (every acknowledged version reads back
/// byte-identical after a restart), no read returns bytes that fail their check, the store
/// reopens cleanly and fsck finds nothing wrong; a full disk (ENOSPC on a write) never makes
/// the store read-only.
@Suite("I/O fault injection")
struct FaultInjectionTests {
    /// One push: chunks, commit, version. Returns the content if the version was acknowledged.
    static func push(_ store: Store, name: String, _ content: [UInt8]) -> Bool {
        do {
            let (chunks, recipe) = makeBlob(content, chunkSize: 8192)
            // In two PUT batches, as a client would send them.
            let half = chunks.count / 2
            _ = try store.putChunks(Array(chunks[..<half]))
            _ = try store.putChunks(Array(chunks[half...]))
            let tree = Tree(entries: [.file("data.bin", blob: recipe.blobDigest, size: recipe.size)])
            guard case .committed(let t) = try store.commit(recipes: [recipe], tree: tree) else {
                return false
            }
            _ = try store.createVersion(name: name, version: "1", tree: t, creator: "test")
            return true
        } catch {
            return false
        }
    }

    /// The bytes of `name:1`, read back through the store's checked paths.
    static func content(_ store: Store, name: String) throws -> [UInt8] {
        let v = try #require(try store.version(name: name, version: "1"))
        let tree = try store.readTree(v.tree)
        let blob = try #require(tree.entries.first?.blob)
        let recipe = try #require(try store.recipe(forBlob: blob))
        var out: [UInt8] = []
        for c in recipe.chunks { out += try store.readChunk(c.digest) }
        return out
    }

    struct LoopCounts {
        var iterations = 0
        var faultsFired = 0
        var acknowledged = 0
        var refused = 0
        var readsChecked = 0
        var readOnlyAfterENOSPC = 0
    }

    @Test func everyFaultPointKeepsAcknowledgedDataAndRecovers() throws {
        var counts = LoopCounts()
        let ops = FileFaults.Operation.allCases
        for op in ops {
            for code in [EIO, ENOSPC] {
                for nth in [1, 3, 6] {
                    try runOne(FileFaults.Plan(op, nth: nth, errno: code), &counts)
                }
            }
        }
        print(
            "fault loop: \(counts.iterations) iterations, \(counts.faultsFired) faults fired, "
                + "\(counts.acknowledged) versions acknowledged and verified after restart, "
                + "\(counts.refused) pushes failed, \(counts.readsChecked) concurrent reads checked")
        #expect(counts.iterations == ops.count * 2 * 3)
        #expect(counts.faultsFired >= counts.iterations / 2, "most plans must hit a call")
        #expect(counts.readOnlyAfterENOSPC == 0)
    }

    private func runOne(_ plan: FileFaults.Plan, _ counts: inout LoopCounts) throws {
        let root = tempStorePath("fault")
        defer { cleanup(root) }
        let pushers = 4
        var rng = TestRandom(seed: UInt64(plan.nth) &* 31 &+ UInt64(plan.errno))
        let contents = (0..<pushers).map { _ in rng.bytes(40_000) + rng.text(30_000) }
        let base = rng.bytes(50_000)
        let acknowledged = Mutex<Set<Int>>([])
        let badReads = Mutex(0)
        let reads = Mutex(0)
        do {
            let store = try createStore(at: root, options: StoreOptions(packSize: 96 << 10))
            #expect(Self.push(store, name: "base", base), "before any fault")
            FileFaults.arm(plan, root: root)
            DispatchQueue.concurrentPerform(iterations: pushers + 1) { i in
                if i == pushers {
                    // A reader: whatever the faults, what it gets must pass its check.
                    for _ in 0..<5 {
                        if let bytes = try? Self.content(store, name: "base") {
                            reads.withLock { $0 += 1 }
                            if bytes != base { badReads.withLock { $0 += 1 } }
                        }
                    }
                    return
                }
                if Self.push(store, name: "p\(i)", contents[i]) { acknowledged.withLock { _ = $0.insert(i) } }
            }
            let fired = FileFaults.disarm(root: root)
            counts.faultsFired += fired
            if plan.errno == ENOSPC && plan.operation != .fsync && store.isReadOnly {
                counts.readOnlyAfterENOSPC += 1
                Issue.record("\(plan): ENOSPC made the store read-only")
            }
            if plan.errno == ENOSPC && plan.operation != .fsync && plan.operation != .read {
                // A full disk is not a durability failure: once space is back, pushes go on.
                #expect(Self.push(store, name: "after", rng.bytes(20_000)), "\(plan): no push after ENOSPC")
            }
        }
        counts.iterations += 1
        #expect(badReads.withLock { $0 } == 0, "\(plan): a read returned wrong bytes")
        counts.readsChecked += reads.withLock { $0 }
        // Restart: recovery, then every acknowledged version must read back exactly.
        let store = try openStore(at: root)
        #expect(!store.isReadOnly)
        #expect(try Self.content(store, name: "base") == base, "\(plan)")
        let acked = acknowledged.withLock { $0 }
        for i in acked {
            #expect(
                try Self.content(store, name: "p\(i)") == contents[i], "\(plan): p\(i) acknowledged but lost")
        }
        counts.acknowledged += acked.count
        counts.refused += pushers - acked.count
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(plan): \(report.violations)")
        #expect(Self.push(store, name: "restarted", rng.bytes(20_000)), "\(plan): no push after restart")
    }

    @Test func planSyntax() {
        #expect(FileFaults.Plan.parse("write:3:ENOSPC") == FileFaults.Plan(.write, nth: 3, errno: ENOSPC))
        #expect(
            FileFaults.Plan.parse("fsync:1:EIO:sticky")
                == FileFaults.Plan(.fsync, nth: 1, errno: EIO, sticky: true))
        for bad in ["", "write", "write:0:EIO", "seek:1:EIO", "read:1:EPERM", "read:1:EIO:x"] {
            #expect(FileFaults.Plan.parse(bad) == nil, "\(bad)")
        }
    }
}
