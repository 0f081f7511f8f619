import ArgumentParser
import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#endif

/// `troved`: the Trove daemon. Without a subcommand it serves.
@main
struct TrovedCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "troved",
        abstract: "The Trove artifact store daemon.",
        discussion: """
            Without a subcommand, troved serves the store at --root (default ./trove-data, created on \
            first start) on --listen (default 127.0.0.1:7420).
            """,
        version: BuildInfo.describe(program: "troved", protocolVersions: Preamble.current.versions),
        subcommands: [ServeCommand.self, TokenCommand.self, KeyCommand.self, FsckCommand.self, MigrateCommand.self],
        defaultSubcommand: ServeCommand.self
    )

    /// Exit code for usage errors, as for `trove` (ArgumentParser's own is 64).
    static let usageExit: Int32 = 2

    /// Parses and runs like ArgumentParser's `main`, except that a usage error (a bad option or
    /// argument) exits 2 with the usage line, the code the docs promise.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            if exitCode(for: error) == .validationFailure {
                var text = fullMessage(for: error) + "\n"
                text.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
                Glibc.exit(usageExit)
            }
            exit(withError: error)
        }
    }
}
