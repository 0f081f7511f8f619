import Foundation
import Testing

@Suite("typed metadata: --where, --sort, show/ls --json")
struct TypedMetadataTests {
    @Test func valuesKeepTheirTypeAndCompareInSQL() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 941, count: 5_000))
        let runs: [(String, String)] = [
            ("1", #"{"auc": 0.912, "epochs": 12, "validated": true, "lr": 0.001}"#),
            ("2", #"{"auc": 0.931, "epochs": 15, "validated": false}"#),
            ("3", #"{"auc": 0.85, "epochs": 9, "validated": true}"#),
            ("4", #"{"auc": 0.97, "epochs": 30, "validated": true}"#),
        ]
        for (v, json) in runs {
            let meta = try dir.write("m\(v).json", Array(json.utf8))
            let push = try server.trove(["push", f, "models/c:\(v)", "--meta-file", meta, "--meta", "git=abc\(v)"])
            #expect(push.status == 0, "\(push)")
        }
        // show --json and ls --json: numbers, booleans and strings as such.
        let (s, j) = try ClientE2E.json(server, ["show", "models/c:1"])
        #expect(s.status == 0, "\(s)")
        let meta = try #require(j["metadata"] as? [String: Any])
        #expect((meta["auc"] as? NSNumber)?.doubleValue == 0.912 && !(meta["auc"] is String))
        #expect((meta["epochs"] as? NSNumber)?.intValue == 12)
        #expect(meta["validated"] as? Bool == true)
        #expect(meta["git"] as? String == "abc1")
        let raw = try server.trove(["show", "models/c:1", "--json"]).stdout
        #expect(raw.contains("\"validated\":true") || raw.contains("\"validated\" : true"), "\(raw)")

        func ls(_ args: [String]) throws -> [String] {
            let r = try server.trove(["ls", "models"] + args)
            #expect(r.status == 0, "\(args): \(r)")
            return r.lines.map { String($0.split(separator: "\t")[0]) }
        }
        #expect(try ls(["--where", "auc>=0.9", "--where", "validated=true"]).sorted() == ["models/c:1", "models/c:4"])
        #expect(try ls(["--where", "auc>0.912"]).sorted() == ["models/c:2", "models/c:4"])
        #expect(try ls(["--where", "epochs<12"]) == ["models/c:3"])
        #expect(try ls(["--where", "epochs<=12", "--where", "validated!=false"]).sorted() == ["models/c:1", "models/c:3"])
        #expect(try ls(["--where", "epochs=15"]) == ["models/c:2"])
        #expect(try ls(["--where", "git=abc3"]) == ["models/c:3"])
        #expect(try ls(["--sort", "-auc"]) == ["models/c:4", "models/c:2", "models/c:1", "models/c:3"])
        #expect(try ls(["--sort", "epochs", "--where", "auc<0.95"]) == ["models/c:3", "models/c:1", "models/c:2"])
        let l = try server.trove(["ls", "models", "--where", "lr>0", "--json"])
        let list = (try? JSONSerialization.jsonObject(with: l.stdoutData)) as? [[String: Any]] ?? []
        #expect(l.status == 0 && list.count == 1, "\(l)")
        #expect(((list.first?["metadata"] as? [String: Any])?["lr"] as? NSNumber)?.doubleValue == 0.001)

        // Mixed types are refused clearly (exit 2), nothing listed.
        let mixed = try server.trove(["ls", "models", "--where", "git>=5"])
        #expect(mixed.status == 2 && mixed.stdout.isEmpty, "\(mixed)")
        #expect(mixed.stderr.contains("git is a string"), "\(mixed)")
        let boolOrder = try server.trove(["ls", "models", "--where", "validated>false"])
        #expect(boolOrder.status == 2 && boolOrder.stderr.contains("booleans have no order"), "\(boolOrder)")
        let textOrder = try server.trove(["ls", "models", "--where", "auc>abc"])
        #expect(textOrder.status == 2 && textOrder.stderr.contains("auc is a number"), "\(textOrder)")
        #expect(try server.trove(["ls", "models", "--where", "noop"]).status == 2)
        #expect(try server.trove(["ls", "models", "--sort", "-"]).status == 2)
        // A string that looks like a number stays a string (--meta is text); = matches its text.
        let s5 = try server.trove(["push", f, "models/t:1", "--meta", "epochs=12"])
        #expect(s5.status == 0, "\(s5)")
        let (_, t) = try ClientE2E.json(server, ["show", "models/t:1"])
        #expect((t["metadata"] as? [String: Any])?["epochs"] as? String == "12")
        #expect(try ls(["--where", "epochs=12"]).sorted() == ["models/c:1", "models/t:1"])
        let legacy = try server.trove(["ls", "models", "--where", "epochs>3"])
        #expect(legacy.status == 2 && legacy.stderr.contains("--meta-file"), "\(legacy)")
    }
}
