import Foundation
import Testing
import TroveCore

@Suite("trove auth")
struct AuthTests {
    static let secrets = [
        "writer": "w-0123456789abcdef0123456789abcdef", "reader": "r-0123456789abcdef0123456789abcdef",
        "models": "m-0123456789abcdef0123456789abcdef",
    ]

    static var config: String {
        func hash(_ name: String) -> String { SHA256.hash(Array(secrets[name]!.utf8)).hex }
        return """
            [tokens.writer]
            sha256 = "\(hash("writer"))"
            scope = "write"

            [tokens.reader]
            sha256 = "\(hash("reader"))"
            scope = "read"

            [tokens.models]
            sha256 = "\(hash("models"))"
            scope = "write"
            prefixes = ["models/"]
            """
    }

    static func token(_ name: String) -> [String: String] { ["TROVE_TOKEN": "\(name):\(secrets[name]!)"] }

    @Test func tokensScopesAndPrefixesAreEnforced() throws {
        let server = try TestServer(config: Self.config)
        let dir = try TemporaryDirectory()
        let f = try dir.write("f.bin", ClientE2E.random(seed: 71, count: 200_000))

        // No token: refused with exit 6 and a hint.
        let none = try server.trove(["push", f, "models/a:1"])
        #expect(none.status == 6, "\(none)")
        #expect(none.stderr.contains("token"), "\(none)")

        // Wrong secret.
        let wrong = try server.trove(
            ["push", f, "models/a:1"], environment: ["TROVE_TOKEN": "writer:not-the-secret"])
        #expect(wrong.status == 6, "\(wrong)")
        let unknown = try server.trove(["ls"], environment: ["TROVE_TOKEN": "nobody:whatever"])
        #expect(unknown.status == 6, "\(unknown)")

        // The writer pushes; via --token-file too.
        let ok = try server.trove(["push", f, "models/a:1"], environment: Self.token("writer"))
        #expect(ok.status == 0, "\(ok)")
        let tokenFile = try dir.write("token", Array("writer:\(Self.secrets["writer"]!)\n".utf8))
        let viaFile = try server.trove(["push", f, "data/b:1", "--token-file", tokenFile])
        #expect(viaFile.status == 0, "\(viaFile)")

        // The reader may read but not push (missing scope).
        let readerPush = try server.trove(["push", f, "models/a:2"], environment: Self.token("reader"))
        #expect(readerPush.status == 6, "\(readerPush)")
        let readerCat = try server.trove(["cat", "models/a:1"], environment: Self.token("reader"))
        #expect(readerCat.status == 0, "\(readerCat.stderr)")
        #expect(readerCat.stdoutData.count == 200_000)

        // A token limited to models/ cannot push elsewhere.
        let outside = try server.trove(["push", f, "datasets/x:1"], environment: Self.token("models"))
        #expect(outside.status == 6, "\(outside)")
        let inside = try server.trove(["push", f, "models/c:1"], environment: Self.token("models"))
        #expect(inside.status == 0, "\(inside)")

        // Malformed token text is a usage error.
        let malformed = try server.trove(["ls"], environment: ["TROVE_TOKEN": "no-colon"])
        #expect(malformed.status == 2, "\(malformed)")
    }
}
