import Foundation
import Testing
import TroveCore

/// The store's format policy end to end: recorded in trove.toml at init, announced in HELLO_OK,
/// used by `trove push`, shown by `trove stat`; stores without the key keep plain FastCDC.
@Suite("format policy: store, push, stat")
struct ChunkFormatsPushTests {
    /// Writes v1/v2 zips of 200 stored members (member 77 changed in v2); returns its stored size.
    static func zips(_ dir: TemporaryDirectory) throws -> (String, String, Int) {
        let v1 = dir.url.appendingPathComponent("v1.zip").path
        let v2 = dir.url.appendingPathComponent("v2.zip").path
        let stored = try #require(
            Int(
                try ChunkFormatsTests.run(ChunkFormatsTests.archiveScript, ["zip", v1, v2, "200", "77", "0"]))
        )
        return (v1, v2, stored)
    }

    @Test func newStoresUseAutoAndPushSendsAboutTheChangedMember() throws {
        let server = try TestServer()
        let toml = try String(contentsOf: server.root.appendingPathComponent("trove.toml"), encoding: .utf8)
        #expect(toml.contains("formats = \"auto\""))
        let stat = try server.trove(["stat"])
        #expect(stat.status == 0, "\(stat)")
        #expect(stat.lines.contains("formats      auto"), "\(stat)")
        let (_, j) = try ClientE2E.json(server, ["stat"])
        #expect((j["chunker"] as? [String: Any])?["formats"] as? String == "auto")

        let dir = try TemporaryDirectory()
        let (v1, v2, stored) = try Self.zips(dir)
        let (r1, _) = try ClientE2E.json(server, ["push", v1, "wheels/pkg:1"])
        #expect(r1.status == 0, "\(r1)")
        let (r2, j2) = try ClientE2E.json(server, ["push", v2, "wheels/pkg:2"])
        #expect(r2.status == 0, "\(r2)")
        let sent = ClientE2E.int(j2["rawBytesSent"])
        #expect(sent >= stored)
        #expect(sent <= stored + 100 + 200 * 70, "sent \(sent), member \(stored)")
        // What was stored is exactly the format-aware chunking, and pulls back byte for byte.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: v2)))
        #expect(ClientE2E.int(j2["chunks"]) == (try Ingest.serial(bytes: bytes, formats: .auto)).chunks.count)
        let out = dir.url.appendingPathComponent("pulled").path
        let pull = try server.trove(["pull", "wheels/pkg:2", out])
        #expect(pull.status == 0, "\(pull)")
        let pulledFile = try FileManager.default.subpathsOfDirectory(atPath: out).first {
            $0.hasSuffix(".zip")
        }
        #expect(pulledFile != nil)
        if let pulledFile {
            #expect(try Data(contentsOf: URL(fileURLWithPath: out + "/" + pulledFile)) == Data(bytes))
        }
    }

    @Test func storesWithoutTheKeyKeepPlainChunking() throws {
        let server = try TestServer()
        server.stop()
        let config = server.root.appendingPathComponent("trove.toml")
        let text = try String(contentsOf: config, encoding: .utf8)
        let old = text.split(separator: "\n", omittingEmptySubsequences: false)
            .filter { !$0.hasPrefix("formats") }.joined(separator: "\n")
        #expect(old != text)
        try old.write(to: config, atomically: true, encoding: .utf8)
        try server.start()
        let stat = try server.trove(["stat"])
        #expect(stat.lines.contains("formats      none"), "\(stat)")

        let dir = try TemporaryDirectory()
        let (v1, v2, stored) = try Self.zips(dir)
        #expect(try server.trove(["push", v1, "wheels/pkg:1"]).status == 0)
        let (r2, j2) = try ClientE2E.json(server, ["push", v2, "wheels/pkg:2"])
        #expect(r2.status == 0, "\(r2)")
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: v2)))
        #expect(ClientE2E.int(j2["chunks"]) == (try Ingest.serial(bytes: bytes)).chunks.count)
        #expect(ClientE2E.int(j2["rawBytesSent"]) > stored + 200 * 70)
    }

    @Test func trovedConfigChoosesThePolicyAtInit() throws {
        let server = try TestServer(config: "[store]\nformats = \"zip,tar\"\n")
        let toml = try String(contentsOf: server.root.appendingPathComponent("trove.toml"), encoding: .utf8)
        #expect(toml.contains("formats = \"zip,tar\""))
        let stat = try server.trove(["stat"])
        #expect(stat.lines.contains("formats      zip,tar"), "\(stat)")
    }
}
