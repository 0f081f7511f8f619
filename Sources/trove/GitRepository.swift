import Foundation
import TroveClient
import TroveCore

/// The git repository `trove lfs` and `trove lfs-agent` run in (the current directory), through
/// the `git` program.
enum GitRepository {
    /// Runs `git ARGS` in the current directory; its standard output without the final newline.
    @discardableResult
    static func git(_ args: [String]) throws(ClientError) -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["git"] + args
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        do { try p.run() } catch {
            throw .usage(detail: "cannot run git (\(error.localizedDescription)); is git installed?")
        }
        let data = out.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        guard p.terminationStatus == 0 else {
            throw .usage(
                detail: "`git \(args.joined(separator: " "))` failed (exit \(p.terminationStatus)); "
                    + "run this inside a git repository")
        }
        var text = String(decoding: data, as: UTF8.self)
        while text.hasSuffix("\n") { text.removeLast() }
        return text
    }

    /// The default bucket of the repository here: `lfs-` and the name of its top directory.
    static func defaultBucket() throws(ClientError) -> String {
        let top = try git(["rev-parse", "--show-toplevel"])
        let repo = LFSNames.repository(fromDirectoryName: (top as NSString).lastPathComponent)
        return LFSNames.bucket(repository: repo) ?? "lfs-repo"
    }

    /// The bucket given with --bucket (checked), else the default bucket.
    static func bucket(_ option: String?) throws(ClientError) -> String {
        guard let name = option else { return try defaultBucket() }
        guard LFSNames.isValidBucket(name) else {
            throw .usage(
                detail:
                    "invalid --bucket '\(name)': 3 to 63 of a-z 0-9 . -, starting and ending with a letter or digit"
            )
        }
        return name
    }
}
