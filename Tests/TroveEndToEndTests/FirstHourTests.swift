import Foundation
import Testing
import TroveClient
import TroveCore
import TroveProtocol

/// What a new user meets in the first hour (issue 13): closed pipes, usage errors, --version,
/// misspelt commands, errors in the user's words, NAME:ALIAS, metadata on re-push, the creator.
@Suite("first hour: CLI behaviour")
struct FirstHourTests {
    /// A server holding `demo/model:1` and `:2` (a single file `model.bin`) and alias `prod -> 2`.
    static func populated() throws -> (TestServer, TemporaryDirectory) {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let v1 = try dir.write("v1/model.bin", ClientE2E.random(seed: 131, count: 200_000))
        let v2 = try dir.write("v2/model.bin", ClientE2E.random(seed: 132, count: 200_000))
        #expect(try server.trove(["push", v1, "demo/model:1", "--meta", "stage=a"]).status == 0)
        #expect(try server.trove(["push", v2, "demo/model:2", "--parent", "demo/model:1"]).status == 0)
        #expect(try server.trove(["alias", "set", "demo/model", "prod", "2"]).status == 0)
        return (server, dir)
    }

    @Test func aClosedPipeEndsEveryCommandQuietly() throws {
        let (server, dir) = try Self.populated()
        let commands: [[String]] = [
            ["show", "demo/model:1", "--json"], ["show", "demo/model:1"], ["ls", "--json"], ["ls"],
            ["log", "demo/model", "--json"], ["log", "demo/model"], ["stat", "--json"], ["stat"],
            ["cat", "demo/model:1"], ["diff", "demo/model:1", "demo/model:2", "--json"],
            ["alias", "ls", "demo/model"], ["alias", "history", "demo/model:prod", "--json"],
            ["lineage", "demo/model:2"], ["chunk", dir.url.appendingPathComponent("v1/model.bin").path],
            ["--help"], ["--version"],
        ]
        for args in commands {
            let r = try CLI.troveIntoClosedPipe(args, environment: server.environment)
            #expect(r.status == 0, "\(args): \(r)")
            #expect(r.stderr.isEmpty, "\(args): \(r)")
        }
    }

    @Test func argumentErrorsExit2WithTheUsageLine() throws {
        for args in [
            ["push"], ["pull", "--bogus", "x:1"], ["ls", "--where"], ["alias", "set", "a"], ["gc", "x"],
        ] {
            let r = try CLI.trove(args)
            #expect(r.status == 2, "\(args): \(r)")
            #expect(r.stderr.contains("Usage:"), "\(args): \(r)")
        }
        for args in [["--bogus"], ["serve", "--listen"], ["token", "new"], ["fsck", "--deep", "extra"]] {
            let r = try CLI.troved(args)
            #expect(r.status == 2, "troved \(args): \(r)")
            #expect(r.stderr.contains("Usage:"), "troved \(args): \(r)")
        }
        // NAME:ALIAS with a missing version is a usage error of the command itself.
        let noVersion = try CLI.trove(["alias", "set", "a:prod"])
        #expect(noVersion.status == 2, "\(noVersion)")
        #expect(noVersion.stderr.contains("NAME:ALIAS VERSION"), "\(noVersion)")
    }

    @Test func versionNamesReleaseProtocolAndBuild() throws {
        for program in ["trove", "troved"] {
            let r = try CLI.run(program, ["--version"])
            #expect(r.status == 0, "\(r)")
            let line = r.stdout.trimmingCharacters(in: .newlines)
            #expect(line.hasPrefix("\(program) \(BuildInfo.version) (protocol 1-4, "), "\(r)")
            #expect(line.contains(" build "), "\(r)")
            #expect(!line.contains("build unknown"), "the ELF build id was not found: \(r)")
        }
    }

    @Test func unknownSubcommandsSuggestTheNearest() throws {
        let pul = try CLI.trove(["pul", "demo/model:1", "out"])
        #expect(pul.status == 2, "\(pul)")
        #expect(pul.stderr.contains("'pul' is not a trove command. Did you mean 'pull'?"), "\(pul)")
        #expect(pul.stderr.contains("Usage: trove <subcommand>"), "\(pul)")
        let hist = try CLI.trove(["alias", "histroy", "demo/model:prod"])
        #expect(hist.status == 2, "\(hist)")
        #expect(hist.stderr.contains("Did you mean 'history'?"), "\(hist)")
        let nothing = try CLI.trove(["zzzzzz"])
        #expect(nothing.status == 2 && !nothing.stderr.contains("Did you mean"), "\(nothing)")
    }

    @Test func notFoundNamesTheNearestVersionsNamesAndTheOption() throws {
        let (server, dir) = try Self.populated()
        let typo = try server.trove(["show", "demo/model:3"])
        #expect(typo.status == 3, "\(typo)")
        #expect(
            typo.stderr.contains("demo/model:3 does not exist; nearest: demo/model:1, demo/model:2"),
            "\(typo)")
        #expect(!typo.stderr.contains("GET_REF"), "\(typo)")
        let debug = try server.trove(["show", "demo/model:3", "--debug"])
        #expect(debug.status == 3 && debug.stderr.contains("GET_REF"), "\(debug)")

        let alias = try server.trove(["pull", "demo/model:prd", dir.url.appendingPathComponent("o").path])
        #expect(alias.status == 3, "\(alias)")
        #expect(alias.stderr.contains("demo/model:prod"), "\(alias)")

        let name = try server.trove(["cat", "demo/modle:1"])
        #expect(name.status == 3, "\(name)")
        #expect(name.stderr.contains("did you mean demo/model?"), "\(name)")
        let log = try server.trove(["log", "demo/modle"])
        #expect(log.status == 3 && log.stderr.contains("did you mean demo/model?"), "\(log)")

        let f = try dir.write("f.txt", Array("x".utf8))
        let parent = try server.trove(["push", f, "demo/other:1", "--parent", "demo/model:9"])
        #expect(parent.status == 3, "\(parent)")
        #expect(parent.stderr.contains("--parent demo/model:9 does not exist"), "\(parent)")
        #expect(!parent.stderr.contains("CREATE_VERSION"), "\(parent)")
    }

    @Test func connectionErrorsSayRefusedOrNotTroved() throws {
        let port = try FakeServer.closedPort()
        let refused = try CLI.trove(["ls", "--server", port])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("connection refused"), "\(refused)")
        #expect(!refused.stderr.contains("errno"), "\(refused)")

        let http = try FakeServer(answer: Array("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n".utf8))
        let r = try CLI.trove(["ls", "--server", http.address])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("not troved: an HTTP server answered"), "\(r)")
    }

    @Test func staleExpectationSaysWhereTheAliasPoints() throws {
        let (server, _) = try Self.populated()
        let r = try server.trove(["alias", "set", "demo/model:prod", "1", "--expect", "1"])
        #expect(r.status == 4, "\(r)")
        #expect(r.stderr.contains("demo/model:prod points at 2, --expect said 1"), "\(r)")
        #expect(!r.stderr.contains("ALIAS_SET"), "\(r)")
    }

    @Test func aliasCommandsTakeNameColonAlias() throws {
        let (server, _) = try Self.populated()
        #expect(try server.trove(["alias", "set", "demo/model:staging", "1"]).status == 0)
        let history = try server.trove(["alias", "history", "demo/model:staging"])
        #expect(history.status == 0, "\(history)")
        #expect(history.stdout.contains("(none) -> 1"), "\(history)")
        let twoWords = try server.trove(["alias", "history", "demo/model", "staging"])
        #expect(twoWords.stdout == history.stdout, "\(twoWords)")
        #expect(try server.trove(["alias", "rm", "demo/model:staging"]).status == 0)
        let ls = try server.trove(["alias", "ls", "demo/model"])
        #expect(!ls.stdout.contains("staging"), "\(ls)")
    }

    @Test func rePushWithOtherMetadataIsAConflict() throws {
        let (server, dir) = try Self.populated()
        let v1 = dir.url.appendingPathComponent("v1/model.bin").path
        let same = try server.trove(["push", v1, "demo/model:1", "--meta", "stage=a"])
        #expect(same.status == 0, "\(same)")
        for extra in [
            ["--meta", "stage=b"], ["--message", "other"], ["--meta", "stage=a", "--parent", "demo/model:2"],
        ] {
            let r = try server.trove(["push", v1, "demo/model:1"] + extra)
            #expect(r.status == 4, "\(extra): \(r)")
            #expect(r.stderr.contains("already exists with the same content but other metadata"), "\(r)")
        }
    }

    @Test func creatorIsShownOneWayEverywhere() throws {
        let (server, _) = try Self.populated()
        let show = try server.trove(["show", "demo/model:1"])
        #expect(show.stdout.contains(" by anonymous"), "\(show)")
        let log = try server.trove(["log", "demo/model"])
        #expect(log.stdout.contains(" by anonymous"), "\(log)")
        let history = try server.trove(["alias", "history", "demo/model:prod"])
        #expect(history.stdout.contains("\tanonymous\t"), "\(history)")
        let (_, j) = try ClientE2E.json(server, ["show", "demo/model:1"])
        #expect(j["creator"] is NSNull, "\(j)")
    }

    /// Every server error code gets a message in the user's words: the server's detail, a next
    /// step, no wire names unless --debug, and the documented exit code.
    @Test func everyErrorCodeHasAUserMessage() {
        var seen = Set<String>()
        for code in ErrorCode.allDefined + [.unknown(999)] {
            let e = ClientError.server(code: code, message: "DETAIL", request: "GET_REF")
            let text = e.description
            #expect(text.contains("DETAIL"), "\(code): \(text)")
            #expect(!text.contains("GET_REF") && !text.contains(code.name + ")"), "\(code): \(text)")
            #expect(e.message(debug: true).contains("GET_REF → \(code.name)"), "\(code)")
            #expect(e.exitCode == code.exitCode, "\(code)")
            if code != .conflict {
                // A conflict passes the server's message through: it already says what to do.
                #expect(text.count > "DETAIL".count + 10, "\(code): \(text)")
            }
            seen.insert(text)
        }
        #expect(seen.count == ErrorCode.allDefined.count + 1, "two codes share a message")
    }
}
