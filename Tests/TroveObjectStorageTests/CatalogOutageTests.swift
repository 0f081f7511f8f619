import Foundation
import Testing
import TroveTestServers

/// troved on a PostgreSQL catalog when PostgreSQL misbehaves (docs/SCALING.md, "Failure modes"):
/// its sessions terminated by the server while it serves (the next request runs on a fresh
/// connection), and the server stopped and started again (requests fail with a clear error and
/// `/readyz` answers 503 meanwhile; troved recovers without a restart). Packs stay local: only
/// the catalog is under test. `statement_timeout` is short so that a connection that never
/// answers again costs seconds, not a minute.
@Suite("troved when PostgreSQL fails", .serialized)
struct CatalogOutageTests {
    typealias Daemon = TrovedOnS3Tests.Daemon

    /// A troved.toml with the catalog in `database` of `server`.
    static func config(_ dir: String, _ server: PostgresServer, _ database: String) throws -> String {
        let text = """
            [catalog]
            url = "postgres://postgres@127.0.0.1:\(server.port)/\(database)"
            statement_timeout = 2
            connect_timeout = 2
            """
        try text.write(toFile: dir + "/troved.toml", atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/troved.toml")
        return dir + "/troved.toml"
    }

    /// Writes `size` bytes (different for each `seed`) to `dir/data.bin`.
    static func source(_ dir: String, seed: Int, size: Int = 1 << 20) throws {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var bytes = [UInt8](repeating: 0, count: size)
        for i in bytes.indices { bytes[i] = UInt8(truncatingIfNeeded: (i &+ seed &* 7919) &* 2_654_435_761 >> 13) }
        try Data(bytes).write(to: URL(fileURLWithPath: dir + "/data.bin"))
    }

    /// Ends every session on `database` but the caller's; how many it ended.
    static func terminateSessions(_ server: PostgresServer, _ database: String) throws -> Int {
        Int(
            try server.psql(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = '\(database)'"))
            ?? -1
    }

    @Test func sessionsTerminatedWhileServingAreReplaced() throws {
        let dir = try TrovedOnS3Tests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try PostgresServer.shared()
        let database = try server.createDatabase()
        let daemon = try Daemon(root: dir + "/root", config: try Self.config(dir, server, database), scratch: dir)
        defer { daemon.stop() }
        let env = ["TROVE_SERVER": daemon.address, "XDG_STATE_HOME": dir + "/state", "TROVE_NO_STAT_CACHE": "1"]
        let run = TrovedOnS3Tests.run

        try Self.source(dir + "/src1", seed: 1)
        let first = try run("trove", ["push", dir + "/src1", "ops/pg:1"], env)
        #expect(first.0 == 0, "\(first.1)")
        #expect(try Self.terminateSessions(server, database) >= 1)
        // Every pooled connection is dead: the next requests run on fresh ones.
        let pull = try run("trove", ["pull", "ops/pg:1", dir + "/out1"], env)
        #expect(pull.0 == 0, "\(pull.1)")
        #expect(try Self.terminateSessions(server, database) >= 1)
        try Self.source(dir + "/src2", seed: 2)
        let second = try run("trove", ["push", dir + "/src2", "ops/pg:2"], env)
        #expect(second.0 == 0, "\(second.1)")
        let out = try run("trove", ["pull", "ops/pg:2", dir + "/out2"], env)
        #expect(out.0 == 0, "\(out.1)")
        #expect(
            try Data(contentsOf: URL(fileURLWithPath: dir + "/out2/data.bin"))
                == Data(contentsOf: URL(fileURLWithPath: dir + "/src2/data.bin")))
    }

    @Test func postgresStoppedThenStartedAgain() async throws {
        let dir = try TrovedOnS3Tests.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let server = try PostgresServer.dedicated()
        defer { server.destroy() }
        let database = try server.createDatabase()
        let portFile = dir + "/metrics-port"
        let daemon = try Daemon(
            root: dir + "/root", config: try Self.config(dir, server, database), scratch: dir,
            extra: ["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", portFile])
        defer { daemon.stop() }
        let metrics = try TrovedOnS3Tests.address(inFile: portFile)
        let probe = ReadinessOnS3Tests()
        let env = ["TROVE_SERVER": daemon.address, "XDG_STATE_HOME": dir + "/state", "TROVE_NO_STAT_CACHE": "1"]
        let run = TrovedOnS3Tests.run

        try Self.source(dir + "/src1", seed: 1)
        let first = try run("trove", ["push", dir + "/src1", "ops/down:1"], env)
        #expect(first.0 == 0, "\(first.1)")
        #expect(try await probe.awaitReadyz(metrics, 200, seconds: 60).0 == 200)

        try server.stop()
        try Self.source(dir + "/src2", seed: 2)
        let refused = try run("trove", ["push", dir + "/src2", "ops/down:2"], env)
        #expect(refused.0 != 0)
        #expect(refused.1.contains("PostgreSQL catalog") && refused.1.contains("unreachable"), "\(refused.1)")
        let down = try await probe.awaitReadyz(metrics, 503, seconds: 60)
        #expect(down.0 == 503 && down.1.contains("PostgreSQL"), "\(down)")
        let health = try await probe.get(metrics, "/healthz")
        #expect(health.0 == 200)

        // Back: the same troved serves again (no restart).
        try server.restart()
        let up = try await probe.awaitReadyz(metrics, 200, seconds: 60)
        #expect(up.0 == 200, "\(up)")
        let again = try run("trove", ["push", dir + "/src2", "ops/down:2"], env)
        #expect(again.0 == 0, "\(again.1)")
        for v in ["1", "2"] {
            let pull = try run("trove", ["pull", "ops/down:\(v)", dir + "/out\(v)"], env)
            #expect(pull.0 == 0, "\(pull.1)")
            #expect(
                try Data(contentsOf: URL(fileURLWithPath: dir + "/out\(v)/data.bin"))
                    == Data(contentsOf: URL(fileURLWithPath: dir + "/src\(v)/data.bin")))
        }
    }
}
