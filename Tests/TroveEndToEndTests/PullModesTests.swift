import Foundation
import Testing
import TroveCore

/// `trove pull` is exact and safe (issue 13): absent/empty DEST → exactly the version; non-empty
/// → refused unless --force (exactly the version, with a report) or --merge; staged and switched
/// into place; an interrupted pull resumes from what it kept.
@Suite("trove pull: exact, --force, --merge, resume")
struct PullModesTests {
    /// A server with `p/tree:1` = PullTests' tree (about 3 MB in ~50 chunks), and its source.
    static func setUp() throws -> (TestServer, TemporaryDirectory, URL) {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let src = try PullTests.makeTree(dir)
        let push = try server.trove(["push", src.path, "p/tree:1"])
        #expect(push.status == 0, "\(push)")
        return (server, dir, src)
    }

    /// Names under `dir` that belong to a pull's stage or aside directory.
    static func leftovers(_ dir: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: dir.path).filter {
            $0.contains(".trove-pull-") || $0.contains(".trove-old-")
        }
    }

    @Test func absentOrEmptyDestinationGetsExactlyTheVersion() throws {
        let (server, dir, src) = try Self.setUp()
        let absent = dir.url.appendingPathComponent("new/deeper/out")
        let r = try server.trove(["pull", "p/tree:1", absent.path])
        #expect(r.status == 0, "\(r)")
        #expect(try PullTests.snapshot(absent) == (try PullTests.snapshot(src)))
        #expect(try Self.leftovers(absent.deletingLastPathComponent()).isEmpty)

        let empty = dir.url.appendingPathComponent("empty")
        try FileManager.default.createDirectory(at: empty, withIntermediateDirectories: true)
        let e = try server.trove(["pull", "p/tree:1", empty.path])
        #expect(e.status == 0, "\(e)")
        #expect(try PullTests.snapshot(empty) == (try PullTests.snapshot(src)))
    }

    @Test func nonEmptyDestinationIsRefusedNamingWhatIsInTheWay() throws {
        let (server, dir, _) = try Self.setUp()
        try dir.write("busy/notes.txt", Array("mine".utf8))
        try dir.write("busy/model/weights.bin", Array("local edit".utf8))
        let busy = dir.url.appendingPathComponent("busy")
        let before = try PullTests.snapshot(busy)
        let r = try server.trove(["pull", "p/tree:1", busy.path])
        #expect(r.status == 4, "\(r)")
        #expect(r.stderr.contains("is not empty (in the way: model, notes.txt)"), "\(r)")
        #expect(r.stderr.contains("--force") && r.stderr.contains("--merge"), "\(r)")
        #expect(try PullTests.snapshot(busy) == before)
    }

    @Test func forceLeavesExactlyTheVersionAndReportsReplacedAndRemoved() throws {
        let (server, dir, src) = try Self.setUp()
        let dest = dir.url.appendingPathComponent("dest")
        try dir.write("dest/stale.txt", Array("old".utf8))
        try dir.write("dest/model/weights.bin", Array("local edit".utf8))
        try dir.write("dest/run.sh", Array("#!/bin/sh\necho hi\n".utf8))  // same bytes as the version
        let (r, j) = try ClientE2E.json(server, ["pull", "p/tree:1", dest.path, "--force"])
        #expect(r.status == 0, "\(r)")
        #expect(try PullTests.snapshot(dest) == (try PullTests.snapshot(src)))
        #expect(j["replaced"] as? [String] == ["model/weights.bin"], "\(j)")
        #expect(j["removed"] as? [String] == ["stale.txt"], "\(j)")
        #expect(try Self.leftovers(dest).isEmpty)

        try dir.write("dest/stale.txt", Array("old".utf8))
        let text = try server.trove(["pull", "p/tree:1", dest.path, "--force"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("replaced 0 files, removed 1\n  removed   stale.txt"), "\(text)")
    }

    @Test func mergeWritesOverAndKeepsOtherFiles() throws {
        let (server, dir, _) = try Self.setUp()
        let dest = dir.url.appendingPathComponent("dest")
        try dir.write("dest/stale.txt", Array("old".utf8))
        try dir.write("dest/model/weights.bin", Array("local edit".utf8))
        let r = try server.trove(["pull", "p/tree:1", dest.path, "--merge"])
        #expect(r.status == 0, "\(r)")
        #expect(try ClientE2E.read(dest.appendingPathComponent("stale.txt").path) == Array("old".utf8))
        #expect(try ClientE2E.read(dest.appendingPathComponent("model/weights.bin").path).count == 1_500_000)
        let both = try server.trove(["pull", "p/tree:1", dest.path, "--merge", "--force"])
        #expect(both.status == 2, "\(both)")
    }

    @Test func anInterruptedPullLeavesDestAsItWasAndResumesFromWhatItKept() throws {
        let (server, dir, src) = try Self.setUp()
        // How many chunks a full pull fetches.
        let (full, fj) = try ClientE2E.json(
            server, ["pull", "p/tree:1", dir.url.appendingPathComponent("full").path])
        #expect(full.status == 0, "\(full)")
        let total = ClientE2E.int(fj["chunksFetched"])
        #expect(total > 10, "\(fj)")

        // Into an existing non-empty directory with --force: interrupted, it is left untouched.
        let dest = dir.url.appendingPathComponent("dest")
        try dir.write("dest/keep.txt", Array("keep".utf8))
        let before = try PullTests.snapshot(dest)
        let stopped = try server.trove(
            ["pull", "p/tree:1", dest.path, "--force"],
            environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "6"])
        #expect(stopped.status == 130, "\(stopped)")
        #expect(stopped.stderr.contains("interrupted: kept "), "\(stopped)")
        #expect(
            stopped.stderr.contains("(\(dest.path) is unchanged). Run the same command again to resume"),
            "\(stopped)")
        let stage = try #require(try Self.leftovers(dest).first)
        #expect(try PullTests.snapshot(dest).filter { !$0.key.hasPrefix(".trove-") } == before)

        // Damage one kept byte: verification chunk by chunk refetches that chunk only.
        let kept = dest.appendingPathComponent(stage).appendingPathComponent("data/deep/er/copy-again.bin")
        let weights = dest.appendingPathComponent(stage).appendingPathComponent("model/weights.bin")
        let partial = FileManager.default.fileExists(atPath: kept.path) ? kept : weights
        let handle = try FileHandle(forUpdating: partial)
        try handle.seek(toOffset: 10)
        try handle.write(contentsOf: Data([0xFF, 0x00, 0xFF]))
        try handle.close()

        let (resumed, rj) = try ClientE2E.json(server, ["pull", "p/tree:1", dest.path, "--force"])
        #expect(resumed.status == 0, "\(resumed)")
        let reused = ClientE2E.int(rj["chunksReused"])
        #expect(reused >= 4, "\(rj)")
        #expect(ClientE2E.int(rj["chunksFetched"]) < total, "\(rj)")
        #expect(rj["removed"] as? [String] == ["keep.txt"], "\(rj)")
        #expect(try PullTests.snapshot(dest) == (try PullTests.snapshot(src)))
        #expect(try Self.leftovers(dest).isEmpty)
    }

    @Test func aPullOfAnotherVersionRemovesTheStagesOfInterruptedOnes() throws {
        let (server, dir, _) = try Self.setUp()
        let other = try dir.write("other/x.bin", ClientE2E.random(seed: 161, count: 100_000))
        #expect(try server.trove(["push", other, "p/tree:2"]).status == 0)
        let dest = dir.url.appendingPathComponent("d")
        let stopped = try server.trove(
            ["pull", "p/tree:1", dest.path], environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "2"])
        #expect(stopped.status == 130, "\(stopped)")
        #expect(try Self.leftovers(dir.url).count == 1)
        let r = try server.trove(["pull", "p/tree:2", dest.path])
        #expect(r.status == 0, "\(r)")
        #expect(try Self.leftovers(dir.url).isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dest.path) == ["x.bin"])
    }

    @Test func anInterruptedPullIntoANewDirectoryResumesToo() throws {
        let (server, dir, src) = try Self.setUp()
        let dest = dir.url.appendingPathComponent("fresh")
        let stopped = try server.trove(
            ["pull", "p/tree:1", dest.path], environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "3"])
        #expect(stopped.status == 130, "\(stopped)")
        #expect(!FileManager.default.fileExists(atPath: dest.path))
        #expect(try Self.leftovers(dir.url).count == 1)
        let (r, j) = try ClientE2E.json(server, ["pull", "p/tree:1", dest.path])
        #expect(r.status == 0, "\(r)")
        #expect(ClientE2E.int(j["chunksReused"]) >= 3, "\(j)")
        #expect(try PullTests.snapshot(dest) == (try PullTests.snapshot(src)))
        #expect(try Self.leftovers(dir.url).isEmpty)
    }
}

/// Ctrl-C (a real SIGINT) while a command waits on the server: it says what was kept and how to
/// resume, and exits 130. The server accepts and never answers, so the command is certainly
/// waiting (its handler is installed before it connects) when the signal comes.
@Suite("Ctrl-C")
struct InterruptTests {
    static func interrupt(_ args: [String]) throws -> CLIResult {
        let silent = try FakeServer(answer: [])
        let dir = try TemporaryDirectory("trove-sigint")
        let err = dir.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: err)
        let p = Process()
        p.executableURL = try CLI.binary("trove")
        p.arguments = args + ["--server", silent.address]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errHandle
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        while silent.accepted.withValue({ $0 }) == 0 && p.isRunning && Date() < deadline { usleep(5000) }
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        try errHandle.close()
        return CLIResult(
            status: p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus,
            stdoutData: Data(), stderrData: try Data(contentsOf: err), timedOut: false)
    }

    @Test func pushSaysNothingIsLostAndHowToResume() throws {
        let dir = try TemporaryDirectory()
        let f = try dir.write("f.bin", ClientE2E.random(seed: 151, count: 10_000))
        let r = try Self.interrupt(["push", f, "x/y:1"])
        #expect(r.status == 130, "\(r)")
        #expect(r.stderr.contains("interrupted: no version was created"), "\(r)")
        #expect(r.stderr.contains("run the same command again to resume"), "\(r)")
    }

    @Test func pullSaysDestIsUnchanged() throws {
        let dir = try TemporaryDirectory()
        let dest = dir.url.appendingPathComponent("out").path
        let r = try Self.interrupt(["pull", "x/y:1", dest])
        #expect(r.status == 130, "\(r)")
        #expect(r.stderr.contains("interrupted: \(dest) is unchanged"), "\(r)")
        #expect(!FileManager.default.fileExists(atPath: dest))
    }
}
