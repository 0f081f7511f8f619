import Foundation
import Testing
import TroveClient
import TroveProtocol

/// Listings larger than a frame: VERSION_LIST is paged by bytes, so thousands of versions with
/// long multi-byte messages list, log and walk lineage like a handful.
@Suite("Listing at scale")
struct ListingScaleTests {
    @Test("2,100 versions with 16 KiB multi-byte messages: ls, ls --json, log and lineage --down")
    func manyLargeVersions() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 811, count: 5_000))
        #expect(try server.trove(["push", f, "big/m:0"]).status == 0)
        #expect(try server.trove(["push", f, "other/x:1"]).status == 0)
        // 16 KiB of 2-byte characters: 2,100 of them make ~34 MB, several 8 MiB frames.
        let message = String(repeating: "é", count: 8189)  // + "NNNN " stays ≤ 16 KiB
        let connection = try Connection.open(
            to: try ServerAddress(parsing: server.address), credentials: nil)
        defer { connection.close() }
        let tree = try Remote(connection: connection).resolve("big/m:0").tree
        for i in 1...2_100 {
            _ = try connection.call(
                Message.CreateVersion(
                    name: "big/m", version: "\(i)", tree: tree, message: "\(i) " + message, metadata: [],
                    parents: []))
        }

        let ls = try server.trove(["ls", "big"])
        #expect(ls.status == 0, "\(ls.stderr)")
        #expect(ls.lines.filter { $0.contains("big/m:") }.count == 2_101)

        let (json, _) = try ClientE2E.json(server, ["ls", "big"])
        #expect(json.status == 0, "\(json.stderr)")
        let listed = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [[String: Any]])
        #expect(listed.count == 2_101)
        let messages = listed.compactMap { $0["message"] as? String }.filter { $0.hasSuffix(message) }
        #expect(messages.count == 2_100)

        let log = try server.trove(["log", "big/m"])
        #expect(log.status == 0, "\(log.stderr)")
        let heads = log.lines.filter { $0.hasPrefix("big/m:") }
        #expect(heads.count == 2_101)
        #expect(heads.first == "big/m:2100")

        let lineage = try server.trove(["lineage", "other/x:1", "--down"])
        #expect(lineage.status == 0, "\(lineage.stderr)")
    }
}
