import Foundation
import Testing

@Suite("metadata: --meta, --meta-file, ls --where")
struct MetaTests {
    @Test func metaFileIsShownAndSearchable() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 1001, count: 5_000))
        let good = try dir.write(
            "good.json", Array(#"{"auc": 0.97, "epochs": 12, "validated": true, "source": "git:abc"}"#.utf8))
        let other = try dir.write(
            "other.json", Array(#"{"auc": 0.91, "epochs": 12, "validated": false}"#.utf8))
        #expect(
            try server.trove(["push", f, "models/m:1", "--meta-file", good, "--meta", "team=ml"]).status == 0)
        #expect(try server.trove(["push", f, "models/m:2", "--meta-file", other]).status == 0)
        #expect(try server.trove(["push", f, "data/d:1", "--meta", "epochs=12"]).status == 0)

        let show = try server.trove(["show", "models/m:1"])
        for line in [
            "  auc = 0.97", "  epochs = 12", "  validated = true", "  source = git:abc", "  team = ml",
        ] {
            #expect(show.lines.contains(line), "\(show)")
        }

        func listed(_ args: [String]) throws -> [String] {
            try server.trove(["ls"] + args).lines.map { String($0.split(separator: "\t")[0]) }.sorted()
        }
        #expect(try listed(["models", "--where", "epochs=12"]) == ["models/m:1", "models/m:2"])
        #expect(try listed(["--where", "epochs=12"]) == ["data/d:1", "models/m:1", "models/m:2"])
        #expect(
            try listed(["models", "--where", "epochs=12", "--where", "validated=true"]) == ["models/m:1"])
        #expect(try listed(["models", "--where", "auc=0.91"]) == ["models/m:2"])
        #expect(try listed(["models", "--where", "auc=0.5"]).isEmpty)
        #expect(try server.trove(["ls", "--where", "novalue"]).status == 2)
        #expect(try server.trove(["ls", "--where", "=x"]).status == 2)
    }

    @Test func refusesNestedMalformedOversizedAndDuplicateMetadata() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 1002, count: 1_000))
        let cases: [(String, String)] = [
            ("nested.json", #"{"a": {"b": 1}}"#),
            ("array.json", #"{"a": [1, 2]}"#),
            ("null.json", #"{"a": null}"#),
            ("toplevel.json", #"[1, 2]"#),
            ("broken.json", #"{"a": "#),
            ("longvalue.json", "{\"a\": \"" + String(repeating: "x", count: 5000) + "\"}"),
        ]
        for (name, text) in cases {
            let path = try dir.write(name, Array(text.utf8))
            let r = try server.trove(["push", f, "m:1", "--meta-file", path])
            #expect(r.status == 2, "\(name): \(r)")
            #expect(r.stderr.contains("--meta-file"), "\(name): \(r)")
        }
        let many = "{" + (0..<300).map { "\"k\($0)\": \($0)" }.joined(separator: ", ") + "}"
        let manyPath = try dir.write("many.json", Array(many.utf8))
        #expect(try server.trove(["push", f, "m:1", "--meta-file", manyPath]).status == 2)
        let huge = try dir.write("huge.json", Array(repeating: 0x20, count: 2 << 20))
        #expect(try server.trove(["push", f, "m:1", "--meta-file", huge]).status == 2)
        #expect(try server.trove(["push", f, "m:1", "--meta-file", dir.path + "/absent.json"]).status == 2)
        let dup = try dir.write("dup.json", Array(#"{"a": 1}"#.utf8))
        #expect(try server.trove(["push", f, "m:1", "--meta-file", dup, "--meta", "a=2"]).status == 2)
        #expect(try server.trove(["push", f, "m:1", "--meta", "novalue"]).status == 2)
        #expect(try server.trove(["push", f, "m:1", "--meta", "=v"]).status == 2)
        // Nothing was created by the refused pushes.
        #expect(try server.trove(["show", "m:1"]).status == 3)
    }
}
