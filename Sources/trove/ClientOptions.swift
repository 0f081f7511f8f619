import ArgumentParser
import Foundation
import TroveClient
import TroveCore

/// Options every command that talks to troved shares: where it is and which token to use.
struct ClientOptions: ParsableArguments {
    @Option(
        name: .long,
        help: "troved address HOST:PORT (default: $TROVE_SERVER, else 127.0.0.1:7420).")
    var server: String?

    @Flag(
        name: .long,
        help: "Connect with TLS 1.3 (also: $TROVE_TLS=1, or a tls://HOST:PORT server address).")
    var tls = false

    @Option(
        name: .customLong("tls-ca"),
        help: "PEM file of the CA that signed troved's certificate; implies --tls (default: $TROVE_TLS_CA, else the system's trust store).")
    var tlsCA: String?

    @Option(
        name: .customLong("token-file"),
        help: "File holding the token as NAME:SECRET (default: $TROVE_TOKEN).")
    var tokenFile: String?

    /// The server address from --server, TROVE_SERVER or the default, with TLS on when asked for
    /// (--tls, --tls-ca, TROVE_TLS=1 or tls://) and the CA from --tls-ca or TROVE_TLS_CA.
    func address() throws(ClientError) -> ServerAddress {
        let environment = ProcessInfo.processInfo.environment
        var address = ServerAddress.default
        if let server {
            address = try ServerAddress(parsing: server)
        } else if let env = environment["TROVE_SERVER"], !env.isEmpty {
            address = try ServerAddress(parsing: env)
        }
        if tls || tlsCA != nil || environment["TROVE_TLS"] == "1" { address.tls = true }
        if address.tls {
            address.caFile = tlsCA ?? environment["TROVE_TLS_CA"].flatMap { $0.isEmpty ? nil : $0 }
        }
        return address
    }

    /// The token from --token-file or TROVE_TOKEN, if any.
    func credentials() throws(ClientError) -> Credentials? {
        if let tokenFile {
            let text: String
            do { text = try String(contentsOfFile: tokenFile, encoding: .utf8) } catch {
                throw .usage(detail: "cannot read the token file \(tokenFile): \(error.localizedDescription)")
            }
            return try Credentials(parsing: text, source: tokenFile)
        }
        if let env = ProcessInfo.processInfo.environment["TROVE_TOKEN"], !env.isEmpty {
            return try Credentials(parsing: env, source: "TROVE_TOKEN")
        }
        return nil
    }

    /// Opens an authenticated connection.
    func connect() throws(ClientError) -> Connection {
        try Connection.open(to: address(), credentials: credentials())
    }

    /// Opens `count` further connections for parallel transfers (troved builds one frame at a
    /// time per connection). Failures after the first connection are not fatal: fewer are used.
    func extraConnections(_ count: Int) -> [Connection] {
        guard count > 0, let a = try? address() else { return [] }
        // No token (a server with open access) is nil credentials, not a reason to open none.
        let c: Credentials?
        do { c = try credentials() } catch { return [] }
        var out: [Connection] = []
        for _ in 0..<count {
            guard let conn = try? Connection.open(to: a, credentials: c) else { break }
            out.append(conn)
        }
        return out
    }
}

/// `--debug` for every client command but `mount` (which has its own `--debug`, FUSE tracing,
/// and shows protocol details with it too): error messages name the request and wire code.
struct DebugOption: ParsableArguments {
    @Flag(
        name: .customLong("debug"),
        help: "Show protocol details in error messages (the request and wire error code).")
    var enabled = false
}

/// Whether error messages show protocol details (`--debug` anywhere on the command line, or
/// `TROVE_DEBUG=1`).
let debugErrors =
    CommandLine.arguments.contains("--debug") || ProcessInfo.processInfo.environment["TROVE_DEBUG"] == "1"

extension ParsableCommand {
    /// Runs a client command body: a ``ClientError`` is printed as `trove: error: …` on standard
    /// error (a usage error with the command's usage line) and becomes the process exit code (0 ok,
    /// 1 error, 2 usage, 3 not found, 4 conflict, 5 integrity, 6 authentication or permission
    /// denied, 130 interrupted). A closed standard output (the reader of a pipe stopped early)
    /// ends the command quietly with exit 0.
    func runClient(_ body: () throws(ClientError) -> Void) throws {
        do {
            try body()
        } catch {
            if case .io(let path, _, let code) = error, path == "standard output", code == EPIPE {
                Output.stdoutFailed(EPIPE)
            }
            Output.flush()
            var text = "trove: error: \(error.message(debug: debugErrors))\n"
            if case .usage = error {
                text += "Usage: " + TroveCommand.usageString(for: Self.self) + "\n"
                text += "  See 'trove \(Self.commandPath) --help' for more information.\n"
            }
            Output.err(text)
            throw ExitCode(error.exitCode)
        }
    }

    /// `alias set` for AliasSetCommand: the words after `trove`.
    static var commandPath: String {
        var names: [String] = []
        func find(_ c: ParsableCommand.Type, _ path: [String]) -> Bool {
            if ObjectIdentifier(c) == ObjectIdentifier(Self.self) {
                names = path
                return true
            }
            return c.configuration.subcommands.contains {
                find($0, path + [$0.configuration.commandName ?? ""])
            }
        }
        _ = find(TroveCommand.self, [])
        return names.joined(separator: " ")
    }
}

/// Prints a JSON value (sorted keys, pretty) followed by a newline.
func printJSON(_ value: Any) {
    let data =
        (try? JSONSerialization.data(
            withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
        ?? Data("{}".utf8)
    Output.out(bytes: Array(data) + [0x0A])
}

/// Writes a line to standard error.
func note(_ s: String) {
    Output.err(s + "\n")
}

/// ISO-8601 UTC text for milliseconds since the epoch, whole seconds (`2026-10-15T14:30:00Z`).
/// Without a date formatter per call: listings print one per version.
func isoTime(_ ms: Int64) -> String {
    RefTime.format(ms, milliseconds: false)
}
