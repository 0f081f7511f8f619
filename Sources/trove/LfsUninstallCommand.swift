import ArgumentParser
import TroveClient

/// `trove lfs uninstall`.
struct LfsUninstallCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "uninstall",
        abstract:
            "Remove the git config `trove lfs install` wrote (git-lfs goes back to lfs.url's batch API).")

    func run() throws {
        try runClient { () throws(ClientError) in
            _ = try GitRepository.git(["rev-parse", "--git-dir"])
            var removed = 0
            for k in LfsCommand.keys where (try? GitRepository.git(["config", "--local", "--get", k])) != nil
            {
                try GitRepository.git(["config", "--local", "--unset-all", k])
                removed += 1
                print("removed \(k)")
            }
            _ = try? GitRepository.git(["config", "--local", "--remove-section", "lfs.customtransfer.trove"])
            if removed == 0 { print("nothing to remove: trove is not the git-lfs agent here") }
        }
    }
}
