import Foundation
import Testing

@Suite("trove stat")
struct StatTests {
    @Test func reportsLogicalUniqueAndStoredBytes() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let random = try dir.write("r.bin", ClientE2E.random(seed: 61, count: 1_000_000))
        let text = try dir.write(
            "t.txt", Array(String(repeating: "trove stores text well. ", count: 40_000).utf8))
        #expect(try server.trove(["push", random, "a:1"]).status == 0)
        #expect(try server.trove(["push", random, "a:2"]).status == 0)
        #expect(try server.trove(["push", text, "b:1"]).status == 0)

        let (r, j) = try ClientE2E.json(server, ["stat"])
        #expect(r.status == 0, "\(r)")
        #expect(ClientE2E.int(j["logicalBytes"]) == 2_000_000 + 960_000)
        #expect(ClientE2E.int(j["uniqueBytes"]) <= 1_000_000 + 960_000)
        #expect(ClientE2E.int(j["uniqueBytes"]) >= 1_000_000)
        #expect(ClientE2E.int(j["storedBytes"]) < ClientE2E.int(j["uniqueBytes"]))
        #expect(ClientE2E.int(j["versions"]) == 3)
        #expect((j["dedupRatio"] as? Double ?? 0) > 1.0)
        #expect((j["compressionRatio"] as? Double ?? 0) > 1.0)
        #expect(ClientE2E.int(j["packs"]) >= 1)

        let plain = try server.trove(["stat"])
        #expect(plain.stdout.contains("dedup"))
        #expect(plain.stdout.contains("compression"))
    }
}
