import ArgumentParser
import TroveCore
import TroveProtocol

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
        subcommands: [ServeCommand.self, TokenCommand.self, FsckCommand.self],
        defaultSubcommand: ServeCommand.self
    )
}
