import ArgumentParser
import Foundation
import Synchronization
import TroveClient
import TroveCore

/// `trove lfs-agent`: the git-lfs standalone custom transfer agent (docs/GIT-LFS.md). git-lfs
/// starts it (configured by `trove lfs install`) and talks JSON lines on its standard input and
/// output; diagnostics go to standard error when GIT_TRACE is set and to $TROVE_LFS_LOG.
struct LfsAgentCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lfs-agent",
        abstract:
            "git-lfs transfer agent storing objects in Trove (started by git-lfs, see `trove lfs install`).",
        discussion: """
            Speaks git-lfs's custom transfer protocol on standard input and output. Uploads send only \
            the chunks the store lacks and resume after an interruption; downloads verify every chunk and \
            the object's SHA-256. Objects live at objects/OID of the bucket (default lfs-<repository \
            directory name>). Each transfer is logged (bytes sent, already on the server) on standard \
            error when GIT_TRACE is set, and appended to the file $TROVE_LFS_LOG if set.
            """)

    @Option(help: "Bucket holding the repository's objects (default: lfs-<repository directory name>).")
    var bucket: String?

    @OptionGroup var client: ClientOptions

    func run() throws {
        let env = ProcessInfo.processInfo.environment
        let logFile = env["TROVE_LFS_LOG"].flatMap { $0.isEmpty ? nil : $0 }
        let trace = env["GIT_TRACE"].map { !$0.isEmpty && $0 != "0" && $0.lowercased() != "false" } ?? false
        let logLock = Mutex(())
        let log: @Sendable (String) -> Void = { line in
            logLock.withLock { _ in
                if trace { FileHandle.standardError.write(Data((line + "\n").utf8)) }
                if let logFile, let h = FileHandle(forWritingAtPath: logFile) ?? Self.create(logFile) {
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
