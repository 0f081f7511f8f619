import Foundation
import Testing

@Suite("trove lineage")
struct LineageTests {
    @Test func printsUpstreamAndDownstreamTreesWithDepthAndJSON() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("x.bin", ClientE2E.random(seed: 801, count: 10_000))
        #expect(try server.trove(["push", f, "data/raw:1"]).status == 0)
        #expect(try server.trove(["push", f, "data/clean:1", "--parent", "data/raw:1"]).status == 0)
        #expect(try server.trove(["push", f, "models/base:1"]).status == 0)
        #expect(
            try server.trove([
                "push", f, "models/m:1", "--parent", "data/clean:1", "--parent", "models/base:1",
            ])
            .status == 0)
        #expect(try server.trove(["push", f, "models/m:2", "--parent", "models/m:1"]).status == 0)
        #expect(try server.trove(["alias", "set", "models/m", "prod", "2"]).status == 0)

        // Missing parent at push: exit 3, nothing created.
        let missing = try server.trove(["push", f, "models/m:3", "--parent", "data/raw:9"])
        #expect(missing.status == 3, "\(missing)")
        #expect(try server.trove(["show", "models/m:3"]).status == 3)
        #expect(try server.trove(["push", f, "models/m:3", "--parent", "bad ref"]).status == 2)

        func refs(_ r: CLIResult) -> [String] {
            r.lines.map { line in
                let indent = line.prefix { $0 == " " }.count
                return String(repeating: " ", count: indent)
                    + (line.split(separator: " ").first.map(String.init) ?? "")
            }
        }
        let up = try server.trove(["lineage", "models/m:prod"])
        #expect(up.status == 0, "\(up)")
        #expect(
            refs(up) == [
                "models/m:2", "  models/m:1", "    data/clean:1", "      data/raw:1", "    models/base:1",
            ],
            "\(up)")

        let down = try server.trove(["lineage", "data/raw:1", "--down"])
        #expect(
            refs(down) == ["data/raw:1", "  data/clean:1", "    models/m:1", "      models/m:2"], "\(down)")

        let shallow = try server.trove(["lineage", "models/m:2", "--depth", "1"])
        #expect(refs(shallow) == ["models/m:2", "  models/m:1"], "\(shallow)")
        #expect(shallow.lines.last?.hasSuffix("…") == true, "\(shallow)")

        let (r, j) = try ClientE2E.json(server, ["lineage", "models/m:1"])
        #expect(r.status == 0)
        #expect(j["ref"] as? String == "models/m:1")
        let next = try #require(j["next"] as? [[String: Any]])
        #expect(next.map { $0["ref"] as? String } == ["data/clean:1", "models/base:1"])

        #expect(try server.trove(["lineage", "models/m:9"]).status == 3)
        #expect(try server.trove(["lineage", "models/m"]).status == 2)
        #expect(try server.trove(["lineage", "models/m:1", "--up", "--down"]).status == 2)
    }

    @Test func aDiamondIsExpandedOnce() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("x.bin", ClientE2E.random(seed: 802, count: 1000))
        #expect(try server.trove(["push", f, "d:1"]).status == 0)
        #expect(try server.trove(["push", f, "l:1", "--parent", "d:1"]).status == 0)
        #expect(try server.trove(["push", f, "r:1", "--parent", "d:1"]).status == 0)
        #expect(try server.trove(["push", f, "m:1", "--parent", "l:1", "--parent", "r:1"]).status == 0)
        let up = try server.trove(["lineage", "m:1"])
        #expect(up.lines.count == 5, "\(up)")
        #expect(up.lines.filter { $0.contains("d:1") }.count == 2)
        let down = try server.trove(["lineage", "d:1", "--down"])
        #expect(down.lines.filter { $0.contains("m:1") }.count == 2, "\(down)")
    }
}
