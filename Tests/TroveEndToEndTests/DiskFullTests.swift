import Foundation
import Testing

/// A small filesystem a test mounts on a fresh directory (``SmallFilesystem``, ``SmallExt4``):
/// its free space, and a way to fill it to the last byte.
protocol ScratchFilesystem: Sendable {
    /// Where it is mounted.
    var path: String { get }
}

extension ScratchFilesystem {
    /// Bytes free.
    var free: Int64 {
        var st = statvfs()
        guard statvfs(path, &st) == 0 else { return -1 }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }

    /// Fills the filesystem to 100 % with `name` (appending until ENOSPC); returns its size.
    @discardableResult
    func fill(_ name: String = "filler") -> Int {
        let fd = open(path + "/" + name, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        defer { close(fd) }
        var written = 0
        for block in [1 << 20, 4096, 1] {
            let bytes = [UInt8](repeating: 0x5A, count: block)
            while write(fd, bytes, block) == block { written += block }
        }
        return written
    }
}

/// Throws unless the tests run as root, which mounting `what` needs (CI runs as root).
func requireRoot(toMount what: String) throws {
    guard getuid() == 0 else {
        throw CLIError(
            description: "the disk-full tests mount \(what), which needs root (CI runs as root); run the "
                + "tests as root")
    }
}

/// A tmpfs of a few MiB mounted on a fresh directory (unmounted and removed on release). Mounting
/// needs root (CI runs the tests as root); otherwise the test fails with a message saying so.
final class SmallFilesystem: ScratchFilesystem {
    let dir: TemporaryDirectory
    var path: String { dir.path }

    init(megabytes: Int) throws {
        try requireRoot(toMount: "a \(megabytes) MiB tmpfs")
        dir = try TemporaryDirectory("trove-smallfs")
        let r = try CLI.runTool(
            path: "/bin/mount", ["-t", "tmpfs", "-o", "size=\(megabytes)m", "tmpfs", dir.path])
        guard r.status == 0 else {
            throw CLIError(description: "mount -t tmpfs on \(dir.path) failed: \(r.output)")
        }
    }

    /// Gives the tmpfs a new size (`mount -o remount`); what it holds stays.
    func resize(megabytes: Int) throws {
        let r = try CLI.runTool(path: "/bin/mount", ["-o", "remount,size=\(megabytes)m", dir.path])
        guard r.status == 0 else { throw CLIError(description: "remount of \(dir.path) failed: \(r.output)") }
    }

    deinit { _ = try? CLI.runTool(path: "/bin/umount", ["-l", dir.path]) }
}

/// Disk full (docs/OPERATIONS.md, "Disk full"): a push that finds no space fails cleanly (exit 1,
/// a message naming the path and the free space), the store stays writable, retire + GC frees
/// space and the next push succeeds without a restart; a filesystem already 100 % full when
/// troved or fsck starts is opened through the reserve file.
@Suite("disk full", .serialized)
struct DiskFullTests {
    static func config(_ root: String, floor: String, reserve: String) -> String {
        """
        [server]
        root = "\(root)"
        min_free_space = "\(floor)"
        disk_reserve = "\(reserve)"
        [store]
        pack_size = "2MiB"
        """
    }

    @Test func fillingByPushingFailsCleanlyAndGCMakesRoomWithoutARestart() throws {
        let fs = try SmallFilesystem(megabytes: 40)
        let root = fs.path + "/store"
        let server = try TestServer(
            root: URL(fileURLWithPath: root), config: Self.config(root, floor: "4MiB", reserve: "2MiB"))
        let dir = try TemporaryDirectory()
        #expect(FileManager.default.fileExists(atPath: root + "/reserve"), "troved made no reserve file")

        // Push 5 MiB versions until one fails: at most 8 fit in 40 MiB.
        var pushed: [Int] = []
        var failure: CLIResult? = nil
        for i in 1...10 {
            let p = try dir.write("f\(i).bin", ClientE2E.random(seed: 7000 + UInt64(i), count: 5 << 20))
            let r = try server.trove(["push", p, "fill/f:\(i)"])
            if r.status != 0 {
                failure = r
                break
            }
            pushed.append(i)
        }
        let full = try #require(failure, "10 pushes of 5 MiB fitted on a 40 MiB filesystem")
        #expect(full.status == 1, "\(full)")
        #expect(full.stderr.contains("disk is full"), "\(full)")
        #expect(full.stderr.contains("free") && full.stderr.contains(root), "\(full)")
        #expect(full.stderr.contains("trove gc"), "\(full)")
        #expect(pushed.count >= 3, "only \(pushed.count) pushes fitted: \(full)")
        #expect(!server.log().contains("read-only"), "\(server.log())")

        // Reads go on; retire all but the last version, GC, push again — same troved.
        #expect(try server.trove(["ls"]).status == 0)
        for i in pushed.dropLast() { #expect(try server.trove(["rm", "fill/f:\(i)"]).status == 0) }
        let gc = try server.trove(["gc", "--grace", "0s"])
        #expect(gc.status == 0, "\(gc)")
        let again = try dir.write("again.bin", ClientE2E.random(seed: 7100, count: 5 << 20))
        let r = try server.trove(["push", again, "fill/again:1"])
        #expect(r.status == 0, "push after GC: \(r)\n\(server.log())")
        let out = dir.path + "/out"
        #expect(try server.trove(["pull", "fill/again:1", out]).status == 0)
        #expect(try ClientE2E.read(out + "/again.bin") == ClientE2E.random(seed: 7100, count: 5 << 20))
        server.stop()

        // fsck on the filesystem filled to the last byte opens the store through the reserve.
        fs.fill()
        #expect(fs.free < 4096, "filler left \(fs.free) bytes")
        let fsck = try CLI.troved(["fsck", "--root", root])
        #expect(fsck.status == 0, "\(fsck)")
        #expect(fsck.stdout.contains("clean"), "\(fsck)")
        #expect(fsck.stderr.contains("released the reserve file"), "\(fsck)")
    }

    @Test func aFilesystemFullBeforeTrovedStartsIsOpenedThroughTheReserve() throws {
        let fs = try SmallFilesystem(megabytes: 32)
        let root = fs.path + "/store"
        let config = Self.config(root, floor: "1MiB", reserve: "4MiB")
        let server = try TestServer(root: URL(fileURLWithPath: root), config: config)
        let dir = try TemporaryDirectory()
        let v1 = try dir.write("v1.bin", ClientE2E.random(seed: 7201, count: 6 << 20))
        let v2 = try dir.write("v2.bin", ClientE2E.random(seed: 7202, count: 3 << 20))
        #expect(try server.trove(["push", v1, "full/a:1"]).status == 0)
        #expect(try server.trove(["push", v2, "full/a:2"]).status == 0)
        server.stop()
        #expect(FileManager.default.fileExists(atPath: root + "/reserve"), "troved made no reserve file")

        // Another program fills the disk while troved is down.
        fs.fill()
        #expect(fs.free < 4096, "filler left \(fs.free) bytes")
        try server.start()
        #expect(server.log().contains("released the reserve file"), "\(server.log())")
        #expect(!FileManager.default.fileExists(atPath: root + "/reserve"))

        // Too little room for 4 MiB above the floor: a clean failure, reads still served.
        let v3 = try dir.write("v3.bin", ClientE2E.random(seed: 7203, count: 4 << 20))
        let refused = try server.trove(["push", v3, "full/a:3"])
        #expect(refused.status == 1, "\(refused)")
        #expect(refused.stderr.contains("disk is full"), "\(refused)")
        let out2 = dir.path + "/out2"
        #expect(try server.trove(["pull", "full/a:2", out2]).status == 0)

        // Retire v1 and GC: its 6 MiB come back and the same push succeeds, no restart.
        #expect(try server.trove(["rm", "full/a:1"]).status == 0)
        let gc = try server.trove(["gc", "--grace", "0s"])
        #expect(gc.status == 0, "\(gc)")
        let pushed = try server.trove(["push", v3, "full/a:3"])
        #expect(pushed.status == 0, "\(pushed)\n\(server.log())")
        let out3 = dir.path + "/out3"
        #expect(try server.trove(["pull", "full/a:3", out3]).status == 0)
        #expect(try ClientE2E.read(out3 + "/v3.bin") == ClientE2E.random(seed: 7203, count: 4 << 20))
        server.stop()
        let fsck = try CLI.troved(["fsck", "--root", root, "--deep"])
        #expect(fsck.status == 0, "\(fsck)")
    }
}
