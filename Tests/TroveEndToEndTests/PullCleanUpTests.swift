import Foundation
import Testing
import TroveCore

@testable import TroveClient

extension SmallFilesystem {
    /// Files and directories that can still be made (`statvfs`).
    var freeInodes: Int {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return -1 }
        return Int(st.f_ffree)
    }

    /// Remounts the tmpfs so that exactly `free` more files or directories fit beside those it
    /// holds (`nr_inodes`); making one more fails with `ENOSPC`.
    func limitInodes(free: Int) throws {
        var st = statvfs()
        try #require(statvfs(path, &st) == 0, "statvfs \(path): errno \(errno)")
        let used = Int(st.f_files) - Int(st.f_ffree)
        let r = try CLI.runTool(path: "/bin/mount", ["-o", "remount,nr_inodes=\(used + free)", path])
        guard r.status == 0 else { throw CLIError(description: "remount of \(path) failed: \(r.output)") }
        try #require(freeInodes == free, "\(freeInodes) inodes free after asking for \(free)")
    }
}

/// A pull into a new directory (not `--merge`) that fails leaves the filesystem as it was: no
/// stage, and none of the destination's parents it made — removed deepest first and only while
/// empty, so directories that were there before, and one something else filled meanwhile, stay
/// with what they hold. That holds wherever the failure comes: making the parents, the stage, the
/// version's directories or files, a write, and the final `rename` of the complete stage into
/// place, whose error says why and what to do (exit 1, like the other I/O failures of a pull).
@Suite("a failed pull into a new directory leaves nothing behind", .serialized)
struct PullCleanUpTests {
    typealias Version = PullDiskFullTests.Version

    static func listing(_ dir: String) throws -> [String] { try PullDiskFullTests.listing(dir) }

    /// A troved holding a version with a 1 MiB file pushed as `name`, its ref, and an empty
    /// directory to pull beneath.
    static func pushed(_ name: String) throws -> (
        server: TestServer, version: Version, ref: String, dir: TemporaryDirectory
    ) {
        let server = try TestServer()
        let version = Version(large: 1 << 20)
        let ref = try version.push(server, name)
        return (server, version, ref, try TemporaryDirectory("trove-pull-clean"))
    }

    /// ``pushed(_:)`` with ``before`` written into the directory, and the directory's listing then.
    static func pushedBeneathKeep(_ name: String) throws
        -> (server: TestServer, version: Version, ref: String, dir: TemporaryDirectory, kept: [String])
    {
        let (server, version, ref, dir) = try pushed(name)
        try PullDiskFullTests.write(before, under: dir.path)
        return (server, version, ref, dir, try listing(dir.path))
    }

    /// What was there before the pull: a directory with a file, beneath which DEST is pulled.
    static let before: [String: [UInt8]] = ["keep/other.txt": Array("not the pull's\n".utf8)]

    /// DEST three directories below `keep`, which exists: the pull makes `new`, `a` and `b`, each
    /// taking an inode, then its stage, the version's two directories and five files (11 in all).
    /// With 1 to 10 inodes free it fails at each of those in turn (as `ENOSPC`), and with room for
    /// the directories but not the large file's bytes in the middle of writing it; each time exit 1
    /// with the no-space message, the listing as before and every inode and byte back. With 11
    /// inodes and room it succeeds.
    @Test func everyDirectoryAFailedPullMadeIsGoneWhereverItFailed() throws {
        let server = try TestServer()
        let version = Version(large: 8 << 20)
        let ref = try version.push(server, "clean/parents")
        let fs = try SmallFilesystem(megabytes: 64)
        try PullDiskFullTests.write(Self.before, under: fs.path)
        let kept = try Self.listing(fs.path)
        #expect(kept == ["keep/", "keep/other.txt"])
        let dest = fs.path + "/keep/new/a/b/dest"

        func expectFailedCleanly(_ r: CLIResult, _ what: String) throws {
            #expect(r.status == 1, "\(what): \(r)")
            #expect(r.stderr.contains("no space left on the filesystem of \(dest)"), "\(what): \(r)")
            #expect(r.stderr.contains("run the same command again"), "\(what): \(r)")
            #expect(try Self.listing(fs.path) == kept, "\(what): \(r)")
            try PullDiskFullTests.expectFiles(Self.before, under: fs.path, what)
        }

        for free in 1...10 {
            try fs.limitInodes(free: free)
            try expectFailedCleanly(try server.trove(["pull", ref, dest]), "\(free) inodes free")
            #expect(fs.freeInodes == free, "\(free) inodes free before the pull, \(fs.freeInodes) after")
        }

        // Inodes enough, bytes not: ENOSPC half way through the 8 MiB file.
        try fs.limitInodes(free: 1000)
        try fs.resize(megabytes: 4)
        let bytesFree = fs.free
        try expectFailedCleanly(try server.trove(["pull", ref, dest]), "a 4 MiB tmpfs")
        #expect(fs.free >= bytesFree - 64 << 10, "\(fs.free) bytes free after the pull, \(bytesFree) before")

        try fs.resize(megabytes: 64)
        try fs.limitInodes(free: 11)
        let r = try server.trove(["pull", ref, dest])
        #expect(r.status == 0, "\(r)")
        try PullDiskFullTests.expectFiles(version.files, under: dest, "pulled with 11 inodes free")
        #expect(
            try Self.listing(fs.path)
                == (kept + ["keep/new/", "keep/new/a/", "keep/new/a/b/"]
                + PullDiskFullTests.listing(of: version.files, prefix: "keep/new/a/b/dest/")).sorted())
        #expect(fs.freeInodes == 0)
    }

    /// DEST is a symlink to something that does not exist (`current -> releases/3`, removed): the
    /// pull refuses it before fetching anything (exit 2, usage), as the final `rename` onto the
    /// link could only fail; nothing is made and the link is left as it was.
    @Test func aDanglingSymlinkDestinationIsRefusedBeforeAnythingIsFetched() throws {
        let (server, _, ref, dir) = try Self.pushed("clean/link")
        let dest = dir.path + "/current"
        try #require(symlink("releases/3", dest) == 0, "symlink: errno \(errno)")
        let kept = try Self.listing(dir.path)
        #expect(kept == ["current"])

        let r = try server.trove(["pull", ref, dest])
        #expect(r.status == 2, "\(r)")
        #expect(
            r.stderr.contains(
                "destination \(dest) is a symbolic link to 'releases/3', which leads nowhere: pull into the "
                    + "directory it should lead to, or remove the link"),
            "\(r)")
        #expect(try Self.listing(dir.path) == kept, "\(r)")
        #expect(PullTarget.linkTarget(dest) == "releases/3")
    }

    /// Another program puts a file at DEST after the pull made its stage and before the version's
    /// chunks reach it (a ``Relay`` in front of troved makes it then): the final `rename` of the
    /// stage directory onto the file fails (`ENOTDIR`). The stage goes, the file keeps its bytes,
    /// and the error says why and what to do.
    @Test func aRenameOntoAFileThatAppearedMeanwhileRemovesTheStageAndSaysWhatToDo() throws {
        let (server, _, ref, dir) = try Self.pushed("clean/file")
        let dest = dir.path + "/current"
        let theirs: [String: [UInt8]] = ["current": Array("a file, not a directory\n".utf8)]
        let relay = try Relay(
            to: server.address,
            when: Self.stageExists(in: dir.path, for: "current"),
            then: { try? PullDiskFullTests.write(theirs, under: dir.path) })

        let r = try server.trove(["pull", ref, dest], environment: ["TROVE_SERVER": relay.address])
        #expect(relay.fired, "the pull never sent a request once its stage existed: \(r)")
        #expect(r.status == 1, "\(r)")
        #expect(
            r.stderr.contains(
                "trove: error: cannot move the pulled version into place at \(dest): Not a directory (\(dest) is "
                    + "not a directory: a file, or a symlink to something that does not exist); the version was "
                    + "fetched and verified, but nothing of it was kept and \(dest) was not touched. Remove it or "
                    + "pull elsewhere, then run the same command again"),
            "\(r)")
        #expect(try Self.listing(dir.path) == ["current"], "\(r)")
        try PullDiskFullTests.expectFiles(theirs, under: dir.path, "the other program's file")
    }

    /// Another program makes DEST, with a file in it, after the pull made DEST's parents and its
    /// stage and before the version's chunks reach it (a ``Relay`` in front of troved makes it
    /// then): the final `rename` fails (`ENOTEMPTY`). The stage goes; the parents the pull made
    /// stay, as the other program's DEST is in them, and its file keeps its bytes. The error says
    /// what happened and offers `--force`, with which the same pull then succeeds.
    @Test func aDestinationThatAppearsMeanwhileKeepsWhatIsInItAndTheStageGoes() throws {
        let (server, version, ref, dir, _) = try Self.pushedBeneathKeep("clean/race")
        let parent = dir.path + "/keep/new/a"
        let dest = parent + "/dest"
        let theirs: [String: [UInt8]] = ["dest/theirs.txt": Array("another program's\n".utf8)]
        let relay = try Relay(
            to: server.address,
            when: Self.stageExists(in: parent, for: "dest"),
            then: { try? PullDiskFullTests.write(theirs, under: parent) })

        let r = try server.trove(["pull", ref, dest], environment: ["TROVE_SERVER": relay.address])
        #expect(relay.fired, "the pull never sent a request once its stage existed: \(r)")
        #expect(r.status == 1, "\(r)")
        #expect(
            r.stderr.contains(
                "trove: error: cannot move the pulled version into place at \(dest): Directory not empty (\(dest) "
                    + "appeared while the pull ran and is not empty); the version was fetched and verified, but "
                    + "nothing of it was kept and \(dest) was not touched. Pull into another directory, or run the "
                    + "same command again with --force"),
            "\(r)")
        #expect(
            try Self.listing(dir.path)
                == [
                    "keep/", "keep/new/", "keep/new/a/", "keep/new/a/dest/", "keep/new/a/dest/theirs.txt",
                    "keep/other.txt",
                ],
            "\(r)")
        try PullDiskFullTests.expectFiles(theirs, under: parent, "the other program's file")
        try PullDiskFullTests.expectFiles(Self.before, under: dir.path, "what was there before")

        let forced = try server.trove(["pull", ref, dest, "--force"])
        #expect(forced.status == 0, "\(forced)")
        #expect(try Self.listing(dest) == PullDiskFullTests.listing(of: version.files))
        try PullDiskFullTests.expectFiles(version.files, under: dest, "pulled with --force")
    }

    /// A ``Relay`` condition: the stage of a pull into `parent/name` exists.
    static func stageExists(in parent: String, for name: String) -> @Sendable () -> Bool {
        {
            ((try? FileManager.default.contentsOfDirectory(atPath: parent)) ?? []).contains {
                $0.hasPrefix(".\(name).trove-pull-")
            }
        }
    }

    /// Whether `relay` ran its action, waiting up to 10 s for it to end: the pull may end first.
    static func fired(_ relay: Relay) -> Bool {
        let deadline = Date().addingTimeInterval(10)
        while !relay.fired && Date() < deadline { usleep(5000) }
        return relay.fired
    }

    /// Starts `trove ARGS` against `server`, then waits for it (killed after a minute).
    static func run(_ args: [String], server: String, started: (Int32) -> Void = { _ in }) throws
        -> CLIResult
    {
        let dir = try TemporaryDirectory("trove-pull-clean-run")
        let err = dir.path + "/stderr"
        _ = FileManager.default.createFile(atPath: err, contents: nil)
        let errHandle = try FileHandle(forWritingTo: URL(fileURLWithPath: err))
        let p = Process()
        p.executableURL = try CLI.binary("trove")
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(["TROVE_SERVER": server]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = errHandle
        try p.run()
        started(p.processIdentifier)
        let deadline = Date().addingTimeInterval(60)
        while p.isRunning && Date() < deadline { usleep(5000) }
        let timedOut = p.isRunning
        if timedOut { kill(p.processIdentifier, SIGKILL) }
        p.waitUntilExit()
        try errHandle.close()
        return CLIResult(
            status: p.terminationReason == .uncaughtSignal ? 128 + p.terminationStatus : p.terminationStatus,
            stdoutData: Data(), stderrData: try Data(contentsOf: URL(fileURLWithPath: err)),
            timedOut: timedOut)
    }

    /// Ctrl-C (a real SIGINT) after the pull made DEST's parents and its stage, before the first
    /// chunk came: a ``Relay`` in front of troved holds the first `GET_CHUNKS` back, sends the
    /// signal, and waits (up to 10 s) for the pull to be gone before passing it on. The pull
    /// exits 130 at once saying DEST is unchanged; its stage and the parents it made are gone
    /// (nothing was fetched: nothing to resume from), `keep` and its file are as they were. The
    /// same pull then succeeds.
    @Test func ctrlCBeforeTheFirstChunkLeavesNothingBehind() throws {
        let (server, version, ref, dir, kept) = try Self.pushedBeneathKeep("clean/sigint")
        let parent = dir.path + "/keep/new/a"
        let dest = parent + "/dest"
        let pid = Locked<Int32>(0)
        let relay = try Relay(
            to: server.address,
            when: Self.stageExists(in: parent, for: "dest"),
            then: {
                let deadline = Date().addingTimeInterval(10)
                while pid.withValue({ $0 }) == 0 && Date() < deadline { usleep(1000) }
                let p = pid.withValue { $0 }
                if p > 0 { kill(p, SIGINT) }  // never 0: that would signal the whole process group
                while FileManager.default.fileExists(atPath: parent) && Date() < deadline { usleep(5000) }
            })

        let r = try Self.run(["pull", ref, dest], server: relay.address) { p in pid.withValue { $0 = p } }
        #expect(Self.fired(relay), "the pull never sent a request once its stage existed: \(r)")
        #expect(r.status == 130, "\(r)")
        #expect(
            r.stderr.contains(
                "trove: error: interrupted: \(dest) is unchanged: the pull stopped before it fetched "
                    + "anything and left nothing behind. Run the same command again to pull the version"),
            "\(r)")
        #expect(try Self.listing(dir.path) == kept, "\(r)")
        try PullDiskFullTests.expectFiles(Self.before, under: dir.path, "what was there before")

        let again = try server.trove(["pull", ref, dest])
        #expect(again.status == 0, "\(again)")
        try PullDiskFullTests.expectFiles(version.files, under: dest, "pulled after the interrupted pull")
    }

    /// The connection to troved breaks (troved is killed) after the pull made DEST's parents and its
    /// stage, before the first chunk came: nothing was fetched, so nothing is kept either (exit 1,
    /// the message says so), and `keep` and its file are as they were.
    @Test func aConnectionThatBreaksBeforeTheFirstChunkLeavesNothingBehind() throws {
        let (server, _, ref, dir, kept) = try Self.pushedBeneathKeep("clean/broken")
        let parent = dir.path + "/keep/new/a"
        let dest = parent + "/dest"
        let relay = try Relay(
            to: server.address,
            when: Self.stageExists(in: parent, for: "dest"),
            then: { server.stop(signal: SIGKILL) })

        let r = try Self.run(["pull", ref, dest], server: relay.address)
        #expect(Self.fired(relay), "the pull never sent a request once its stage existed: \(r)")
        #expect(r.status == 1, "\(r)")
        #expect(
            r.stderr.contains(
                "; nothing was fetched yet and nothing of the pull was left behind (\(dest) is unchanged)"),
            "\(r)")
        #expect(try Self.listing(dir.path) == kept, "\(r)")
        try PullDiskFullTests.expectFiles(Self.before, under: dir.path, "what was there before")
    }

    /// An interrupted pull says what it really keeps: the bytes it wrote (and, resumed, those it
    /// verified), in the files holding any. Not the sizes of the stage's files: a large file this
    /// pull creates is written directly and allocated at its full size at once (48 MiB here, after
    /// 3 chunks). Two small files of one chunk each (queued for the workers, written once the pull
    /// stopped) come before it, so what the first run keeps is exactly the 5 chunks it fetched, at
    /// most 5 of the chunker's largest; the same pull interrupted again while resuming keeps those
    /// and the 2 it fetched since, still in the same 3 files. The third run reuses all 7 and makes
    /// the exact version.
    @Test func anInterruptedPullReportsTheBytesItWroteNotWhatItAllocated() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory("trove-pull-clean")
        try #require(PullDiskFullTests.takesDirectIO(dir.path), "the test directory must take O_DIRECT")
        let size = 48 << 20
        let small = ClientE2E.random(seed: 8401, count: 5_000) + ClientE2E.random(seed: 8402, count: 12_000)
        let files: [String: [UInt8]] = [
            "a/one.txt": Array(small[..<5_000]), "a/two.txt": Array(small[5_000...]),
            "b.bin": ClientE2E.random(seed: 8403, count: size),
        ]
        let src = try TemporaryDirectory()
        for (path, bytes) in files { try src.write(path, bytes) }
        #expect(try server.trove(["push", src.path, "clean/kept:1"]).status == 0)
        // The large file's first chunks (troved's default parameters); each small file is one.
        try #require(ChunkerParameters.default.min > 12_000, "a file below `min` is one chunk")
        let head = Array(files["b.bin"]![..<(4 << 20)])
        let chunker = try FastCDC()
        let chunks: [UInt64] = head.withUnsafeBytes { chunker.lengths(of: $0) }.prefix(5).map { UInt64($0) }
        let first = UInt64(small.count) + chunks.prefix(3).reduce(0, +)
        let second = first + chunks[3] + chunks[4]
        let dest = dir.path + "/dest"
        func expectKept(_ r: CLIResult, _ bytes: UInt64, fetched: UInt64, stage: String) {
            #expect(r.status == 130, "\(r)")
            let kept = "interrupted: kept \(Progress.bytes(bytes)) in 3 of 3 files in \(stage) "
            #expect(r.stderr.contains(kept + "(\(dest) is unchanged)"), "\(r)")
            #expect(bytes <= fetched * UInt64(ChunkerParameters.default.max) && bytes < UInt64(size) / 32)
        }

        let stopped = try server.trove(
            ["pull", "clean/kept:1", dest], environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "5"])
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).first {
                $0.hasPrefix(".dest.trove-pull-")
            })
        let stage = dir.path + "/" + name
        var st = stat()
        #expect(stat(stage + "/b.bin", &st) == 0 && st.st_size == off_t(size), "allocated up front")
        expectKept(stopped, first, fetched: 5, stage: stage)

        let again = try server.trove(
            ["pull", "clean/kept:1", dest], environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "2"])
        expectKept(again, second, fetched: 5 + 2, stage: stage)

        let (done, j) = try ClientE2E.json(server, ["pull", "clean/kept:1", dest])
        #expect(done.status == 0, "\(done)")
        #expect(ClientE2E.int(j["chunksReused"]) == 7, "\(j)")
        #expect(ClientE2E.int(j["bytesReused"]) == Int(second), "\(j)")
        // Read as far as the kept chunks, and not the whole of the large file allocated up front.
        #expect(ClientE2E.int(j["bytesChecked"]) >= Int(second), "\(j)")
        #expect(ClientE2E.int(j["bytesChecked"]) < size / 2, "\(j)")
        try PullDiskFullTests.expectFiles(files, under: dest, "pulled after two interrupted pulls")
        #expect(try Self.listing(dir.path) == PullDiskFullTests.listing(of: files, prefix: "dest/"))
    }

    @Test func theSwitchErrorSaysWhatToDoPerCauseAndExits1() {
        let stuck = ClientError.cannotSwitchIn(
            destination: "out", errno: EPERM, stage: "./.out.trove-pull-ab")
        #expect(stuck.exitCode == 1)
        #expect(
            stuck.description
                == "cannot move the pulled version into place at out: Operation not permitted (the directory "
                + "holding out does not allow it: its permissions, or an immutable or append-only attribute, see "
                + "`lsattr -d`); the version was fetched and verified, but its stage ./.out.trove-pull-ab could not "
                + "be removed (remove it: `rm -rf ./.out.trove-pull-ab`), and out was not touched. Fix that or "
                + "pull elsewhere, then run the same command again")
        #expect(
            ClientError.cannotSwitchIn(destination: "out", errno: EIO, stage: nil).description.hasSuffix(
                "Input/output error; the version was fetched and verified, but nothing of it was kept and out was "
                    + "not touched. Run the same command again"))
    }
}
