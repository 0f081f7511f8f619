import ArgumentParser
import Foundation
import TroveClient
import TroveCore

/// `trove lfs install|uninstall`: select (or deselect) `trove lfs-agent` as the git-lfs transfer
/// agent of the repository in the current directory (docs/GIT-LFS.md).
struct LfsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfs",
        abstract: "Use Trove as the git-lfs store of the current repository.",
        subcommands: [LfsInstallCommand.self, LfsUninstallCommand.self])

    /// The git config keys `install` writes and `uninstall` removes.
    static let keys = [
        "lfs.standalonetransferagent", "lfs.customtransfer.trove.path", "lfs.customtransfer.trove.args",
        "lfs.customtransfer.trove.concurrent", "lfs.customtransfer.trove.direction",
    ]
}

/// `trove lfs install [--server HOST:PORT] [--bucket NAME] [--token-file FILE]`.
struct LfsInstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "install",
        abstract:
            "Write the git config that makes git-lfs move this repository's objects with `trove lfs-agent`.",
        discussion: """
            Sets lfs.standalonetransferagent = trove and lfs.customtransfer.trove.{path,args,concurrent} in \
            the repository's .git/config (not the global config). The agent finds its token in $TROVE_TOKEN \
            unless --token-file is given. Run `git lfs install` once too, for git-lfs's own hooks.
            """)

    @Option(
        help: "troved address HOST:PORT the agent connects to (default: $TROVE_SERVER, else 127.0.0.1:7420).")
    var server: String?

    @Option(help: "Bucket holding the repository's objects (default: lfs-<repository directory name>).")
    var bucket: String?

    @Option(name: .customLong("token-file"), help: "File the agent reads its token from (NAME:SECRET).")
    var tokenFile: String?

    func run() throws {
        try runClient { () throws(ClientError) in
            let bucket = try GitRepository.bucket(bucket)
            var args = ["lfs-agent", "--bucket", bucket]
            if let server {
                _ = try ServerAddress(parsing: server)
                args += ["--server", server]
            }
            if let tokenFile {
                let absolute = URL(fileURLWithPath: tokenFile).standardizedFileURL.path
                guard !absolute.contains(" ") else {
                    throw .usage(
                        detail:
                            "--token-file path '\(absolute)' must not contain spaces (git-lfs splits args)")
                }
                args += ["--token-file", absolute]
            }
            let exe =
                (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
                ?? CommandLine.arguments[0]
            let settings = [
                ("lfs.standalonetransferagent", "trove"),
                ("lfs.customtransfer.trove.path", exe),
                ("lfs.customtransfer.trove.args", args.joined(separator: " ")),
                ("lfs.customtransfer.trove.concurrent", "false"),
            ]
            for (k, v) in settings { try GitRepository.git(["config", "--local", k, v]) }
            for (k, v) in settings { print("\(k) = \(v)") }
        }
    }
}
