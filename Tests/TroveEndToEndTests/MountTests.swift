import Foundation
import Synchronization
import Testing
import TroveClient
import TroveCore
import TroveProtocol

/// A `trove mount` of a test server on a temporary mount point (the default background mode:
/// the command returns once the mount is ready). Unmounted when released.
final class MountFixture {
    /// Mount tests need the FUSE device (CI has it); without it they are skipped.
    static let fuseAvailable =
        FileManager.default.fileExists(atPath: "/dev/fuse")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/fusermount3")

    let tmp: TemporaryDirectory
    let mountpoint: String
    let cacheDir: String
    let pid: Int32

    init(_ server: TestServer, _ extra: [String] = [], environment: [String: String] = [:]) throws {
        tmp = try TemporaryDirectory("trove-mount")
        let mnt = tmp.url.appendingPathComponent("mnt").resolvingSymlinksInPath()
        try FileManager.default.createDirectory(at: mnt, withIntermediateDirectories: true)
        mountpoint = mnt.resolvingSymlinksInPath().path
        cacheDir = tmp.url.appendingPathComponent("cache").path
        let r = try server.trove(
            ["mount", mountpoint, "--cache-dir", cacheDir] + extra, environment: environment, timeout: 60)
        guard r.status == 0, let range = r.stderr.range(of: #"pid (\d+)"#, options: .regularExpression),
            let pid = Int32(r.stderr[range].dropFirst(4))
        else { throw CLIError(description: "trove mount failed: \(r)") }
        self.pid = pid
        guard isMounted else { throw CLIError(description: "trove mount returned but nothing is mounted") }
    }

    /// The mount point appears in the mount table.
    var isMounted: Bool { MountFixture.mounted(mountpoint) }

    static func mounted(_ path: String) -> Bool {
        let table = (try? String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)) ?? ""
        return table.split(separator: "\n").contains {
            $0.split(separator: " ").dropFirst(4).first == Substring(path)
        }
    }

    /// Whether the mount process still runs (a zombie nobody reaps counts as gone).
    var processAlive: Bool {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8) else {
            return false
        }
        guard let close = stat.lastIndex(of: ")") else { return false }
        return !stat[close...].hasPrefix(") Z")
    }

    /// Waits (up to `seconds`) for the mount process to exit; true if it did.
    func waitForExit(_ seconds: Double = 20) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while processAlive && Date() < deadline { usleep(20_000) }
        return !processAlive
    }

    func path(_ p: String) -> String { mountpoint + "/" + p }

    deinit {
        if isMounted { _ = try? CLI.runTool("/usr/bin/fusermount3", ["-u", "-z", mountpoint]) }
        if processAlive { kill(pid, SIGKILL) }
    }
}

extension CLI {
    /// Runs a system tool (not one of ours) and returns its exit status.
    @discardableResult
    static func runTool(_ path: String, _ args: [String]) throws -> Int32 {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        p.waitUntilExit()
        return p.terminationStatus
    }
}

/// Equality without printing both sides on failure (they are often megabytes).
func mountSame<T: Equatable>(_ a: T, _ b: T) -> Bool { a == b }

/// An errno as an error value.
struct IOErrno: Error, Equatable, CustomStringConvertible {
    var code: Int32
    init(_ code: Int32) { self.code = code }
    var description: String { String(cString: strerror(code)) }
}

/// File reads with exact errno, for mount tests.
enum MountIO {
    /// `pread` of up to `count` bytes at `offset`; the bytes read, or the errno.
    static func pread(_ path: String, offset: Int, count: Int) -> Result<[UInt8], IOErrno> {
        let fd = open(path, O_RDONLY)
        guard fd >= 0 else { return .failure(IOErrno(errno)) }
        defer { close(fd) }
        var out = [UInt8](repeating: 0, count: count)
        var got = 0
        while got < count {
            let n = out.withUnsafeMutableBytes {
                Glibc.pread(fd, $0.baseAddress! + got, count - got, off_t(offset + got))
            }
            if n < 0 { return .failure(IOErrno(errno)) }
            if n == 0 { break }
            got += n
        }
        return .success(Array(out[..<got]))
    }

    static func read(_ path: String) throws -> [UInt8] {
        [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
    }

    /// Sets `NAME:ALIAS` to `version` through the protocol (the CLI has no alias command yet).
    static func setAlias(_ server: TestServer, name: String, alias: String, version: String) throws {
        let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { conn.close() }
        _ = try conn.call(.aliasSet(.init(name: name, alias: alias, version: version, expect: .any)))
    }

    /// Polls `condition` for up to `seconds`.
    static func eventually(_ seconds: Double, _ condition: () -> Bool) -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if condition() { return true }
            usleep(50_000)
        }
        return condition()
    }
}

@Suite(
    "trove mount", .serialized,
    .enabled(if: MountFixture.fuseAvailable, "/dev/fuse or fusermount3 is missing"))
struct MountTests {
    @Test func layoutAliasesAndContentsMatchTheSource() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let big = ClientE2E.random(seed: 71, count: 3_000_000)
        try src.write("v1/model.bin", big)
        try src.write("v1/conf/params.json", Array("{\"lr\": 0.1}\n".utf8))
        try src.write("v1/empty", [])
        try FileManager.default.createSymbolicLink(
            atPath: src.url.appendingPathComponent("v1/latest").path, withDestinationPath: "model.bin")
        let small = ClientE2E.random(seed: 72, count: 70_000)
        try src.write("other.bin", small)
        #expect(try server.trove(["push", src.path + "/v1", "models/churn:1.4.0"]).status == 0)
        #expect(try server.trove(["push", src.path + "/other.bin", "models/churn:1.5.0"]).status == 0)
        #expect(
            try server.trove(["push", src.path + "/other.bin", "datasets/customers:2026-11-01"]).status == 0)
        try MountIO.setAlias(server, name: "models/churn", alias: "prod", version: "1.4.0")

        let m = try MountFixture(server)
        let fm = FileManager.default
        #expect(try fm.contentsOfDirectory(atPath: m.mountpoint).sorted() == ["datasets", "models"])
        #expect(try fm.contentsOfDirectory(atPath: m.path("models")) == ["churn"])
        #expect(
            try fm.contentsOfDirectory(atPath: m.path("models/churn")).sorted() == ["1.4.0", "1.5.0", "prod"])
        #expect(try fm.destinationOfSymbolicLink(atPath: m.path("models/churn/prod")) == "1.4.0")
        #expect(
            try fm.contentsOfDirectory(atPath: m.path("models/churn/1.4.0")).sorted()
                == ["conf", "empty", "latest", "model.bin"])
        #expect(try fm.destinationOfSymbolicLink(atPath: m.path("models/churn/1.4.0/latest")) == "model.bin")

        // The mounted bytes are the pushed bytes: `cmp`, whole-file reads, through the alias too.
        #expect(
            try CLI.runTool(
                "/usr/bin/cmp", [src.path + "/v1/model.bin", m.path("models/churn/1.4.0/model.bin")]) == 0)
        #expect(try mountSame(MountIO.read(m.path("models/churn/prod/model.bin")), big))
        #expect(try mountSame(MountIO.read(m.path("models/churn/1.4.0/latest")), big))
        #expect(
            try mountSame(
                MountIO.read(m.path("models/churn/1.4.0/conf/params.json")), Array("{\"lr\": 0.1}\n".utf8)))
        #expect(try mountSame(MountIO.read(m.path("models/churn/1.4.0/empty")), []))
        #expect(try mountSame(MountIO.read(m.path("models/churn/1.5.0/other.bin")), small))
        #expect(try mountSame(MountIO.read(m.path("datasets/customers/2026-11-01/other.bin")), small))

        let attrs = try fm.attributesOfItem(atPath: m.path("models/churn/1.4.0/model.bin"))
        #expect((attrs[.size] as? NSNumber)?.intValue == big.count)
        #expect(((attrs[.posixPermissions] as? NSNumber)?.intValue ?? 0o777) & 0o222 == 0)
        #expect(!fm.fileExists(atPath: m.path("models/churn/1.4.0/nope")))
        #expect(!fm.fileExists(atPath: m.path("models/nope")))
        if case .failure(let e) = MountIO.pread(m.path("models/churn/9.9.9/model.bin"), offset: 0, count: 1) {
            #expect(e == IOErrno(ENOENT))
        } else {
            Issue.record("a missing version was readable")
        }
    }

    @Test func randomReadsMatchTheSourceAndTroveCatRange() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 73, count: 2_600_000)
        let path = try src.write("blob.bin", data)
        #expect(try server.trove(["push", path, "r:1"]).status == 0)
        let m = try MountFixture(server)
        let file = m.path("r/1/blob.bin")
        var rng = SplitMix64(seed: 7)
        // Any offset and size: inside chunks, across chunk boundaries, at and past the end.
        var cases: [(Int, Int)] = [
            (0, 1), (0, 4096), (65_535, 2), (data.count - 1, 10), (data.count, 10),
            (data.count + 12345, 100), (1_000_000, 1_000_000), (0, data.count + 1000),
        ]
        for _ in 0..<150 {
            let off = Int(rng.next() % UInt64(data.count + 4096))
            let len = Int(rng.next() % 300_000) + 1
            cases.append((off, len))
        }
        for (off, len) in cases {
            let expected = off >= data.count ? [] : Array(data[off..<min(data.count, off + len)])
            switch MountIO.pread(file, offset: off, count: len) {
            case .success(let got): #expect(mountSame(got, expected), "read \(len) at \(off)")
            case .failure(let e): Issue.record("read \(len) at \(off) failed: \(e)")
            }
        }
        // The same ranges through `trove cat --range` (inclusive START-END).
        for (off, len) in cases.prefix(4) + cases.suffix(4) where off < data.count {
            let last = min(data.count, off + len) - 1
            let cat = try server.trove(["cat", "r:1", "--range", "\(off)-\(last)"])
            #expect(cat.status == 0, "\(cat.stderr)")
            #expect(
                mountSame(MountIO.pread(file, offset: off, count: len), .success([UInt8](cat.stdoutData))))
        }
    }

    @Test func concurrentReadersAndTheCacheBound() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let a = ClientE2E.random(seed: 74, count: 3_000_000)
        let b = ClientE2E.random(seed: 75, count: 2_000_000)
        try src.write("d/a.bin", a)
        try src.write("d/b.bin", b)
        #expect(try server.trove(["push", src.path + "/d", "c:1"]).status == 0)
        let bound = 1 << 20
        let m = try MountFixture(server, ["--cache-size", "1M"])
        let files = [(m.path("c/1/a.bin"), a), (m.path("c/1/b.bin"), b)]
        let bad = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            var rng = SplitMix64(seed: UInt64(100 + t))
            for i in 0..<40 {
                let (path, data) = files[(t + i) % 2]
                let off = Int(rng.next() % UInt64(data.count))
                let len = Int(rng.next() % 200_000) + 1
                let got = MountIO.pread(path, offset: off, count: len)
                if got != .success(Array(data[off..<min(data.count, off + len)])) {
                    bad.withLock { $0.append("thread \(t): \(len) at \(off) in \(path): \(got)") }
                }
            }
        }
        let failures = bad.withLock { $0 }
        #expect(failures.isEmpty, "\(failures.prefix(5))")
        // Whole files too (they exceed the 1 MiB cache: chunks get evicted while reading).
        #expect(try mountSame(MountIO.read(files[0].0), a))
        #expect(try mountSame(MountIO.read(files[1].0), b))
        let used = try MountTests.cacheBytes(m.cacheDir)
        #expect(used > 0)
        #expect(used <= bound, "the cache holds \(used) bytes, bound \(bound)")
    }

    /// Bytes of chunk files in a cache directory.
    static func cacheBytes(_ dir: String) throws -> Int {
        var total = 0
        let e = FileManager.default.enumerator(atPath: dir)
        while let p = e?.nextObject() as? String {
            let a = try FileManager.default.attributesOfItem(atPath: dir + "/" + p)
            if (a[.type] as? FileAttributeType) == .typeRegular, !p.hasSuffix(".lock") {
                total += (a[.size] as? NSNumber)?.intValue ?? 0
            }
        }
        return total
    }

    @Test func everyWriteFailsWithEROFS() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let path = try src.write("f.bin", ClientE2E.random(seed: 76, count: 1000))
        #expect(try server.trove(["push", path, "w:1"]).status == 0)
        let m = try MountFixture(server)
        let file = m.path("w/1/f.bin")
        func expectEROFS(_ what: String, _ result: Int32) {
            let e = errno
            #expect(result == -1 && e == EROFS, "\(what): result \(result), errno \(e)")
        }
        var fd = open(file, O_WRONLY)
        expectEROFS("open for writing", fd < 0 ? -1 : 0)
        if fd >= 0 { close(fd) }
        fd = open(file, O_RDWR)
        expectEROFS("open read-write", fd < 0 ? -1 : 0)
        if fd >= 0 { close(fd) }
        fd = open(m.path("w/1/new"), O_WRONLY | O_CREAT, 0o644)
        expectEROFS("create", fd < 0 ? -1 : 0)
        if fd >= 0 { close(fd) }
        expectEROFS("truncate", truncate(file, 0))
        expectEROFS("mkdir", mkdir(m.path("w/1/dir"), 0o755))
        expectEROFS("mkdir at the top", mkdir(m.path("newname"), 0o755))
        expectEROFS("unlink", unlink(file))
        expectEROFS("rmdir", rmdir(m.path("w/1")))
        expectEROFS("rename", rename(file, m.path("w/1/g.bin")))
        expectEROFS("symlink", symlink("f.bin", m.path("w/1/link")))
        expectEROFS("chmod", chmod(file, 0o777))
        expectEROFS("utimes", utimes(file, nil))
        #expect(try MountIO.read(file).count == 1000)
    }

    @Test func newVersionsAndAliasMovesAppearAfterTheTTL() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let v1 = try src.write("one.bin", ClientE2E.random(seed: 77, count: 5000))
        let v2 = try src.write("two.bin", ClientE2E.random(seed: 78, count: 6000))
        #expect(try server.trove(["push", v1, "n/m:1"]).status == 0)
        try MountIO.setAlias(server, name: "n/m", alias: "prod", version: "1")
        let m = try MountFixture(server, ["--ttl", "0.5"])
        #expect(try FileManager.default.contentsOfDirectory(atPath: m.path("n/m")).sorted() == ["1", "prod"])
        #expect(!FileManager.default.fileExists(atPath: m.path("n/m/2")))

        #expect(try server.trove(["push", v2, "n/m:2"]).status == 0)
        try MountIO.setAlias(server, name: "n/m", alias: "prod", version: "2")
        #expect(try server.trove(["push", v1, "fresh/name:a"]).status == 0)
        #expect(MountIO.eventually(10) { FileManager.default.fileExists(atPath: m.path("n/m/2/two.bin")) })
        #expect(
            MountIO.eventually(10) {
                (try? FileManager.default.destinationOfSymbolicLink(atPath: m.path("n/m/prod"))) == "2"
            })
        #expect(
            MountIO.eventually(10) { FileManager.default.fileExists(atPath: m.path("fresh/name/a/one.bin")) })
        #expect(
            try mountSame(MountIO.read(m.path("n/m/prod/two.bin")), ClientE2E.random(seed: 78, count: 6000)))
    }

    @Test func daemonRestartUnderneathResumesOrFailsWithEIO() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 79, count: 8_000_000)
        let path = try src.write("big.bin", data)
        #expect(try server.trove(["push", path, "d:1"]).status == 0)
        let address = server.address
        let m = try MountFixture(server, ["--reconnect-timeout", "30"])
        let file = m.path("d/1/big.bin")
        #expect(mountSame(MountIO.pread(file, offset: 0, count: 100_000), .success(Array(data[0..<100_000]))))

        // troved goes away; a read of bytes not yet fetched waits, and resumes once it is back.
        server.stop()
        let done = Locked<Result<[UInt8], IOErrno>?>(nil)
        let reader = Thread {
            let r = MountIO.pread(file, offset: 5_000_000, count: 300_000)
            done.withValue { $0 = r }
        }
        reader.start()
        usleep(1_500_000)
        try server.start(extraArguments: ["--listen", address])
        #expect(server.address == address)
        #expect(MountIO.eventually(40) { done.withValue { $0 != nil } })
        #expect(mountSame(done.withValue { $0 }, .success(Array(data[5_000_000..<5_300_000]))))

        // A second mount that gives up quickly: with troved down, an unfetched range is EIO, not bytes.
        let quick = try MountFixture(server, ["--reconnect-timeout", "1"])
        let qfile = quick.path("d/1/big.bin")
        #expect(mountSame(MountIO.pread(qfile, offset: 0, count: 10), .success(Array(data[0..<10]))))
        server.stop()
        #expect(mountSame(MountIO.pread(qfile, offset: 7_000_000, count: 4096), .failure(IOErrno(EIO))))
        try server.start(extraArguments: ["--listen", address])
        #expect(
            mountSame(
                MountIO.pread(qfile, offset: 7_000_000, count: 4096),
                .success(Array(data[7_000_000..<7_004_096]))))
    }

    @Test func sigtermAndFusermountUnmountCleanly() throws {
        let server = try TestServer()
        let src = try TemporaryDirectory()
        let path = try src.write("f.bin", ClientE2E.random(seed: 80, count: 100_000))
        #expect(try server.trove(["push", path, "u:1"]).status == 0)

        let first = try MountFixture(server)
        #expect(try MountIO.read(first.path("u/1/f.bin")).count == 100_000)
        kill(first.pid, SIGTERM)
        #expect(first.waitForExit(), "the mount process ignored SIGTERM")
        #expect(!first.isMounted)

        let second = try MountFixture(server)
        #expect(try CLI.runTool("/usr/bin/fusermount3", ["-u", second.mountpoint]) == 0)
        #expect(second.waitForExit(), "the mount process kept running after fusermount3 -u")
        #expect(!second.isMounted)

        // A failed mount (bad server) reports it and leaves nothing mounted.
        let tmp = try TemporaryDirectory()
        let r = try CLI.trove(
            ["mount", tmp.path, "--server", "127.0.0.1:1", "--cache-size", "0"], timeout: 60)
        #expect(r.status != 0)
        #expect(r.stderr.contains("cannot reach troved"), "\(r.stderr)")
        #expect(!MountFixture.mounted(tmp.url.resolvingSymlinksInPath().path))
    }

    @Test func theTokenReachesTheHelperFromAFileOrTheEnvironmentNeverItsArguments() throws {
        let server = try TestServer(config: AuthTests.config)
        let src = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 83, count: 300_000)
        let path = try src.write("f.bin", data)
        #expect(try server.trove(["push", path, "models/t:1"], environment: AuthTests.token("writer")).status == 0)

        // No token: refused at once (exit 6), nothing mounted.
        let bare = try TemporaryDirectory()
        let r = try server.trove(["mount", bare.path, "--cache-size", "0"], timeout: 60)
        #expect(r.status == 6, "\(r)")
        #expect(!MountFixture.mounted(bare.url.resolvingSymlinksInPath().path))

        let secret = AuthTests.secrets["reader"]!
        let tokenFile = try src.write("token", Array("reader:\(secret)\n".utf8))
        let viaFile = try MountFixture(server, ["--token-file", tokenFile])
        #expect(try mountSame(MountIO.read(viaFile.path("models/t/1/f.bin")), data))
        let viaEnvironment = try MountFixture(server, environment: AuthTests.token("reader"))
        #expect(try mountSame(MountIO.read(viaEnvironment.path("models/t/1/f.bin")), data))
        for m in [viaFile, viaEnvironment] {
            let cmdline = try String(contentsOfFile: "/proc/\(m.pid)/cmdline", encoding: .utf8)
            #expect(cmdline.contains("trove-mount"), "\(cmdline)")
            #expect(!cmdline.contains(secret), "the secret is on the mount process's command line")
        }
    }
}
