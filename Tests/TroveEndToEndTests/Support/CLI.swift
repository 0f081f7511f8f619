import Foundation

/// What a finished command did.
struct CLIResult: CustomStringConvertible {
    /// Exit status (or 128 + signal number if it was killed by a signal).
    let status: Int32
    /// Raw standard output.
    let stdoutData: Data
    /// Raw standard error.
    let stderrData: Data
    /// True when the process was killed because it ran past its timeout.
    let timedOut: Bool

    var stdout: String { String(decoding: stdoutData, as: UTF8.self) }
    var stderr: String { String(decoding: stderrData, as: UTF8.self) }
    /// Standard output split into lines (without the trailing empty line).
    var lines: [String] {
        var l = stdout.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        if l.last == "" { l.removeLast() }
        return l
    }

    var description: String {
        "exit \(status)\(timedOut ? " (timed out)" : "")\n--- stdout ---\n\(stdout.prefix(4000))\n"
            + "--- stderr ---\n\(stderr.prefix(4000))"
    }
}

/// Errors from locating or starting a binary.
struct CLIError: Error, CustomStringConvertible {
    let description: String
}

/// Runs the built `trove` / `troved` executables for end-to-end tests.
///
/// Binaries are found in `$TROVE_BIN_DIR` if set; else next to the test bundle executable
/// (`dirname CommandLine.arguments[0]`, i.e. `.build*/debug`); else in the most recently built
/// `.build*/debug` (or `release`) folder of the package. Output goes through temporary files, so
/// commands with large output never block on a full pipe.
enum CLI {
    /// The folder that holds the built executables.
    static func binDirectory(containing name: String = "trove") throws -> URL {
        let fm = FileManager.default
        func has(_ dir: URL) -> Bool { fm.isExecutableFile(atPath: dir.appendingPathComponent(name).path) }
        if let env = ProcessInfo.processInfo.environment["TROVE_BIN_DIR"], !env.isEmpty {
            let dir = URL(fileURLWithPath: env)
            guard has(dir) else {
                throw CLIError(description: "TROVE_BIN_DIR=\(env) holds no executable '\(name)'")
            }
            return dir
        }
        var candidates: [URL] = []
        if let arg0 = CommandLine.arguments.first {
            candidates.append(
                URL(fileURLWithPath: arg0).resolvingSymlinksInPath().deletingLastPathComponent())
        }
        if let exe = Bundle.main.executableURL { candidates.append(exe.deletingLastPathComponent()) }
        // .../Foo.xctest/Contents/MacOS/Foo on macOS: the products are three levels up.
        if let exe = Bundle.main.executableURL {
            candidates.append(
                exe.deletingLastPathComponent().deletingLastPathComponent()
                    .deletingLastPathComponent().deletingLastPathComponent())
        }
        for dir in candidates where has(dir) { return dir }
        // Fallback: newest .build*/{debug,release}/name under the package root.
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
        var best: (URL, Date)?
        let entries = (try? fm.contentsOfDirectory(atPath: root.path)) ?? []
        for entry in entries where entry.hasPrefix(".build") {
            for config in ["debug", "release"] {
                let dir = root.appendingPathComponent(entry).appendingPathComponent(config)
                let exe = dir.appendingPathComponent(name)
                guard has(dir), let attrs = try? fm.attributesOfItem(atPath: exe.path),
                    let date = attrs[.modificationDate] as? Date
                else { continue }
                if best == nil || date > best!.1 { best = (dir, date) }
            }
        }
        if let best { return best.0 }
        throw CLIError(
            description: "cannot find the '\(name)' executable; build it (swift build) or set TROVE_BIN_DIR")
    }

    /// The path of a built executable.
    static func binary(_ name: String) throws -> URL {
        try binDirectory(containing: name).appendingPathComponent(name)
    }

    /// Runs `name` with `arguments` and waits for it.
    ///
    /// - Parameters:
    ///   - stdin: bytes fed to standard input (empty input if nil).
    ///   - environment: added to (and overriding) the test process's environment.
    ///   - directory: working directory (the current one if nil).
    ///   - timeout: seconds before the process is killed (SIGKILL); `timedOut` is then true.
    @discardableResult
    static func run(
        _ name: String, _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:],
        directory: URL? = nil, timeout: TimeInterval = 300
    ) throws -> CLIResult {
        let fm = FileManager.default
        let scratch = fm.temporaryDirectory.appendingPathComponent("trove-cli-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: scratch) }
        let outURL = scratch.appendingPathComponent("stdout")
        let errURL = scratch.appendingPathComponent("stderr")
        let inURL = scratch.appendingPathComponent("stdin")
        try (stdin ?? Data()).write(to: inURL)
        _ = fm.createFile(atPath: outURL.path, contents: nil)
        _ = fm.createFile(atPath: errURL.path, contents: nil)
        let outHandle = try FileHandle(forWritingTo: outURL)
        let errHandle = try FileHandle(forWritingTo: errURL)
        let inHandle = try FileHandle(forReadingFrom: inURL)
        defer {
            try? outHandle.close()
            try? errHandle.close()
            try? inHandle.close()
        }

        let process = Process()
        process.executableURL = try binary(name)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        if let directory { process.currentDirectoryURL = directory }
        process.standardInput = inHandle
        process.standardOutput = outHandle
        process.standardError = errHandle
        try process.run()

        let deadline = Date().addingTimeInterval(timeout)
        var timedOut = false
        while process.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(process.processIdentifier, SIGKILL)
                break
            }
            usleep(2000)
        }
        process.waitUntilExit()
        let status: Int32 =
            process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return CLIResult(
            status: status, stdoutData: try Data(contentsOf: outURL),
            stderrData: try Data(contentsOf: errURL),
            timedOut: timedOut)
    }

    /// Runs `trove` with `arguments`.
    @discardableResult
    static func trove(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:], directory: URL? = nil,
        timeout: TimeInterval = 300
    ) throws -> CLIResult {
        try run(
            "trove", arguments, stdin: stdin, environment: environment, directory: directory, timeout: timeout
        )
    }

    /// Runs `troved` with `arguments` to completion (for long-running servers, start a `Process`
    /// with `binary("troved")` instead).
    @discardableResult
    static func troved(
        _ arguments: [String], stdin: Data? = nil, environment: [String: String] = [:], directory: URL? = nil,
        timeout: TimeInterval = 300
    ) throws -> CLIResult {
        try run(
            "troved", arguments, stdin: stdin, environment: environment, directory: directory,
            timeout: timeout)
    }
}

/// A temporary directory removed when the value is released.
final class TemporaryDirectory: Sendable {
    let url: URL
    var path: String { url.path }

    init(_ prefix: String = "trove-test") throws {
        url = FileManager.default.temporaryDirectory.appendingPathComponent("\(prefix)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(at: url) }

    /// Writes `bytes` to `name` inside the directory and returns its path.
    @discardableResult
    func write(_ name: String, _ bytes: [UInt8]) throws -> String {
        let file = url.appendingPathComponent(name)
        try FileManager.default.createDirectory(
            at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try Data(bytes).write(to: file)
        return file.path
    }
}
