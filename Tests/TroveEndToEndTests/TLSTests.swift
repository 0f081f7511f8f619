import Foundation
import Testing
import TroveClient
import TroveProtocol

/// TLS 1.3 on both listeners, with a CA made at test time by the openssl CLI.
@Suite("TLS")
struct TLSTests {
    /// A troved serving `cert`/`key`.
    static func server(_ pair: (cert: String, key: String), extra: [String] = []) throws -> TestServer {
        try TestServer(extraArguments: ["--tls-cert", pair.cert, "--tls-key", pair.key] + extra)
    }

    /// Client environment: TLS to `server`, trusting `ca`.
    static func env(_ server: TestServer, _ ca: TestCA) -> [String: String] {
        ["TROVE_SERVER": "tls://\(server.address)", "TROVE_TLS_CA": ca.certificate]
    }

    @Test("push and pull round-trip over TLS 1.3; tls://, --tls with a host name, and TROVE_TLS=1 all select it")
    func pushAndPull() throws {
        let ca = try TestCA()
        let server = try Self.server(try ca.issue())
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 81, count: 3_000_000)
        try dir.write("in/model.bin", data)
        let push = try server.trove(["push", dir.url.appendingPathComponent("in").path, "tls/model:1"], environment: Self.env(server, ca))
        #expect(push.status == 0, "\(push)")

        let port = try #require(server.address.split(separator: ":").last)
        let out = dir.url.appendingPathComponent("out")
        let pull = try server.trove([
            "pull", "--tls", "--tls-ca", ca.certificate, "--server", "localhost:\(port)", "tls/model:1", out.path,
        ])
        #expect(pull.status == 0, "\(pull)")
        #expect(try ClientE2E.read(out.appendingPathComponent("model.bin").path) == data)

        let ls = try server.trove(["ls"], environment: ["TROVE_TLS": "1", "TROVE_TLS_CA": ca.certificate])
        #expect(ls.status == 0, "\(ls)")
        #expect(ls.stdout.contains("tls/model:1"), "\(ls)")
    }

    @Test("an untrusted, a mismatched and an expired certificate are refused with exit 6, saying which")
    func refusedCertificates() throws {
        let ca = try TestCA()
        let other = try TestCA(name: "Other CA")
        let server = try Self.server(try ca.issue())

        let untrusted = try server.trove(["ls"], environment: Self.env(server, other))
        #expect(untrusted.status == 6, "\(untrusted)")
        #expect(untrusted.stderr.contains("does not trust"), "\(untrusted)")
        #expect(untrusted.stderr.contains("--tls-ca"), "\(untrusted)")
        let system = try server.trove(["ls", "--tls"])
        #expect(system.status == 6, "\(system)")
        #expect(system.stderr.contains("the system's trust store does not trust"), "\(system)")

        let misnamed = try Self.server(try ca.issue(names: ["elsewhere.example"]))
        let mismatch = try misnamed.trove(["ls"], environment: Self.env(misnamed, ca))
        #expect(mismatch.status == 6, "\(mismatch)")
        #expect(mismatch.stderr.contains("not valid for the name 127.0.0.1"), "\(mismatch)")

        let stale = try Self.server(try ca.issue(expired: true))
        #expect(stale.log().contains("expires soon or has expired"), "\(stale.log())")
        let expired = try stale.trove(["ls"], environment: Self.env(stale, ca))
        #expect(expired.status == 6, "\(expired)")
        #expect(expired.stderr.contains("expired on 2020-01-02"), "\(expired)")
    }

    @Test("a plaintext client of a TLS listener, and a TLS client of a plaintext one, are told what to do")
    func wrongMode() throws {
        let ca = try TestCA()
        let server = try Self.server(try ca.issue())
        let plain = try server.trove(["ls"])
        #expect(plain.status == 2, "\(plain)")
        #expect(plain.stderr.contains("accepts TLS connections only"), "\(plain)")
        #expect(plain.stderr.contains("--tls"), "\(plain)")

        let plainServer = try TestServer()
        let tls = try plainServer.trove(["ls", "--tls-ca", ca.certificate])
        #expect(tls.status == 6, "\(tls)")
        #expect(tls.stderr.contains("did not answer in TLS"), "\(tls)")
    }

    @Test("SIGHUP loads a renewed certificate for new connections; a connection open across it keeps working")
    func reloadOnSIGHUP() async throws {
        let ca = try TestCA()
        let next = try TestCA(name: "Next CA")
        let files = try TemporaryDirectory()
        let cert = files.url.appendingPathComponent("troved.pem").path
        let key = files.url.appendingPathComponent("troved.key").path
        _ = try ca.issue(cert: cert, key: key)
        // The connection opened before the reload must outlive a slow run: no idle timeout.
        let server = try TestServer(
            config: "[limits]\nidle_timeout_ms = 86400000\n", extraArguments: ["--tls-cert", cert, "--tls-key", key])
        var address = try ServerAddress(parsing: "tls://\(server.address)")
        address.caFile = ca.certificate
        let open = try await Connection.connect(to: address, credentials: nil)
        defer { open.close() }
        #expect(try server.trove(["ls"], environment: Self.env(server, next)).status == 6)

        _ = try next.issue(cert: cert, key: key)
        let pid = try #require(server.pid)
        kill(pid, SIGHUP)
        let deadline = Date().addingTimeInterval(60)
        while !server.log().contains("reloaded the TLS certificate") && Date() < deadline { usleep(20_000) }
        #expect(server.log().contains("reloaded the TLS certificate"), "\(server.log())")

        let renewed = try server.trove(["ls"], environment: Self.env(server, next))
        #expect(renewed.status == 0, "\(renewed)")
        #expect(try server.trove(["ls"], environment: Self.env(server, ca)).status == 6)
        let stat = try await open.send(Message.Stat()).get()
        #expect(stat.storeID == open.hello.storeID)
        #expect(server.pid != nil)
    }

    @Test("off loopback, troved refuses plaintext unless --insecure; TLS key and certificate problems are named")
    func startupRules() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write(
            "troved.toml",
            Array("[tokens.ci]\nsha256 = \"\(String(repeating: "ab", count: 32))\"\nscope = \"admin\"\n".utf8))
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: config)
        let root = dir.url.appendingPathComponent("store").path
        let binary = try CLI.troved(["--config", config, "--root", root, "--listen", "0.0.0.0:0"])
        #expect(binary.status == 2, "\(binary)")
        #expect(binary.stderr.contains("in plaintext"), "\(binary)")
        let s3 = try CLI.troved(["--config", config, "--root", root, "--listen", "127.0.0.1:0", "--s3-listen", "0.0.0.0:0"])
        #expect(s3.status == 2, "\(s3)")
        #expect(s3.stderr.contains("refusing to serve S3 on 0.0.0.0 in plaintext"), "\(s3)")

        let ca = try TestCA()
        let pair = try ca.issue()
        let other = try ca.issue()
        let onlyCert = try CLI.troved(["--root", root, "--listen", "127.0.0.1:0", "--tls-cert", pair.cert])
        #expect(onlyCert.status == 2, "\(onlyCert)")
        #expect(onlyCert.stderr.contains("both a certificate and a key"), "\(onlyCert)")
        let wrongKey = try CLI.troved([
            "--root", root, "--listen", "127.0.0.1:0", "--tls-cert", pair.cert, "--tls-key", other.key,
        ])
        #expect(wrongKey.status == 2, "\(wrongKey)")
        #expect(wrongKey.stderr.contains("does not fit the certificate"), "\(wrongKey)")
        let missing = try CLI.troved([
            "--root", root, "--listen", "127.0.0.1:0", "--tls-cert", pair.cert + ".missing", "--tls-key", pair.key,
        ])
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("cannot read the TLS certificate"), "\(missing)")
    }

    @Test("the S3 listener speaks HTTPS with the same certificate; plain HTTP gets 400")
    func s3OverHTTPS() throws {
        let ca = try TestCA()
        let pair = try ca.issue()
        let s3 = try S3TestServer(extraArguments: ["--tls-cert", pair.cert, "--tls-key", pair.key])
        let env = s3.environment()
        let aws = try S3Clients.tool("aws")
        let https = "https://\(s3.s3Address)"
        let mb = try S3Clients.run(aws, ["--endpoint-url", https, "--ca-bundle", ca.certificate, "s3", "mb", "s3://tls-bucket"], environment: env)
        #expect(mb.status == 0, "\(mb)")
        let ls = try S3Clients.run(aws, ["--endpoint-url", https, "--ca-bundle", ca.certificate, "s3", "ls"], environment: env)
        #expect(ls.status == 0, "\(ls)")
        #expect(ls.stdout.contains("tls-bucket"), "\(ls)")
        let plain = try S3Clients.run(aws, ["--endpoint-url", "http://\(s3.s3Address)", "s3", "ls"], environment: env)
        #expect(plain.status != 0, "\(plain)")
        #expect(plain.stderr.contains("400"), "\(plain)")
    }
}
