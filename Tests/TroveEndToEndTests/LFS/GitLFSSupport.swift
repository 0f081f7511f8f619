import Foundation
import Testing
import TroveCore

/// A scratch world for the git-lfs tests: a troved with its S3 listener (the batch API lives
/// there), a bare repository on local disk as the git remote, and real `git` / `git-lfs` (Debian
/// packages, installed by scripts/setup.d/30-git-lfs.sh; missing tools fail the test).
final class GitLFSWorld {
    let server: S3TestServer
    let dir: TemporaryDirectory
    let git: String
    /// The agent's log ($TROVE_LFS_LOG).
    var logPath: String { dir.url.appendingPathComponent("agent.log").path }
    var remote: String { dir.url.appendingPathComponent("remote.git").path }

    /// `extraArguments` go to troved (e.g. `--tls-cert` / `--tls-key`).
    init(config: String? = nil, extraArguments: [String] = []) throws {
        server = try S3TestServer(config: config, extraArguments: extraArguments)
        dir = try TemporaryDirectory("trove-lfs")
        git = try Self.tool("git")
        _ = try Self.tool("git-lfs")
        try run(["init", "-q", "--bare", remote], in: dir.url)
    }

    static func tool(_ name: String) throws -> String {
        for d in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin").split(separator: ":") {
            let p = "\(d)/\(name)"
            if FileManager.default.isExecutableFile(atPath: p) { return p }
        }
        throw CLIError(
            description:
                "\(name) is not installed: run `bash scripts/setup-tests` (scripts/setup.d/30-git-lfs.sh)")
    }

    /// Environment for git: no user or system config, trove first on PATH, the agent's log and
    /// lease state in the scratch directory.
    func environment(_ extra: [String: String] = [:]) throws -> [String: String] {
        let bin = try CLI.binDirectory().path
        return [
            "HOME": dir.path, "XDG_CONFIG_HOME": dir.url.appendingPathComponent("config").path,
            "XDG_STATE_HOME": dir.url.appendingPathComponent("state").path, "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_TERMINAL_PROMPT": "0",
            "PATH": bin + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"),
            "TROVE_LFS_LOG": logPath, "TROVE_SERVER": server.server.address,
            "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com", "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@example.com",
        ].merging(extra) { $1 }
    }

    /// Runs git; a non-zero exit throws with its output.
    @discardableResult
    func run(_ args: [String], in directory: URL, env: [String: String] = [:], check: Bool = true) throws
        -> CLIResult
    {
        let r = try S3Clients.run(git, args, environment: try environment(env), directory: directory)
        if check, r.status != 0 {
            throw CLIError(description: "git \(args.joined(separator: " ")) failed: \(r)")
        }
        return r
    }

    /// Runs trove in `directory`.
    @discardableResult
    func trove(_ args: [String], in directory: URL, env: [String: String] = [:]) throws -> CLIResult {
        try CLI.trove(args, environment: try environment(env), directory: directory)
    }

    /// A new working repository `name` tracking `*.safetensors` and `*.bin` with git-lfs, origin
    /// the bare remote; `agent` selects `trove lfs-agent` (else the batch API at lfs.url alone).
    func repository(_ name: String, agent: Bool, lfsURL: String? = nil) throws -> URL {
        let url = dir.url.appendingPathComponent(name)
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
        try run(["init", "-q", "-b", "main"], in: url)
        try run(["lfs", "install", "--local"], in: url)
        try run(["lfs", "track", "*.safetensors", "*.bin"], in: url)
        try run(["config", "lfs.url", lfsURL ?? "\(server.endpoint)/_lfs/\(name)"], in: url)
        try run(["remote", "add", "origin", remote], in: url)
        if agent {
            let r = try trove(["lfs", "install", "--server", server.server.address], in: url)
            #expect(r.status == 0, "\(r)")
        }
        return url
    }

    /// Clones the remote's main branch into `dir` without fetching objects, with git-lfs's
    /// filters installed there (objects come with `git lfs pull`).
    func clone(into dir: URL) throws {
        try run(
            ["clone", "-q", "-b", "main", remote, dir.path], in: self.dir.url,
            env: ["GIT_LFS_SKIP_SMUDGE": "1"])
        try run(["lfs", "install", "--local"], in: dir)
    }

    /// Hex SHA-256 of a file (compared as text: a failed comparison of 64 MiB values would
    /// make the test framework diff them for minutes).
    func sha256(_ file: URL) throws -> String {
        SHA256.hash(Array(try Data(contentsOf: file))).hex
    }

    /// The agent log's lines about uploads of `oid`.
    func uploads(of oid: String) -> [String] {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").map(String.init).filter {
            $0.hasPrefix("trove lfs-agent: upload \(oid):")
        }
    }

    /// `key=NUMBER` from a log line.
    static func number(_ key: String, in line: String) -> UInt64? {
        guard let r = line.range(of: key + "=") else { return nil }
        return UInt64(line[r.upperBound...].prefix { $0.isNumber })
    }
}

/// Test files: a safetensors model (one U8 tensor of random bytes) and its SHA-256.
enum LFSFixtures {
    /// `size` bytes: an 8-byte header length, the JSON header padded with spaces to 8 bytes,
    /// then the tensor data, deterministic from `seed`.
    static func safetensors(size: Int, seed: UInt64) -> [UInt8] {
        var header = Array(#"{"weight":{"dtype":"U8","shape":[N],"data_offsets":[0,N]}}"#.utf8)
        var data = 0
        for _ in 0..<2 {
            let n = size - 8 - header.count
            data = n
            header = Array(#"{"weight":{"dtype":"U8","shape":[\#(n)],"data_offsets":[0,\#(n)]}}"#.utf8)
            while (8 + header.count) % 8 != 0 { header.append(0x20) }
        }
        precondition(8 + header.count + data == size)
        var out = [UInt8](repeating: 0, count: size)
        var len = UInt64(header.count).littleEndian
        withUnsafeBytes(of: &len) { for i in 0..<8 { out[i] = $0[i] } }
        out.replaceSubrange(8..<(8 + header.count), with: header)
        var rng = SplitMix64(seed: seed)
        out.withUnsafeMutableBytes {
            rng.fill(UnsafeMutableRawBufferPointer(rebasing: $0[(8 + header.count)...]))
        }
        return out
    }

    static func oid(_ bytes: [UInt8]) -> String { SHA256.hash(bytes).hex }
}
