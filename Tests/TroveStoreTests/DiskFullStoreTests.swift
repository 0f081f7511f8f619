import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// A real ENOSPC (no floor, nothing simulated): on a tmpfs filled by a pack write, `putChunks`
/// throws `.noSpace` naming the path, the store stays writable and accepts the same chunks once
/// space is back, and the reopened store is clean. Mounting needs root (CI runs as root); the
/// test fails saying so otherwise.
@Suite("disk full, store level", .serialized)
struct DiskFullStoreTests {
    static func run(_ tool: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: tool)
        p.arguments = args
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }

    @Test func aFullFilesystemFailsTheWriteAndTheStoreStaysWritable() throws {
        #expect(getuid() == 0, "this test mounts a tmpfs, which needs root (CI runs as root)")
        guard getuid() == 0 else { return }
        let mnt = tempStorePath("tmpfs")
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        defer { cleanup(mnt) }
        try #require(
            try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt]) == 0, "mount failed")
        defer { _ = try? Self.run("/bin/umount", ["-l", mnt]) }
        let root = mnt + "/store"
        // A filler the test deletes to give space back.
        let filler = mnt + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 2 << 20)))
        var rng = TestRandom(seed: 4242)
        var stored: [ChunkInput] = []
        var failure: StoreError? = nil
        do {
            let store = try createStore(at: root, options: StoreOptions(packSize: 1 << 20))
            for _ in 0..<40 {
                let batch = (0..<4).map { _ in chunkInput(rng.bytes(64 << 10), compress: false) }
                do {
                    _ = try store.putChunks(batch)
                    stored += batch
                } catch {
                    failure = error
                    #expect(!store.isReadOnly, "ENOSPC made the store read-only: \(error)")
                    // Space back: the same chunks go in, no reopen.
                    try FileManager.default.removeItem(atPath: filler)
                    _ = try store.putChunks(batch)
                    stored += batch
                    break
                }
            }
            for c in stored.prefix(8) { #expect(try store.readChunk(c.digest).count == c.rawLength) }
        }
        let e = try #require(failure, "6 MiB took 40 × 256 KiB without ENOSPC")
        guard case .noSpace(let path, _, _) = e else {
            Issue.record("expected .noSpace, got \(e)")
            return
        }
        #expect(path.hasPrefix(root), "\(e)")
        #expect("\(e)".contains("free") && "\(e)".contains("trove gc"), "\(e)")
        let reopened = try openStore(at: root)
        for c in stored { #expect(try reopened.contains(c.digest)) }
        let report = try reopened.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
    }
}

/// GC with too little free space for a rewrite (above the floor) rewrites no pack but still
/// deletes whole dead packs; with room, the same GC rewrites.
@Suite("GC and free space")
struct GCFreeSpaceTests {
    @Test func noRoomMeansNoRewriteButDeadPacksStillGo() throws {
        let root = tempStorePath("gcspace")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 77)
        let a = rng.bytes(300_000)
        do {
            let store = try createStore(at: root, options: StoreOptions(packSize: 1 << 20))
            for (name, content) in [
                ("a", a), ("b", rng.bytes(300_000)), ("c", rng.bytes(500_000)), ("d", rng.bytes(1_200_000)),
            ] {
                let tree = try storeFile(store, content)
                _ = try store.createVersion(name: name, version: "1", tree: tree, creator: "t")
            }
            for name in ["b", "c", "d"] { try store.retireVersion(name: name, version: "1", actor: "t") }
        }
        let gc = GCOptions(graceSeconds: 0, packRemovalDelay: 0)
        do {
            // A floor no disk can meet: nothing may be written, so nothing is rewritten.
            let store = try openStore(at: root, options: StoreOptions(minFreeSpace: 1 << 50))
            let r = try store.collectGarbage(gc)
            #expect(r.packsSkippedForSpace >= 1, "\(r.json())")
            #expect(r.packsRewritten == 0 && r.packBytesWritten == 0, "\(r.json())")
            #expect(r.packsDeleted >= 1, "the dead pack of d must still go: \(r.json())")
        }
        let store = try openStore(at: root)
        let r = try store.collectGarbage(gc)
        #expect(r.packsRewritten >= 1 && r.packsSkippedForSpace == 0, "\(r.json())")
        let v = try #require(try store.version(name: "a", version: "1"))
        let blob = try #require(try store.readTree(v.tree).entries.first?.blob)
        let recipe = try #require(try store.recipe(forBlob: blob))
        var out: [UInt8] = []
        for c in recipe.chunks { out += try store.readChunk(c.digest) }
        #expect(out == a)
        #expect(try store.fsck(deep: true).isClean)
    }
}
