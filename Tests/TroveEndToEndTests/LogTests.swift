import Foundation
import Testing

@Suite("trove log")
struct LogTests {
    @Test func listsVersionsNewestFirstWithDetailsAndAliases() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 701, count: 30_000))
        for v in ["1", "2", "3"] {
            #expect(try server.trove(["push", f, "models/m:\(v)", "--message", "release \(v)"]).status == 0)
        }
        #expect(try server.trove(["push", f, "models/other:1"]).status == 0)
        #expect(try server.trove(["alias", "set", "models/m", "prod", "2"]).status == 0)
        #expect(try server.trove(["alias", "set", "models/m", "staging", "2"]).status == 0)

        let log = try server.trove(["log", "models/m"])
        #expect(log.status == 0, "\(log)")
        let heads = log.lines.filter { !$0.hasPrefix(" ") && !$0.isEmpty }
        #expect(heads == ["models/m:3", "models/m:2 (prod, staging)", "models/m:1"], "\(log)")
        #expect(log.stdout.contains("  message  release 2"))
        #expect(log.stdout.contains("  created  "))
        #expect(log.lines.filter { $0.hasPrefix("  tree     sha256:") }.count == 3)

        let (r, _) = try ClientE2E.json(server, ["log", "models/m"])
        let arr = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        #expect(arr.map { $0["version"] as? String } == ["3", "2", "1"])
        #expect(arr[1]["aliases"] as? [String] == ["prod", "staging"])

        // Retired versions only with --all.
        #expect(try server.trove(["rm", "models/m:1"]).status == 0)
        #expect(try server.trove(["log", "models/m"]).lines.filter { $0.hasPrefix("models/m:") }.count == 2)
        let all = try server.trove(["log", "models/m", "--all"])
        #expect(all.lines.contains("models/m:1 [retired]"), "\(all)")

        #expect(try server.trove(["log", "models/none"]).status == 3)
        #expect(try server.trove(["log", "models/none", "--json"]).status == 3)
        #expect(try server.trove(["log", "bad name"]).status == 2)
    }
}
