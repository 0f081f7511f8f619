import Foundation
import Testing

@testable import TroveServer

/// The loopback check looks at resolved addresses; the flood-control keys parse and validate;
/// a config readable by others is reported.
@Suite("ServerConfig")
struct ServerConfigTests {
    @Test("loopback is judged by resolved addresses, not by the text of the name")
    func loopback() {
        #expect(ServerConfig.isLoopback("127.0.0.1"))
        #expect(ServerConfig.isLoopback("127.3.4.5"))
        #expect(ServerConfig.isLoopback("::1"))
        #expect(ServerConfig.isLoopback("localhost"))
        #expect(!ServerConfig.isLoopback("127.evil.example"))
        #expect(!ServerConfig.isLoopback("0.0.0.0"))
        #expect(!ServerConfig.isLoopback("10.1.2.3"))
        #expect(!ServerConfig.isLoopback("::"))
        #expect(!ServerConfig.isLoopback("::ffff:10.0.0.1"))
        #expect(LoopbackCheck.isLoopback([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF, 127, 0, 0, 1]))
    }

    @Test("without tokens, a name that merely starts with 127. is refused like any other non-loopback host")
    func validateRefusesLookalike() {
        var c = ServerConfig()
        c.host = "127.evil.example"
        #expect(throws: ConfigError.self) { try c.validate() }
        c.host = "127.0.0.1"
        #expect(throws: Never.self) { try c.validate() }
    }

    @Test("[tls] cert and key parse; off loopback, plaintext needs --insecure; TLS needs both files")
    func tlsKeys() throws {
        let token = "[tokens.ci]\nsha256 = \"\(String(repeating: "ab", count: 32))\"\nscope = \"admin\"\n"
        var c = try ServerConfig.parse(
            toml: "[server]\nlisten = \"0.0.0.0:7420\"\n[tls]\ncert = \"c.pem\"\nkey = \"k.pem\"\n" + token,
            path: "t.toml")
        #expect(c.tlsCertificate == "c.pem" && c.tlsKey == "k.pem" && c.tlsEnabled)
        #expect(throws: Never.self) { try c.validate() }
        c.tlsKey = nil
        #expect(throws: ConfigError.self) { try c.validate() }
        c.tlsCertificate = nil
        #expect(throws: ConfigError.self) { try c.validate() }
        c.insecure = true
        #expect(throws: Never.self) { try c.validate() }
        #expect(throws: ConfigError.self) { try ServerConfig.parse(toml: "[tls]\nca = \"x\"\n", path: "t.toml") }
    }

    @Test("flood-control keys parse; receive_memory must hold one frame")
    func floodKeys() throws {
        let c = try ServerConfig.parse(
            toml: """
                [server]
                max_handshakes = 8
                receive_memory = "64MiB"
                frame_stall_ms = 1500
                requests_per_connection = 2
                """, path: "t.toml")
        #expect(c.maxHandshakes == 8)
        #expect(c.receiveMemory == 64 << 20)
        #expect(c.frameStallMillis == 1500)
        #expect(c.requestsPerConnection == 2)
        let small = try ServerConfig.parse(toml: "[server]\nreceive_memory = \"4MiB\"\n", path: "t.toml")
        #expect(throws: ConfigError.self) { try small.validate() }
    }

    @Test("a config readable by group or others gets a warning; mode 600 does not")
    func permissions() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("troved-\(UUID()).toml").path
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(FileManager.default.createFile(atPath: path, contents: Data()))
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: path)
        let warning = try #require(ServerConfig.permissionWarning(path: path))
        #expect(warning.contains("chmod 600"))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
        #expect(ServerConfig.permissionWarning(path: path) == nil)
    }

    @Test("[storage] selects local or S3 packs; mistakes are refused with the key named")
    func storage() throws {
        #expect(try ServerConfig.parse(toml: "", path: "t.toml").storage.packs == .local)
        let c = try ServerConfig.parse(
            toml: """
                [storage]
                packs = "s3"
                [storage.s3]
                endpoint = "http://127.0.0.1:8333"
                bucket = "trove"
                prefix = "p/"
                access_key_id = "AK"
                secret_access_key_file = "/etc/trove/s3-secret"
                cache_size = "1GiB"
                """, path: "t.toml")
        #expect(c.storage.packs == .s3)
        #expect(c.storage.s3?.bucket == "trove" && c.storage.s3?.prefix == "p/" && c.storage.s3?.region == "us-east-1")
        #expect(c.storage.s3?.cacheSize == 1 << 30)
        for (toml, words) in [
            ("[storage]\npacks = \"nfs\"\n", "storage.packs must be"),
            ("[storage]\npacks = \"s3\"\n", "needs a [storage.s3] table"),
            ("[storage]\npacks = \"s3\"\n[storage.s3]\nendpoint = \"http://h:1\"\n", "needs endpoint"),
            ("[storage.s3]\nbucket_name = \"x\"\n", "unknown key storage.s3.bucket_name"),
        ] {
            #expect {
                try ServerConfig.parse(toml: toml, path: "t.toml")
            } throws: { error in
                "\(error)".contains(words)
            }
        }
    }

    @Test("[catalog] deadlines parse with defaults; out-of-range values are refused with the key named")
    func catalogDeadlines() throws {
        let d = try ServerConfig.parse(toml: "[catalog]\nurl = \"postgres://t@h:5432/db\"\n", path: "t.toml")
        #expect(d.catalog.statementTimeout == 60 && d.catalog.connectTimeout == 10)
        let c = try ServerConfig.parse(
            toml: """
                [catalog]
                url = "postgres://t@h:5432/db"
                statement_timeout = 5
                connect_timeout = 3
                """, path: "t.toml")
        #expect(c.catalog.statementTimeout == 5 && c.catalog.connectTimeout == 3)
        for (toml, words) in [
            ("[catalog]\nstatement_timeout = 0\n", "catalog.statement_timeout"),
            ("[catalog]\nconnect_timeout = \"10s\"\n", "catalog.connect_timeout"),
        ] {
            #expect {
                try ServerConfig.parse(toml: toml, path: "t.toml")
            } throws: { error in
                "\(error)".contains(words)
            }
        }
    }
}
