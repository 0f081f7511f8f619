import ArgumentParser
import Foundation
import Synchronization
import TroveClient
import TroveCore

/// `trove lfs-agent`: the git-lfs standalone custom transfer agent (docs/GIT-LFS.md). git-lfs
/// starts it (configured by `trove lfs install`) and talks JSON lines on its standard input and
/// output; upload counters go in its `complete` events and, with one line per transfer, to
/// $TROVE_LFS_LOG.
struct LfsAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfs-agent",
        abstract:
            "git-lfs transfer agent storing objects in Trove (started by git-lfs, see `trove lfs install`).",
        discussion: """
            Speaks git-lfs's custom transfer protocol on standard input and output. Uploads send only \
            the chunks the store lacks and resume after an interruption; downloads verify every chunk and \
            the object's SHA-256. Objects live at objects/OID of the bucket (default lfs-<repository \
            directory name>). Each upload's counters (bytes sent, already on the server) travel in its \
            complete event (shown by GIT_TRACE=1 GIT_TRANSFER_TRACE=1) and are logged to $TROVE_LFS_LOG if set.
            """)

    @Option(help: "Bucket holding the repository's objects (default: lfs-<repository directory name>).")
    var bucket: String?

    @OptionGroup var client: ClientOptions

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        // git-lfs hides an agent's standard error and strips GIT_TRACE from its environment:
        // the counters travel in the `complete` events (GIT_TRANSFER_TRACE=1 shows them).
        let files = [env["TROVE_LFS_LOG"]].compactMap { $0 }.filter { !$0.isEmpty }
        let logLock = Mutex(())
        let log: @Sendable (String) -> Void = { line in
            logLock.withLock { _ in
                for file in files {
                    guard let h = FileHandle(forWritingAtPath: file) ?? Self.create(file) else { continue }
                    h.seekToEndOfFile()
                    h.write(Data((line + "\n").utf8))
                    try? h.close()
                }
            }
        }
        let outLock = Mutex(())
        let emit: @Sendable (String) -> Void = { line in
            outLock.withLock { _ in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        }
        let client = self.client
        let bucketOption = bucket
        let agent = LFSAgent(
            mover: { () throws(ClientError) -> LFSObjectMover in
                let bucket = try GitRepository.bucket(bucketOption)
                let address = try client.address()
                let connection = try client.connect()
                let gitDir =
                    (try? GitRepository.git(["rev-parse", "--absolute-git-dir"])) ?? NSTemporaryDirectory()
                let transfer = LFSTransfer(
                    connection: connection, server: address, bucket: bucket,
                    downloadDirectory: gitDir + "/lfs/tmp", environment: env)
                if let n = env["TROVE_LFS_PAUSE_AFTER"].flatMap(UInt64.init) {
                    transfer.pauseAfter = n
                    transfer.onPause = { done in
                        log("trove lfs-agent: paused after \(done) bytes (pid \(getpid()))")
                    }
                }
                log("trove lfs-agent: \(address), bucket \(bucket)")
                return transfer
            }, emit: emit, log: log)
        do {
            try agent.run { Swift.readLine(strippingNewline: true) }
        } catch {
            log("trove lfs-agent: error: \(error.message(debug: false))")
            FileHandle.standardError.write(Data("trove: error: \(error.message(debug: false))\n".utf8))
            throw ExitCode(error.exitCode)
        }
    }

    static func create(_ path: String) -> FileHandle? {
        FileManager.default.createFile(atPath: path, contents: nil)
        return FileHandle(forWritingAtPath: path)
    }
}
