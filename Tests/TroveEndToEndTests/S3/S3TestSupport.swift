import Foundation
import Testing

/// A troved with its S3 listener on an ephemeral loopback port, and the real S3 clients the
/// tests drive (aws CLI and boto3 from `.venv-s3`, which scripts/setup installs; else from PATH).
final class S3TestServer {
    let server: TestServer
    let s3Address: String
    private let scratch: TemporaryDirectory

    var endpoint: String { "http://\(s3Address)" }

    init(config: String? = nil, extraArguments: [String] = []) throws {
        let scratch = try TemporaryDirectory("trove-s3")
        self.scratch = scratch
        let portFile = scratch.url.appendingPathComponent("s3-port").path
        server = try TestServer(config: config, extraArguments: ["--s3-listen", "127.0.0.1:0", "--s3-port-file", portFile] + extraArguments)
        let deadline = Date().addingTimeInterval(60)
        var address = ""
        while Date() < deadline {
            if let text = try? String(contentsOfFile: portFile, encoding: .utf8), text.hasSuffix("\n") {
                address = text.trimmingCharacters(in: .whitespacesAndNewlines)
                break
            }
            usleep(10_000)
        }
        guard !address.isEmpty else { throw CLIError(description: "the S3 listener did not start:\n\(server.log())") }
        s3Address = address
    }

    /// Environment for a client using `key` / `secret`.
    func environment(key: String = "any", secret: String = "any") -> [String: String] {
        [
            "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret, "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null", "S3_ENDPOINT": endpoint,
            "AWS_EC2_METADATA_DISABLED": "true",
        ]
    }

    /// Runs the aws CLI against this server.
    @discardableResult
    func aws(_ args: [String], key: String = "any", secret: String = "any", directory: URL? = nil) throws -> CLIResult {
        try S3Clients.run(
            try S3Clients.tool("aws"), ["--endpoint-url", endpoint] + args, environment: environment(key: key, secret: secret),
            directory: directory)
    }

    /// Runs a Python script (with boto3) against this server; `S3_ENDPOINT` names it.
    @discardableResult
    func python(
        _ script: String, key: String = "any", secret: String = "any", extra: [String: String] = [:],
        venv: String = ".venv-s3"
    ) throws -> CLIResult {
        let file = try scratch.write("script-\(UUID().uuidString).py", Array(script.utf8))
        return try S3Clients.run(
            try S3Clients.tool("python", venv: venv), [file], environment: environment(key: key, secret: secret).merging(extra) { $1 })
    }
}

/// Finds the S3 clients; a missing client is a test failure, not a skip (scripts/setup installs them).
enum S3Clients {
    static var packageRoot: URL {
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().deletingLastPathComponent()
    }

    static func tool(_ name: String, venv venvName: String = ".venv-s3") throws -> String {
        let venv = packageRoot.appendingPathComponent("\(venvName)/bin/\(name)").path
        if FileManager.default.isExecutableFile(atPath: venv) { return venv }
        let fallback = name == "python" ? "python3" : name
        for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":") {
            let p = "\(dir)/\(fallback)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw CLIError(description: "\(name) is not installed: run `bash scripts/setup` (it creates \(venvName))")
    }

    /// Runs a client; `unset` names variables of the test's environment it must not see.
    static func run(
        _ exe: String, _ args: [String], environment: [String: String], directory: URL? = nil, unset: [String] = []
    ) throws -> CLIResult {
        let scratch = try TemporaryDirectory("s3-client")
        let out = scratch.url.appendingPathComponent("out")
        let err = scratch.url.appendingPathComponent("err")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        FileManager.default.createFile(atPath: err.path, contents: nil)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: exe)
        p.arguments = args
        var env = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        for name in unset { env[name] = nil }
        p.environment = env
        if let directory { p.currentDirectoryURL = directory }
        p.standardOutput = try FileHandle(forWritingTo: out)
        p.standardError = try FileHandle(forWritingTo: err)
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(300)
        var timedOut = false
        while p.isRunning {
            if Date() > deadline {
                timedOut = true
                kill(p.processIdentifier, SIGKILL)
                break
            }
            usleep(5000)
        }
        p.waitUntilExit()
        return CLIResult(
            status: p.terminationStatus, stdoutData: try Data(contentsOf: out), stderrData: try Data(contentsOf: err),
            timedOut: timedOut)
    }
}
