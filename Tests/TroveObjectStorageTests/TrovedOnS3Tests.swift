import Foundation
import Testing
import TroveObjectStorage

/// The built `troved` and `trove` with `[storage] packs = "s3"` on the shared SeaweedFS: push,
/// pull, lose the local pack cache, pull again, fsck with `--config`; and a refused start.
@Suite("troved with packs in S3", .serialized)
struct TrovedOnS3Tests {
    /// The folder of the built executables (next to the test runner, `.build/debug`).
    static var binDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath().deletingLastPathComponent()
    }

    /// Runs a built executable; (exit status, stdout + stderr).
    @discardableResult
    static func run(_ name: String, _ args: [String], env: [String: String] = [:]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = binDirectory.appendingPathComponent(name)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("out-\(UUID().uuidString)")
        FileManager.default.createFile(atPath: out.path, contents: nil)
        defer { try? FileManager.default.removeItem(at: out) }
        let h = try FileHandle(forWritingTo: out)
        p.standardOutput = h
        p.standardError = h
        p.standardInput = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        try h.close()
        return (p.terminationStatus, (try? String(contentsOf: out, encoding: .utf8)) ?? "")
    }

    /// A running troved on `root` with `config`; its address.
    final class Daemon {
        let process = Process()
        let address: String

        init(root: String, config: String, scratch: String, extra: [String] = []) throws {
            let portFile = scratch + "/port-\(UUID().uuidString)"
            process.executableURL = TrovedOnS3Tests.binDirectory.appendingPathComponent("troved")
            process.arguments =
                ["--root", root, "--config", config, "--listen", "127.0.0.1:0", "--port-file", portFile] + extra
            let log = scratch + "/troved.log"
            if !FileManager.default.fileExists(atPath: log) { FileManager.default.createFile(atPath: log, contents: nil) }
            let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
            h.seekToEndOfFile()
            process.standardOutput = h
            process.standardError = h
            try process.run()
            let deadline = Date().addingTimeInterval(60)
            while Date() < deadline {
                if let t = try? String(contentsOfFile: portFile, encoding: .utf8), t.hasSuffix("\n") {
                    address = t.trimmingCharacters(in: .whitespacesAndNewlines)
                    return
                }
                guard process.isRunning else { break }
                usleep(20_000)
            }
            process.terminate()
            throw SeaweedError("troved did not start: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
        }

        func stop() {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// A troved with packs and objects on a fresh bucket of `weed` and its metrics listener on,
    /// in a scratch directory of its own; `stop` ends it and removes the directory.
    final class WithMetrics {
        let dir: String
        let daemon: Daemon
        /// The metrics listener's HOST:PORT.
        let metrics: String

        init(weed: SeaweedFS, bucket: String) throws {
            dir = try TrovedOnS3Tests.scratch()
            let client = try weed.client(bucket: bucket)
            let cfg = try TrovedOnS3Tests.config(dir, client: client, secret: client.config.secretAccessKey)
            let portFile = dir + "/metrics-port"
            daemon = try Daemon(
                root: dir + "/root", config: cfg, scratch: dir,
                extra: ["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", portFile])
            do { metrics = try TrovedOnS3Tests.address(inFile: portFile) } catch {
                daemon.stop()
                throw error
            }
        }

        func stop() {
            daemon.stop()
            try? FileManager.default.removeItem(atPath: dir)
        }
    }

    /// The HOST:PORT troved writes to `--metrics-port-file` once it listens (waits up to 30 s).
    static func address(inFile portFile: String) throws -> String {
        for _ in 0..<300 {
            let address = ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if !address.isEmpty { return address }
            usleep(100_000)
        }
        throw SeaweedError("troved wrote no metrics port file")
    }

    static func scratch() throws -> String {
        let dir = NSTemporaryDirectory() + "trove-s3e2e-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        return dir
    }

    static func config(_ dir: String, client: S3Client, secret: String) throws -> String {
        try secret.write(toFile: dir + "/secret", atomically: true, encoding: .utf8)
        let text = """
            [storage]
            packs = "s3"
            [storage.s3]
            endpoint = "\(client.config.endpoint)"
            bucket = "\(client.config.bucket)"
            prefix = "e2e/"
            access_key_id = "\(client.config.accessKeyID)"
            secret_access_key_file = "\(dir)/secret"
            """
        try text.write(toFile: dir + "/troved.toml", atomically: true, encoding: .utf8)
        // troved refuses a config others can read (it may hold token hashes and key paths).
        for f in ["troved.toml", "secret"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/" + f)
        }
        return dir + "/troved.toml"
    }

    @Test func pushPullLoseTheLocalPacksPullAgainFsck() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = try SeaweedFS.client(bucket: "e2e")
        let cfg = try Self.config(dir, client: client, secret: client.config.secretAccessKey)
        let root = dir + "/root"
        var content = [UInt8]()
        for i in 0..<(3 << 20) { content.append(UInt8(truncatingIfNeeded: i &* 2_654_435_761 >> 13)) }
        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: dir + "/src/model.bin"))

        var daemon = try Daemon(root: root, config: cfg, scratch: dir)
        let env = ["TROVE_SERVER": daemon.address]
        let push = try Self.run("trove", ["push", dir + "/src", "models/s3:1"], env: env)
        #expect(push.0 == 0, "\(push.1)")
        #expect(try !client.list(prefix: "e2e/packs/").isEmpty)
        let pull = try Self.run("trove", ["pull", "models/s3:1", dir + "/out1"], env: env)
        #expect(pull.0 == 0, "\(pull.1)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out1/model.bin")) == Data(content))
        daemon.stop()

        // The local pack cache is gone: the packs come back from the object store.
        try FileManager.default.removeItem(atPath: root + "/packs")
        try FileManager.default.createDirectory(atPath: root + "/packs", withIntermediateDirectories: true)
        daemon = try Daemon(root: root, config: cfg, scratch: dir)
        let again = try Self.run("trove", ["pull", "models/s3:1", dir + "/out2"], env: ["TROVE_SERVER": daemon.address])
        #expect(again.0 == 0, "\(again.1)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out2/model.bin")) == Data(content))
        daemon.stop()

        let fsck = try Self.run("troved", ["fsck", "--root", root, "--config", cfg, "--deep"])
        #expect(fsck.0 == 0, "\(fsck.1)")
        #expect(fsck.1.contains("clean"))
    }

    @Test func aWrongSecretStopsTrovedAtStart() throws {
        let dir = try Self.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let client = try SeaweedFS.client(bucket: "e2e")
        let cfg = try Self.config(dir, client: client, secret: "not-the-secret")
        let r = try Self.run("troved", ["--root", dir + "/root", "--config", cfg, "--listen", "127.0.0.1:0"])
        #expect(r.0 != 0)
        #expect(r.1.contains("the S3 bucket for packs does not answer"), "\(r.1)")
        #expect(r.1.contains("403"), "\(r.1)")
    }
}
