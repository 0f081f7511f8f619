import Foundation
import Testing
import TroveCore

/// A pack record damaged on troved's disk (not yet found by a scrub) while a pull reads it: troved
/// checks each record's CRC-32C as it copies the record into the CHUNKS frame, and reports the
/// chunk as corrupt instead of sending it; nothing reaches the destination.
@Suite("pull of a damaged pack record")
struct PullDamagedPackTests {
    @Test func troveReportsTheCorruptChunkAndWritesNothing() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 702, count: 6_000_000)
        let path = try dir.write("weights.bin", data)
        #expect(try server.trove(["push", path, "models/d:1"]).status == 0)
        let good = try server.trove(["pull", "models/d:1", dir.path + "/good"])
        #expect(good.status == 0, "\(good)")
        #expect(try ClientE2E.read(dir.path + "/good/weights.bin") == data)

        #expect(try ScrubEndToEndTests().damagePacks(server) == 1)
        let pull = try server.trove(["pull", "models/d:1", dir.path + "/out"])
        #expect(pull.status != 0, "\(pull)")
        // troved's record check speaks, not only the client's SHA-256: the operator learns that
        // the store is damaged and what to run.
        #expect(pull.stderr.contains("is corrupt") && pull.stderr.contains("scrub"), "\(pull)")
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/weights.bin"))
    }
}
