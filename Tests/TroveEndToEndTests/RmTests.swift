import Foundation
import Testing
import TroveClient
import TroveCore
import TroveProtocol

/// Small helpers for the admin suites (rm, gc, scrub).
enum AdminE2E {
    /// Sets `name:alias` → `version` over the protocol (there is no alias command in this suite's scope).
    static func setAlias(_ server: TestServer, _ name: String, _ alias: String, _ version: String) throws {
        let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { conn.close() }
        _ = try conn.call(.aliasSet(.init(name: name, alias: alias, version: version, expect: .any)))
    }

    /// Bytes of every pack file under the store root.
    static func packBytes(_ server: TestServer) -> Int {
        let packs = server.root.appendingPathComponent("packs").path
        var total = 0
        for p in FileManager.default.enumerator(atPath: packs)?.compactMap({ $0 as? String }) ?? []
        where p.hasSuffix(".pack") {
            total +=
                ((try? FileManager.default.attributesOfItem(atPath: packs + "/" + p)[.size]) as? Int) ?? 0
        }
        return total
    }

    /// A TOML config with small packs (so packs seal and GC can rewrite or delete them).
    static let smallPacks = "[store]\npack_size = 1048576\n"
}

@Suite("trove rm")
struct RmTests {
    @Test func retiresAVersionAndRefusesAnAliasedOneWithoutForce() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let path = try dir.write("model.bin", ClientE2E.random(seed: 501, count: 300_000))
        #expect(try server.trove(["push", path, "models/churn:1"]).status == 0)
        #expect(try server.trove(["push", path, "models/churn:2"]).status == 0)
        try AdminE2E.setAlias(server, "models/churn", "prod", "1")

        let refused = try server.trove(["rm", "models/churn:1"])
        #expect(refused.status == 4, "\(refused)")
        #expect(refused.stderr.contains("prod"), "\(refused)")
        #expect(try server.trove(["pull", "models/churn:1", dir.path + "/out1"]).status == 0)

        let forced = try server.trove(["rm", "models/churn:1", "--force"])
        #expect(forced.status == 0, "\(forced)")
        #expect(forced.lines == ["retired models/churn:1", "removed alias models/churn:prod"], "\(forced)")
        let pull = try server.trove(["pull", "models/churn:1", dir.path + "/out2"])
        #expect(pull.status == 3, "\(pull)")
        let alias = try server.trove(["pull", "models/churn:prod", dir.path + "/out3"])
        #expect(alias.status == 3, "\(alias)")

        let (plain, j) = try ClientE2E.json(server, ["rm", "models/churn:2"])
        #expect(plain.status == 0, "\(plain)")
        #expect(j["version"] as? String == "2")
        #expect(try server.trove(["rm", "models/churn:2"]).status == 0)  // already retired: no-op
        #expect(try server.trove(["rm", "models/churn:9"]).status == 3)
        #expect(try server.trove(["rm", "models/churn"]).status == 2)
    }
}

@Suite("admin scope")
struct AdminScopeTests {
    static let secrets = [
        "writer": "w-aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "admin": "a-bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    ]

    static var config: String {
        func hash(_ name: String) -> String { SHA256.hash(Array(secrets[name]!.utf8)).hex }
        return """
            [tokens.writer]
            sha256 = "\(hash("writer"))"
            scope = "write"

            [tokens.admin]
            sha256 = "\(hash("admin"))"
            scope = "admin"
            """
    }

    static func token(_ name: String) -> [String: String] { ["TROVE_TOKEN": "\(name):\(secrets[name]!)"] }

    @Test func rmGcAndScrubNeedAdmin() throws {
        let server = try TestServer(config: AdminScopeTests.config)
        let dir = try TemporaryDirectory()
        let f = try dir.write("a.bin", ClientE2E.random(seed: 511, count: 100_000))
        #expect(
            try server.trove(["push", f, "a:1"], environment: AdminScopeTests.token("writer")).status == 0)
        for args in [["rm", "a:1"], ["gc"], ["scrub"]] {
            let denied = try server.trove(args, environment: AdminScopeTests.token("writer"))
            #expect(denied.status == 6, "\(args): \(denied)")
            #expect(denied.stderr.contains("admin"), "\(denied)")
            let allowed = try server.trove(args, environment: AdminScopeTests.token("admin"))
            #expect(allowed.status == 0, "\(args): \(allowed)")
        }
    }
}
