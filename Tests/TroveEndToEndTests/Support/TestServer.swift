import Foundation
import Synchronization

/// A `troved` started on a temporary store root and an ephemeral loopback port, for end-to-end
/// tests. Stopped (SIGTERM, then SIGKILL after a grace period) when `stop()` is called or the value
/// is released. Usable from several threads (the running process and its address live in a `Mutex`).
final class TestServer: Sendable {
    /// The store root (kept after stop so a test can restart on it).
    let root: URL
    /// `127.0.0.1:PORT`, what `--server` / `TROVE_SERVER` take.
    var address: String { state.withLock { $0.address } }
    /// Environment for `trove` commands that talk to this server.
    var environment: [String: String] { ["TROVE_SERVER": address] }
    /// Where troved's stderr (its log) goes.
    let logURL: URL

    private let state = Mutex<(address: String, process: Process?)>(("", nil))
    private let owned: TemporaryDirectory?
    private let configPath: String?

    /// Starts troved. `config` is TOML text written to a file and passed as `--config`;
    /// `environment` is added to troved's (e.g. `TROVE_FAULTS`).
    init(
        root: URL? = nil, config: String? = nil, extraArguments: [String] = [],
        environment: [String: String] = [:]
    ) throws {
        let tmp = try TemporaryDirectory("trove-server")
        owned = root == nil ? tmp : nil
        self.root = root ?? tmp.url.appendingPathComponent("store")
        logURL = tmp.url.appendingPathComponent("troved.log")
        if let config {
            let path = tmp.url.appendingPathComponent("troved.toml").path
            try config.write(toFile: path, atomically: true, encoding: .utf8)
            chmod(path, 0o600)  // troved refuses a config others can read (token hashes are keys)
            configPath = path
        } else {
            configPath = nil
        }
        self.tmpDir = tmp
        try start(extraArguments: extraArguments, environment: environment)
    }

    private let tmpDir: TemporaryDirectory

    /// Starts (or restarts) troved on the same root; waits until it listens.
    func start(extraArguments: [String] = [], environment: [String: String] = [:]) throws {
        let portFile = tmpDir.url.appendingPathComponent("port-\(UUID().uuidString)")
        var args = ["--root", root.path, "--listen", "127.0.0.1:0", "--port-file", portFile.path]
        if let configPath { args += ["--config", configPath] }
        args += extraArguments
        let p = Process()
        p.executableURL = try CLI.binary("troved")
        p.arguments = args
        if !environment.isEmpty {
            p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        if !FileManager.default.fileExists(atPath: logURL.path) {
            _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
        }
        let logHandle = try FileHandle(forWritingTo: logURL)
        logHandle.seekToEndOfFile()
        p.standardError = logHandle
        p.standardOutput = logHandle
        try p.run()
        state.withLock { $0.process = p }
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), text.hasSuffix("\n") {
                state.withLock { $0.address = text.trimmingCharacters(in: .whitespacesAndNewlines) }
                return
            }
            if !p.isRunning {
                throw CLIError(
                    description: "troved exited with \(p.terminationStatus) before listening:\n\(log())")
            }
            usleep(10_000)
        }
        throw CLIError(description: "troved did not start listening within 60 s:\n\(log())")
    }

    /// troved's log so far.
    func log() -> String { (try? String(contentsOf: logURL, encoding: .utf8)) ?? "" }

    /// The troved process id, while running.
    var pid: Int32? {
        guard let p = state.withLock({ $0.process }), p.isRunning else { return nil }
        return p.processIdentifier
    }

    /// Sends `signal` and waits for exit (SIGKILL after `grace` seconds). Returns the exit status.
    @discardableResult
    func stop(signal: Int32 = SIGTERM, grace: TimeInterval = 30) -> Int32 {
        guard let p = state.withLock({ s in defer { s.process = nil }; return s.process }) else { return 0 }
        if p.isRunning { kill(p.processIdentifier, signal) }
        let deadline = Date().addingTimeInterval(grace)
        while p.isRunning && Date() < deadline { usleep(10_000) }
        if p.isRunning { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        return p.terminationStatus
    }

    /// Runs `trove` against this server.
    @discardableResult
    func trove(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:], directory: URL? = nil,
        timeout: TimeInterval = 300
    ) throws -> CLIResult {
        try CLI.trove(
            arguments, stdin: stdin, environment: self.environment.merging(environment) { $1 },
            directory: directory, timeout: timeout)
    }

    deinit { stop() }
}
