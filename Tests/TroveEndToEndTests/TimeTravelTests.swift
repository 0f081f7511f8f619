import Foundation
import Testing

@Suite("trove NAME:ALIAS@TIME")
struct TimeTravelTests {
    /// RFC 3339 UTC text with milliseconds for `ms` since the epoch, written independently of
    /// Trove's own formatter.
    static func rfc3339(_ ms: Int64, offsetMinutes: Int = 0) -> String {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        f.timeZone = TimeZone(secondsFromGMT: offsetMinutes * 60)
        return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
    }

    @Test func resolvesAnAliasAtBetweenAndBeforeItsMoves() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = try dir.write("data.csv", Array("a,b\n1,2\n".utf8))
        #expect(try server.trove(["push", data, "datasets/d:2026-10-01"]).status == 0)
        for v in 1...3 {
            let f = try dir.write("m\(v)/model.bin", ClientE2E.random(seed: UInt64(700 + v), count: 30_000))
            let push = try server.trove([
                "push", f, "models/m:\(v)", "--parent", "datasets/d:2026-10-01", "--meta", "git=abc12\(v)",
            ])
            #expect(push.status == 0, "\(push)")
        }
        // Three moves, each in its own millisecond (the history records whole milliseconds).
        for v in 1...3 {
            #expect(try server.trove(["alias", "set", "models/m", "prod", "\(v)"]).status == 0)
            usleep(2000)
        }
        let history = try server.trove(["alias", "history", "models/m:prod", "--json"])
        let events = try #require(try JSONSerialization.jsonObject(with: history.stdoutData) as? [[String: Any]])
        let times = events.reversed().map { ($0["atMillis"] as? NSNumber)?.int64Value ?? -1 }
        try #require(times.count == 3 && times[0] < times[1] && times[1] < times[2], "\(events)")

        func version(at ref: String) throws -> String? {
            let (r, j) = try ClientE2E.json(server, ["show", ref])
            #expect(r.status == 0, "\(ref): \(r)")
            return j["version"] as? String
        }
        for (i, t) in times.enumerated() {
            // At the move itself, and in the millisecond before the next one.
            #expect(try version(at: "models/m:prod@\(Self.rfc3339(t))") == "\(i + 1)")
            let next = i + 1 < times.count ? times[i + 1] - 1 : t + 86_400_000
            #expect(try version(at: "models/m:prod@\(Self.rfc3339(next))") == "\(i + 1)")
        }
        // The same instant in another zone; a bare date long after the last move.
        #expect(try version(at: "models/m:prod@\(Self.rfc3339(times[1], offsetMinutes: 120))") == "2")
        #expect(try version(at: "models/m:prod@9999-12-31") == "3")

        // One screen: version, parents (trained on) and metadata (code commit).
        let show = try server.trove(["show", "models/m:prod@\(Self.rfc3339(times[0]))"])
        #expect(show.status == 0, "\(show)")
        #expect(show.stdout.contains("models/m:1 (via alias prod)"), "\(show)")
        #expect(show.stdout.contains("parents  datasets/d:2026-10-01"), "\(show)")
        #expect(show.stdout.contains("git = abc121"), "\(show)")

        // Before the alias existed: not found, saying when it first pointed somewhere.
        let before = try server.trove(["show", "models/m:prod@\(Self.rfc3339(times[0] - 1))"])
        #expect(before.status == 3, "\(before)")
        #expect(before.stderr.contains("first pointed somewhere at"), "\(before)")
        #expect(before.stderr.contains("models/m:1"), "\(before)")
        #expect(try server.trove(["show", "models/m:prod@1970-01-01"]).status == 3)

        // Every command that takes a reference takes this one.
        let pull = try server.trove(["pull", "models/m:prod@\(Self.rfc3339(times[1]))", dir.path + "/out"])
        #expect(pull.status == 0, "\(pull)")
        #expect(try ClientE2E.read(dir.path + "/out/model.bin") == ClientE2E.random(seed: 702, count: 30_000))
        let cat = try server.trove(["cat", "models/m:prod@\(Self.rfc3339(times[2]))", "model.bin"])
        #expect(cat.status == 0 && Array(cat.stdoutData) == ClientE2E.random(seed: 703, count: 30_000))
        let diff = try server.trove([
            "diff", "models/m:prod@\(Self.rfc3339(times[0]))", "models/m:prod@\(Self.rfc3339(times[2]))",
        ])
        #expect(diff.status == 0 && diff.stdout.contains("M  model.bin"), "\(diff)")
        let lineage = try server.trove(["lineage", "models/m:prod@\(Self.rfc3339(times[1]))"])
        #expect(lineage.status == 0 && lineage.stdout.contains("datasets/d:2026-10-01"), "\(lineage)")

        // While removed: not found, saying when it was removed.
        #expect(try server.trove(["alias", "rm", "models/m", "prod"]).status == 0)
        let removed = try server.trove(["show", "models/m:prod@9999-12-31"])
        #expect(removed.status == 3, "\(removed)")
        #expect(removed.stderr.contains("removed"), "\(removed)")
        #expect(try version(at: "models/m:prod@\(Self.rfc3339(times[2]))") == "3")

        // Malformed times are usage errors; a version tag does not move.
        for bad in ["2026-13-01", "2026-02-30", "2026-10-15T25:00Z", "yesterday", "2026-10-15T10:00+2"] {
            let r = try server.trove(["show", "models/m:prod@\(bad)"])
            #expect(r.status == 2, "\(bad): \(r)")
        }
        #expect(try server.trove(["show", "models/m:1@2026-10-15"]).status == 2)
        #expect(try server.trove(["show", "models/m:never@2026-10-15"]).status == 3)
    }
}
