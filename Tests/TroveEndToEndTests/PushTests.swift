import Foundation
import Testing
import TroveCore

/// Helpers shared by the client end-to-end suites (push, pull, cat, ls, show, stat, auth,
/// concurrent, hostile).
enum ClientE2E {
    /// Deterministic pseudo-random (incompressible) bytes.
    static func random(seed: UInt64, count: Int) -> [UInt8] {
        TestInput.random.bytes(seed: seed, count: count)
    }

    /// Runs `trove ARGS --json` and parses its standard output.
    static func json(_ server: TestServer, _ args: [String], environment: [String: String] = [:]) throws
        -> (CLIResult, [String: Any])
    {
        let r = try server.trove(args + ["--json"], environment: environment)
        let obj = (try? JSONSerialization.jsonObject(with: r.stdoutData)) as? [String: Any] ?? [:]
        return (r, obj)
    }

    static func int(_ v: Any?) -> Int { (v as? NSNumber)?.intValue ?? -1 }

    /// SHA-256 of bytes, `sha256:HEX`.
    static func digest(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).prefixed }

    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }
}

@Suite("trove push")
struct PushTests {
    @Test func pushPrintsTreeAndBlobDigestAndSendsEveryChunkOnce() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 11, count: 3_000_000)
        let path = try dir.write("model.bin", data)

        let r = try server.trove(["push", path, "models/churn:1.0"])
        #expect(r.status == 0, "\(r)")
        #expect(
            r.lines.contains { $0.hasPrefix("tree sha256:") && $0.count == "tree sha256:".count + 64 }, "\(r)"
        )
        #expect(r.lines.contains("\(ClientE2E.digest(data))  model.bin"), "\(r)")

        // The same content as another version sends no chunk at all.
        let (again, j) = try ClientE2E.json(server, ["push", path, "models/churn:1.0-copy"])
        #expect(again.status == 0, "\(again)")
        #expect(j["blob"] as? String == ClientE2E.digest(data))
        #expect(ClientE2E.int(j["chunksSent"]) == 0)
        #expect(ClientE2E.int(j["rawBytesSent"]) == 0)
        #expect(ClientE2E.int(j["bytesDeduplicated"]) == data.count)
        #expect(j["created"] as? Bool == true)
    }

    @Test func v2SharingMostChunksSendsOnlyTheChangedOnes() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        var data = ClientE2E.random(seed: 12, count: 4_000_000)
        let path = try dir.write("weights.bin", data)
        let (r1, j1) = try ClientE2E.json(server, ["push", path, "m:1"])
        #expect(r1.status == 0, "\(r1)")
        #expect(ClientE2E.int(j1["chunksSent"]) == ClientE2E.int(j1["chunks"]))
        #expect(ClientE2E.int(j1["rawBytesSent"]) == data.count)
        // Random data does not compress: what went on the wire is about the raw size.
        #expect(ClientE2E.int(j1["bytesSent"]) >= data.count)

        // v2: overwrite 100 KB in the middle, insert 50 KB near the start.
        let patch = ClientE2E.random(seed: 99, count: 100_000)
        data.replaceSubrange(2_000_000..<2_100_000, with: patch)
        data.insert(contentsOf: ClientE2E.random(seed: 98, count: 50_000), at: 500_000)
        try dir.write("weights.bin", data)
        let (r2, j2) = try ClientE2E.json(server, ["push", path, "m:2"])
        #expect(r2.status == 0, "\(r2)")
        let sent = ClientE2E.int(j2["rawBytesSent"])
        // Changed bytes: 150 KB; each edit also re-sends at most its neighbouring chunks (max 256 KiB each).
        #expect(sent > 0)
        #expect(sent <= 150_000 + 4 * 256 * 1024, "sent \(sent)")
        #expect(ClientE2E.int(j2["chunksSent"]) < ClientE2E.int(j2["chunks"]) / 3)
        #expect(ClientE2E.int(j2["bytesDeduplicated"]) + sent == data.count)
    }

    @Test func versionsAreImmutableButSameContentRePushIsANoOp() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let a = try dir.write("a/file.bin", ClientE2E.random(seed: 13, count: 300_000))
        let b = try dir.write("b/file.bin", ClientE2E.random(seed: 14, count: 300_000))
        #expect(try server.trove(["push", a, "x:1"]).status == 0)

        let conflict = try server.trove(["push", b, "x:1"])
        #expect(conflict.status == 4, "\(conflict)")
        #expect(conflict.stderr.contains("already exists with tree"), "\(conflict)")

        let (same, j) = try ClientE2E.json(server, ["push", a, "x:1"])
        #expect(same.status == 0, "\(same)")
        #expect(j["created"] as? Bool == false)
        #expect(ClientE2E.int(j["chunksSent"]) == 0)
        #expect(ClientE2E.int(j["bytesSent"]) == 0)
    }

    @Test func metadataParentsAndMessageAreRecorded() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = try dir.write("d.csv", Array("a,b\n1,2\n".utf8))
        let model = try dir.write("m.bin", ClientE2E.random(seed: 15, count: 10_000))
        #expect(try server.trove(["push", data, "datasets/d:1"]).status == 0)
        let r = try server.trove([
            "push", model, "models/m:1", "--meta", "accuracy=0.97", "--meta", "commit=abc123", "--parent",
            "datasets/d:1", "--message", "first model",
        ])
        #expect(r.status == 0, "\(r)")
        let (s, j) = try ClientE2E.json(server, ["show", "models/m:1"])
        #expect(s.status == 0, "\(s)")
        #expect((j["metadata"] as? [String: Any])?["accuracy"] as? String == "0.97")
        #expect((j["metadata"] as? [String: Any])?["commit"] as? String == "abc123")
        #expect(j["parents"] as? [String] == ["datasets/d:1"])
        #expect(j["message"] as? String == "first model")

        // A parent that does not exist: not found.
        let missing = try server.trove(["push", model, "models/m:2", "--parent", "datasets/d:9"])
        #expect(missing.status == 3, "\(missing)")
    }

    @Test func badArgumentsExit2WithAClearMessage() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("f", [1, 2, 3])
        let noEquals = try server.trove(["push", f, "a:1", "--meta", "novalue"])
        #expect(noEquals.status == 2, "\(noEquals)")
        #expect(noEquals.stderr.contains("KEY=VALUE"), "\(noEquals)")
        let badName = try server.trove(["push", f, "bad name:1"])
        #expect(badName.status == 2, "\(badName)")
        let noVersion = try server.trove(["push", f, "name-only"])
        #expect(noVersion.status == 2, "\(noVersion)")
    }

    @Test func unreachableServerExits1AndSaysSo() throws {
        let dir = try TemporaryDirectory()
        let f = try dir.write("f", [1, 2, 3])
        // A port nothing listens on: bind one, close it, use it.
        let r = try CLI.trove(["push", f, "a:1", "--server", "127.0.0.1:1"])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("cannot reach troved at 127.0.0.1:1"), "\(r)")
        #expect(r.stderr.contains("TROVE_SERVER"), "\(r)")
    }
}
