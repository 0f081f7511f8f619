import Foundation
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// SIGKILL a GC in each of its phases (and at random times), then restart: fsck is clean, every
/// live version reads back intact, and a GC run to completion converges (only what live versions
/// need remains; no retired or orphan pack left).
@Suite("GC crash safety", .serialized,
    .disabled(if: TestCatalog.onPostgres, "its child process (trove-torture) opens the SQLite catalog only"))
struct GCCrashTests {
    static let packSize = 64 << 10

    /// A store with shared and unshared data, half of its versions retired. Returns the live trees.
    func populate(_ root: String) throws -> [Digest] {
        let store = try createStore(at: root, options: StoreOptions(packSize: GCCrashTests.packSize))
        var rng = TestRandom(seed: 42)
        let shared = rng.bytes(24 << 10)
        var live: [Digest] = []
        for i in 0..<12 {
            let content = i % 3 == 0 ? shared + rng.bytes(40 << 10) : rng.text(20 << 10) + rng.bytes(30 << 10)
            let t = try storeFile(store, path: "f\(i)", content)
            _ = try store.createVersion(name: "c", version: "\(i)", tree: t, creator: "t")
            if i % 2 == 0 {
                live.append(t)
            } else {
                try store.retireVersion(name: "c", version: "\(i)", actor: "t")
            }
        }
        // Unreferenced leftovers of an abandoned push.
        _ = try store.putChunks(makeBlob(rng.bytes(20 << 10)).chunks)
        return live
    }

    func copyTree(_ from: String, _ to: String) throws {
        try FileManager.default.copyItem(atPath: from, toPath: to)
    }

    func runChild(_ binary: String, _ args: [String]) throws -> (status: Int32, signaled: Bool, out: String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: binary)
        p.arguments = args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (
            p.terminationStatus, p.terminationReason == .uncaughtSignal, String(decoding: data, as: UTF8.self)
        )
    }

    /// After a crash: consistent, live data intact; then GC converges.
    func checkAndConverge(_ root: String, live: [Digest], _ label: String) throws {
        let store = try openStore(at: root, options: StoreOptions(packSize: GCCrashTests.packSize))
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(label): \(report.violations.prefix(5))")
        for t in live { try verifyTreeReadable(store, t) }
        let r = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        #expect(try store.fsck(deep: true).isClean, "\(label): after rerun")
        for t in live { try verifyTreeReadable(store, t) }
        var needed = Set<Digest>()
        for t in live {
            for e in try store.readTree(t).entries where e.kind == .file {
                for c in try #require(try store.recipe(forBlob: e.blob!)).chunks { needed.insert(c.digest) }
            }
        }
        #expect(try store.stats().chunkCount == needed.count, "\(label): \(r)")
        let again = try store.collectGarbage(GCOptions(graceSeconds: 0, packRemovalDelay: 0))
        #expect(again.chunksFreed == 0 && again.blobsFreed == 0 && again.treesFreed == 0, "\(label)")
        // No pack file without a catalog row, no retired pack left behind.
        let (rows, pending): (Int, Int) = try store.catalog.read { db in
            (
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM packs") ?? -1,
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gc_retired_packs") ?? -1
            )
        }
        #expect(pending == 0, "\(label)")
        let files =
            (FileManager.default.enumerator(atPath: root + "/packs")?.compactMap { $0 as? String } ?? [])
            .filter { $0.hasSuffix(".pack") }.count
        #expect(files == rows, "\(label): \(files) pack files, \(rows) catalog rows")
    }

    @Test("SIGKILL in each GC phase, then restart: fsck clean, GC converges")
    func killInEachPhase() throws {
        guard let binary = tortureBinary() else {
            Issue.record("trove-torture not found; build all products or set TROVE_BIN_DIR")
            return
        }
        let base = tempStorePath("gccrash")
        defer { cleanup(base) }
        let pristine = base + "-pristine"
        defer { cleanup(pristine) }
        let live = try populate(pristine)
        let kills: [(String, Int)] = [
            ("mark", 1), ("candidates", 1), ("sweep-trees", 1), ("sweep-batch", 1), ("sweep-blobs", 1),
            ("sweep-batch", 3), ("sweep-chunks", 1), ("sweep-batch", 6), ("objects", 1), ("rewrite", 1),
            ("switch", 1), ("switch", 2), ("sealed", 1), ("remove", 1), ("remove-pack", 1),
            ("unlinked-pack", 1),
            ("unlinked-pack", 2), ("done", 1),
        ]
        var killed = 0
        for (i, (phase, n)) in kills.enumerated() {
            let root = base + "-\(i)"
            defer { cleanup(root) }
            try copyTree(pristine, root)
            let r = try runChild(binary, ["gc-crash", root, phase, "\(n)", "\(GCCrashTests.packSize)"])
            if r.signaled {
                #expect(r.out.contains("AT \(phase)"), "\(phase)#\(n): \(r.out)")
                killed += 1
            } else {
                #expect(r.status == 0, "\(phase)#\(n): exit \(r.status) \(r.out)")
            }
            try checkAndConverge(root, live: live, "\(phase)#\(n)")
        }
        #expect(killed >= kills.count - 2, "most phases must actually be reached")

        // Random kill times, repeatedly on the same store (each run resumes what the last left).
        let root = base + "-random"
        defer { cleanup(root) }
        try copyTree(pristine, root)
        for ms in [5, 15, 30, 60, 120] {
            _ = try runChild(binary, ["gc-crash", root, "time", "\(ms)", "\(GCCrashTests.packSize)"])
            let store = try openStore(at: root, options: StoreOptions(packSize: GCCrashTests.packSize))
            #expect(try store.fsck(deep: true).isClean, "random \(ms) ms")
            for t in live { try verifyTreeReadable(store, t) }
        }
        try checkAndConverge(root, live: live, "random")
    }
}
