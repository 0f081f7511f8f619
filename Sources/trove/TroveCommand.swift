import ArgumentParser
import TroveCore
import TroveProtocol

/// `trove`: the command-line client.
struct TroveCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trove",
        abstract: "Push, pull and inspect artifacts in a Trove store.",
        version: BuildInfo.describe(program: "trove", protocolVersions: Preamble.current.versions),
        subcommands: [
            PushCommand.self, PullCommand.self, CatCommand.self, LsCommand.self, ShowCommand.self,
            StatCommand.self,
            ChunkCommand.self, MountCommand.self, RmCommand.self, GcCommand.self, ScrubCommand.self,
            LogCommand.self, AliasCommand.self, LineageCommand.self, DiffCommand.self, BucketCommand.self,
            SnapshotCommand.self, LfsCommand.self, LfsAgentCommand.self, LeaseCommand.self,
        ]
    )
}
