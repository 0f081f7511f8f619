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
        try #require(try Self.run("/bin/mount", ["-t", "tmpfs", "-o", "size=6m", "tmpfs", mnt]) == 0, "mount failed")
        defer { _ = try? Self.run("/bin/umount", ["-l", mnt]) }
        let root = mnt + "/store"
        // A filler the test deletes to give space back.
        let filler = mnt + "/filler"
        #expect(FileManager.default.createFile(atPath: filler, contents: Data(count: 2 << 20)))
        var rng = TestRandom(seed: 4242)
        var stored: [ChunkInput] = []
        var failure: StoreError? = nil
        do {
            let store = try Store.create(at: root, options: StoreOptions(packSize: 1 << 20))
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
        let reopened = try Store.open(at: root)
        for c in stored { #expect(try reopened.contains(c.digest)) }
        let report = try reopened.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
    }
}
