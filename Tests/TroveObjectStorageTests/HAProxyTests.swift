import Foundation
import Testing
import TroveObjectStorage

/// The sample load-balancer config, `etc/haproxy-troved.cfg`: HAProxy accepts it, and with its
/// Trove backend pointed at a troved on loopback (packs and objects in a SeaweedFS of the test's
/// own) it routes the protocol through, takes the instance out while `/readyz` fails (the object
/// store stopped) and back in once it answers.
@Suite("HAProxy in front of troved", .serialized)
struct HAProxyTests {
    typealias T = TrovedOnS3Tests

    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func haproxy() throws -> String {
        for p in ["/usr/sbin/haproxy", "/usr/bin/haproxy", "/usr/local/sbin/haproxy"]
        where FileManager.default.isExecutableFile(atPath: p) {
            return p
        }
        throw SeaweedError("haproxy is not installed: run `bash scripts/setup-tests` (scripts/setup.d/23-haproxy.sh)")
    }

    /// Runs `args` (an absolute executable first); (exit status, output).
    static func exec(_ args: [String]) throws -> (Int32, String) {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: args[0])
        p.arguments = Array(args.dropFirst())
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        try p.run()
        let out = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return (p.terminationStatus, String(decoding: out, as: UTF8.self))
    }

    @Test func theSampleConfigIsValid() throws {
        let r = try Self.exec([try Self.haproxy(), "-c", "-f", Self.repository.path + "/etc/haproxy-troved.cfg"])
        #expect(r.0 == 0, "\(r.1)")
    }

    /// Polls `trove ls` against `server` until its exit status is zero (`ok`) or not; the last result.
    func awaitLs(_ server: String, ok: Bool, seconds: Double) throws -> (Int32, String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try T.run("trove", ["ls"], env: ["TROVE_SERVER": server])
        while (last.0 == 0) != ok && Date() < deadline {
            usleep(250_000)
            last = try T.run("trove", ["ls"], env: ["TROVE_SERVER": server])
        }
        return last
    }

    @Test func routesOnReadyz() throws {
        let haproxy = try Self.haproxy()
        let weed = try SeaweedFS.dedicated()
        defer { weed.stop() }
        let troved = try T.WithMetrics(weed: weed, bucket: "lb")
        defer { troved.stop() }
        let dir = troved.dir
        let daemon = troved.daemon
        let metricsPort = try #require(troved.metrics.split(separator: ":").last.map(String.init))
        let lbPort = try #require(SeaweedFS.freePortBase(count: 1))

        // The sample, its Trove backend pointed at this troved (the S3 API part left out).
        let sample = try String(contentsOfFile: Self.repository.path + "/etc/haproxy-troved.cfg", encoding: .utf8)
        var lines: [String] = []
        for line in sample.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
            if line.hasPrefix("# The S3 API") { break }
            if line.trimmingCharacters(in: .whitespaces).hasPrefix("server ") {
                if line.contains(" a ") { lines.append("    server a \(daemon.address)") }
                continue
            }
            lines.append(
                line.replacingOccurrences(of: "bind :7420", with: "bind 127.0.0.1:\(lbPort)")
                    .replacingOccurrences(of: "check port 9420", with: "check port \(metricsPort)"))
        }
        let lbConfig = dir + "/haproxy.cfg"
        try lines.joined(separator: "\n").write(toFile: lbConfig, atomically: true, encoding: .utf8)
        let lb = Process()
        lb.executableURL = URL(fileURLWithPath: haproxy)
        lb.arguments = ["-db", "-f", lbConfig]
        let log = FileHandle(forWritingAtPath: "/dev/null")
        lb.standardOutput = log
        lb.standardError = log
        try lb.run()
        defer {
            lb.terminate()
            lb.waitUntilExit()
        }
        let through = "127.0.0.1:\(lbPort)"

        try FileManager.default.createDirectory(atPath: dir + "/src", withIntermediateDirectories: true)
        try Data("through the balancer\n".utf8).write(to: URL(fileURLWithPath: dir + "/src/a.txt"))
        #expect(try awaitLs(through, ok: true, seconds: 60).0 == 0)
        let push = try T.run("trove", ["push", dir + "/src", "lb/x:1"], env: ["TROVE_SERVER": through])
        #expect(push.0 == 0, "\(push.1)")

        // The object store stops: /readyz fails, HAProxy takes troved out (it still answers directly).
        try weed.pause()
        let out = try awaitLs(through, ok: false, seconds: 60)
        #expect(out.0 != 0, "\(out.1)")
        let direct = try T.run("trove", ["ls"], env: ["TROVE_SERVER": daemon.address])
        #expect(direct.0 == 0, "\(direct.1)")

        try weed.resume()
        let back = try awaitLs(through, ok: true, seconds: 120)
        #expect(back.0 == 0, "\(back.1)")
        let pull = try T.run("trove", ["pull", "lb/x:1", dir + "/out"], env: ["TROVE_SERVER": through])
        #expect(pull.0 == 0, "\(pull.1)")
    }
}
