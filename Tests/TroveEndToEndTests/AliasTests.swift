import Foundation
import Testing

@Suite("trove alias")
struct AliasTests {
    @Test func setListMoveHistoryPullAndRemove() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f1 = try dir.write("v1.bin", ClientE2E.random(seed: 601, count: 50_000))
        let f2 = try dir.write("v2.bin", ClientE2E.random(seed: 602, count: 50_000))
        #expect(try server.trove(["push", f1, "models/m:1"]).status == 0)
        #expect(try server.trove(["push", f2, "models/m:2"]).status == 0)

        let set1 = try server.trove(["alias", "set", "models/m", "prod", "1"])
        #expect(set1.status == 0, "\(set1)")
        #expect(set1.lines == ["models/m:prod -> 1"])
        let set2 = try server.trove(["alias", "set", "models/m", "prod", "2", "--expect", "1"])
        #expect(set2.lines == ["models/m:prod -> 2 (was 1)"], "\(set2)")

        let ls = try server.trove(["alias", "ls", "models/m"])
        #expect(ls.status == 0)
        #expect(ls.lines.count == 1 && ls.lines[0].hasPrefix("prod\t2\t"), "\(ls)")

        // Pulling through the alias says which version it resolved to.
        let pull = try server.trove(["pull", "models/m:prod", dir.path + "/out"])
        #expect(pull.status == 0, "\(pull)")
        #expect(pull.stderr.contains("models/m:prod -> models/m:2"), "\(pull)")
        #expect(try ClientE2E.read(dir.path + "/out/v2.bin") == ClientE2E.random(seed: 602, count: 50_000))

        // Roll back, then read the history newest first.
        #expect(try server.trove(["alias", "set", "models/m", "prod", "1"]).status == 0)
        let history = try server.trove(["alias", "history", "models/m", "prod"])
        #expect(history.status == 0, "\(history)")
        #expect(history.lines.count == 3, "\(history)")
        #expect(history.lines[0].hasSuffix("2 -> 1"), "\(history)")
        #expect(history.lines[1].hasSuffix("1 -> 2"), "\(history)")
        #expect(history.lines[2].hasSuffix("(none) -> 1"), "\(history)")
        let (hj, _) = (try server.trove(["alias", "history", "models/m", "prod", "--json"]), 0)
        let events = try #require(try JSONSerialization.jsonObject(with: hj.stdoutData) as? [[String: Any]])
        #expect(events.first?["from"] as? String == "2" && events.first?["to"] as? String == "1")

        let rm = try server.trove(["alias", "rm", "models/m", "prod"])
        #expect(rm.lines == ["removed models/m:prod (was 1)"], "\(rm)")
        #expect(try server.trove(["alias", "ls", "models/m"]).lines.isEmpty)
        #expect(try server.trove(["alias", "rm", "models/m", "prod"]).status == 3)
        #expect(try server.trove(["pull", "models/m:prod", dir.path + "/out2"]).status == 3)
        let after = try server.trove(["alias", "history", "models/m", "prod"])
        #expect(after.lines.first?.hasSuffix("1 -> (removed)") == true, "\(after)")
    }

    @Test func refusesStaleExpectationsOtherNamesRetiredAndBadInput() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("x.bin", ClientE2E.random(seed: 611, count: 20_000))
        for ref in ["a:1", "a:2", "a:3", "b:9"] { #expect(try server.trove(["push", f, ref]).status == 0) }
        #expect(try server.trove(["alias", "set", "a", "prod", "1"]).status == 0)

        let stale = try server.trove(["alias", "set", "a", "prod", "2", "--expect", "3"])
        #expect(stale.status == 4, "\(stale)")
        #expect(try server.trove(["alias", "ls", "a"]).lines.first?.hasPrefix("prod\t1\t") == true)

        // A version of another name, an unknown version, a retired version.
        #expect(try server.trove(["alias", "set", "a", "prod", "9"]).status == 3)
        #expect(try server.trove(["alias", "set", "a", "prod", "7"]).status == 3)
        #expect(try server.trove(["rm", "a:3"]).status == 0)
        let retired = try server.trove(["alias", "set", "a", "prod", "3"])
        #expect(retired.status == 3, "\(retired)")
        // An alias that is a version tag, and malformed arguments.
        #expect(try server.trove(["alias", "set", "a", "2", "1"]).status == 4)
        #expect(try server.trove(["alias", "set", "a", "bad/alias", "1"]).status == 2)
        #expect(try server.trove(["alias", "set", "a", "prod", "1", "--expect", ".."]).status == 2)
        #expect(try server.trove(["alias", "ls", "no such"]).status == 2)
        #expect(try server.trove(["alias", "history", "a", "never"]).status == 3)
        #expect(try server.trove(["alias", "ls", "a"]).lines.first?.hasPrefix("prod\t1\t") == true)
    }

    @Test func ofTwoRacingPromotionsExactlyOneWins() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("x.bin", ClientE2E.random(seed: 621, count: 10_000))
        for ref in ["r:1", "r:2", "r:3"] { #expect(try server.trove(["push", f, ref]).status == 0) }
        #expect(try server.trove(["alias", "set", "r", "prod", "1"]).status == 0)
        for round in 0..<3 {
            let current =
                round == 0
                ? "1" : String(try server.trove(["alias", "ls", "r"]).lines[0].split(separator: "\t")[1])
            let targets = ["1", "2", "3"].filter { $0 != current }
            let results = Locked([Int32](repeating: -1, count: 2))
            DispatchQueue.concurrentPerform(iterations: 2) { i in
                let r = try? server.trove(["alias", "set", "r", "prod", targets[i], "--expect", current])
                results.withValue { $0[i] = r?.status ?? -2 }
            }
            let statuses = results.withValue { $0 }.sorted()
            #expect(statuses == [0, 4], "round \(round): \(statuses)")
        }
        // Every successful move is in the history.
        #expect(try server.trove(["alias", "history", "r", "prod"]).lines.count == 4)
    }
}
