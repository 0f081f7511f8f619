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

    @Option(
        name: .customLong("token-file"),
        help: "File holding the token as NAME:SECRET (default: $TROVE_TOKEN).")
    var tokenFile: String?

    /// The server address from --server, TROVE_SERVER or the default.
    func address() throws(ClientError) -> ServerAddress {
        if let server { return try ServerAddress(parsing: server) }
        if let env = ProcessInfo.processInfo.environment["TROVE_SERVER"], !env.isEmpty {
            return try ServerAddress(parsing: env)
        }
        return .default
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

    /// Opens `count` further connections for parallel transfers (troved serves one request at a
    /// time per connection). Failures after the first connection are not fatal: fewer are used.
    func extraConnections(_ count: Int) -> [Connection] {
        guard count > 0, let a = try? address(), let c = try? credentials() else { return [] }
        var out: [Connection] = []
        for _ in 0..<count {
            guard let conn = try? Connection.open(to: a, credentials: c) else { break }
            out.append(conn)
        }
        return out
    }
}

/// Runs a client command body: a ``ClientError`` is printed as `trove: error: …` on standard
/// error and becomes the process exit code (0 ok, 1 error, 2 usage, 3 not found, 4 conflict,
/// 5 integrity, 6 authentication or permission denied).
func runClient(_ body: () throws(ClientError) -> Void) throws {
    do {
        try body()
    } catch {
        FileHandle.standardError.write(Data("trove: error: \(error)\n".utf8))
        throw ExitCode(error.exitCode)
    }
}

/// Prints a JSON value (sorted keys, pretty) followed by a newline.
func printJSON(_ value: Any) {
    let data =
        (try? JSONSerialization.data(
            withJSONObject: value, options: [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]))
        ?? Data("{}".utf8)
    FileHandle.standardOutput.write(data)
    FileHandle.standardOutput.write(Data("\n".utf8))
}

/// Writes a line to standard error.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}

/// ISO-8601 UTC text for milliseconds since the epoch.
func isoTime(_ ms: Int64) -> String {
    let f = ISO8601DateFormatter()
    f.formatOptions = [.withInternetDateTime]
    f.timeZone = TimeZone(identifier: "UTC")
    return f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000))
}
