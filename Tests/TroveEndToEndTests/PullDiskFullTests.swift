import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// A small ext4 filesystem: an image file of `megabytes` MiB on the ordinary disk, made with
/// `mkfs.ext4` and loop-mounted on a fresh directory (unmounted on release, which frees the loop
/// device). Needs root and a free loop device; otherwise the test fails with a message saying which.
/// Unlike tmpfs on kernels before 6.6, ext4 always takes `O_DIRECT`.
final class SmallExt4: ScratchFilesystem {
    let image: TemporaryDirectory
    let dir: TemporaryDirectory
    var path: String { dir.path }

    init(megabytes: Int) throws {
        try requireRoot(toMount: "a \(megabytes) MiB ext4 image (`mount -o loop`)")
        image = try TemporaryDirectory("trove-ext4-image")
        dir = try TemporaryDirectory("trove-ext4")
        let file = image.path + "/fs.img"
        guard FileManager.default.createFile(atPath: file, contents: nil),
            truncate(file, off_t(megabytes) << 20) == 0
        else { throw CLIError(description: "cannot make the image file \(file)") }
        let mkfs = try #require(
            ["/usr/sbin/mkfs.ext4", "/sbin/mkfs.ext4"].first {
                FileManager.default.isExecutableFile(atPath: $0)
            },
            "this test needs mkfs.ext4 (e2fsprogs)")
        // No blocks reserved for root: the test runs as root and must see the whole filesystem fill.
        let made = try CLI.runTool(path: mkfs, ["-q", "-F", "-m", "0", file])
        guard made.status == 0 else {
            throw CLIError(description: "mkfs.ext4 \(file) failed: \(made.output)")
        }
        let mounted = try CLI.runTool(path: "/bin/mount", ["-o", "loop", file, dir.path])
        guard mounted.status == 0 else {
            throw CLIError(
                description: "mount -o loop of an ext4 image on \(dir.path) failed (no loop device in this "
                    + "container? see `losetup -f`): \(mounted.output)")
        }
    }

    deinit { _ = try? CLI.runTool(path: "/bin/umount", [dir.path]) }
}

/// `trove pull` into a filesystem that is too small or already full (docs/OPERATIONS.md, "Disk
/// full"): the pull exits 1 saying there is no space, on which filesystem and what to do; it leaves
/// no partly written or temporary file, no stage and no new directory behind, and a file that was
/// at a destination path before keeps its bytes; once there is room the same command succeeds.
/// The store is on the ordinary disk: only the destination is short of space.
@Suite("pull into a full filesystem", .serialized)
struct PullDiskFullTests {
    /// The version: small files before and after one large file (≥ 8 MiB, so the client writes it
    /// with direct I/O, ``DirectFileAppender``, where the filesystem allows).
    struct Version {
        let files: [String: [UInt8]]

        init(large: Int) {
            files = [
                "config/a.json": ClientE2E.random(seed: 8101, count: 2_000),
                "config/b.json": ClientE2E.random(seed: 8102, count: 3_000),
                "model.bin": ClientE2E.random(seed: 8103, count: large),
                "tokenizer/merges.txt": ClientE2E.random(seed: 8104, count: 50_000),
                "tokenizer/vocab.txt": ClientE2E.random(seed: 8105, count: 100_000),
            ]
        }

        /// Pushes the version as `NAME:1` and returns that ref.
        func push(_ server: TestServer, _ name: String) throws -> String {
            let src = try TemporaryDirectory()
            for (path, bytes) in files { try src.write(path, bytes) }
            let r = try server.trove(["push", src.path, "\(name):1"])
            try #require(r.status == 0, "\(r)")
            return "\(name):1"
        }
    }

    /// What a destination held before a pull: a file at a path the version also has, one at a path
    /// it has not.
    static let before: [String: [UInt8]] = [
        "model.bin": ClientE2E.random(seed: 8201, count: 1 << 20),
        "config/a.json": Array("{\"old\": true}\n".utf8),
        "notes.txt": Array("kept\n".utf8),
    ]

    /// Every entry beneath `dir`, hidden ones included, directories with a trailing `/`.
    static func listing(_ dir: String) throws -> [String] {
        try FileManager.default.subpathsOfDirectory(atPath: dir).map { p in
            var isDir: ObjCBool = false
            _ = FileManager.default.fileExists(atPath: dir + "/" + p, isDirectory: &isDir)
            return isDir.boolValue ? p + "/" : p
        }.sorted()
    }

    static func listing(of files: [String: [UInt8]], prefix: String = "") -> [String] {
        var out = Set<String>()
        for path in files.keys {
            out.insert(prefix + path)
            var parent = Substring(path)
            while let slash = parent.lastIndex(of: "/") {
                parent = parent[..<slash]
                out.insert(prefix + parent + "/")
            }
        }
        if !prefix.isEmpty { out.insert(prefix) }
        return out.sorted()
    }

    static func write(_ files: [String: [UInt8]], under dir: String) throws {
        for (path, bytes) in files {
            let url = URL(fileURLWithPath: dir + "/" + path)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
    }

    /// Expects every file of `files` under `dir` with exactly its bytes.
    static func expectFiles(_ files: [String: [UInt8]], under dir: String, _ what: String) throws {
        for (path, bytes) in files.sorted(by: { $0.key < $1.key }) {
            let got = try ClientE2E.read(dir + "/" + path)
            #expect(
                got == bytes,
                "\(what): \(path) has \(got.count) bytes that differ from the \(bytes.count) expected")
        }
    }

    /// Expects a pull that failed for lack of space on `fs`: exit 1, the no-space message naming
    /// `dest` and what to do, and nothing left on `fs` but `kept` (its listing beforehand).
    static func expectNoSpace(
        _ r: CLIResult, dest: String, on fs: some ScratchFilesystem, kept: [String], freeBefore: Int64
    ) throws {
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains("no space left on the filesystem of \(dest)"), "\(r)")
        #expect(r.stderr.contains("free, the version takes"), "\(r)")
        #expect(r.stderr.contains("run the same command again"), "\(r)")
        #expect(!r.stderr.contains(".trove-"), "the message names a stage or temporary: \(r)")
        #expect(try listing(fs.path) == kept, "\(r)")
        // Nothing written is still held open or referenced: the space came back.
        #expect(fs.free >= freeBefore - 64 << 10, "\(fs.free) free after the pull, \(freeBefore) before")
    }

    /// The failing pulls on `fs` (which has room for `before` and little more): into a new
    /// directory, and over `before` with `--force` and with `--merge`. The listing of `fs` and the
    /// bytes of `before` must be as they were.
    static func pullsFailCleanly(
        _ server: TestServer, _ ref: String, on fs: some ScratchFilesystem,
        environment: [String: String] = [:]
    ) throws {
        let dest = fs.path + "/dest"
        try write(before, under: dest)
        let kept = try listing(fs.path)
        let free = fs.free
        let out = fs.path + "/out"
        try expectNoSpace(
            try server.trove(["pull", ref, out], environment: environment), dest: out, on: fs, kept: kept,
            freeBefore: free)
        for flag in ["--force", "--merge"] {
            let r = try server.trove(["pull", ref, dest, flag], environment: environment)
            try expectNoSpace(r, dest: dest, on: fs, kept: kept, freeBefore: free)
            try expectFiles(before, under: dest, "after the failed pull \(flag)")
        }
    }

    /// With room again, the same pulls succeed. `beforeReading` sees the new directory's path
    /// after the first pull, before anything read its files.
    static func pullsSucceed(
        _ server: TestServer, _ ref: String, _ version: Version, on fs: some ScratchFilesystem,
        environment: [String: String] = [:], beforeReading: (String) throws -> Void = { _ in }
    ) throws {
        let out = fs.path + "/out"
        let r = try server.trove(["pull", ref, out], environment: environment)
        #expect(r.status == 0, "\(r)")
        try beforeReading(out)
        try expectFiles(version.files, under: out, "pulled into a new directory")
        #expect(try listing(out) == listing(of: version.files))
        let dest = fs.path + "/dest"
        let merged = try server.trove(["pull", ref, dest, "--merge"], environment: environment)
        #expect(merged.status == 0, "\(merged)")
        try expectFiles(version.files, under: dest, "pulled with --merge")
        try expectFiles(["notes.txt": before["notes.txt"]!], under: dest, "kept by --merge")
    }

    @Test func aTmpfsTooSmallForTheVersionFailsCleanlyAndTheSamePullSucceedsOnceItGrows() throws {
        let server = try TestServer()
        let version = Version(large: 8 << 20)
        let ref = try version.push(server, "full/tmpfs")
        // Room for what the destination held and 2-odd MiB of the version: the large file (written
        // directly where the kernel's tmpfs takes O_DIRECT, 6.6 and later; else through the page
        // cache) fills it half way.
        let fs = try SmallFilesystem(megabytes: 4)
        try Self.pullsFailCleanly(server, ref, on: fs)
        try fs.resize(megabytes: 64)
        try Self.pullsSucceed(server, ref, version, on: fs)
    }

    /// On ext4 the large file's direct writes (or, `direct` false, its writes through the page
    /// cache) meet ENOSPC half way; which path the pull took is checked on the successful pull:
    /// direct writes leave the file out of the page cache.
    @Test(arguments: [true, false])
    func anExt4TooSmallForTheVersionFailsCleanlyAndTheSamePullSucceedsOnceThereIsRoom(direct: Bool) throws {
        let server = try TestServer()
        let version = Version(large: 12 << 20)
        let ref = try version.push(server, "full/ext4")
        let fs = try SmallExt4(megabytes: 40)
        try #require(Self.takesDirectIO(fs.path), "ext4 on \(fs.path) refused O_DIRECT")
        // Everything but 6 MiB taken by another program's file; without it, room for the two pulls
        // that succeed (the version twice, `--merge` writing it beside the old files).
        let ballast = fs.path + "/ballast"
        try #require(fs.free > 30 << 20, "\(fs.free) bytes free on a 40 MiB ext4")
        try Self.write(["ballast": [UInt8](repeating: 0x42, count: Int(fs.free) - (6 << 20))], under: fs.path)
        let environment = ["TROVE_PULL_DIRECT": direct ? "1" : "0"]
        try Self.pullsFailCleanly(server, ref, on: fs, environment: environment)

        try FileManager.default.removeItem(atPath: ballast)
        try Self.pullsSucceed(server, ref, version, on: fs, environment: environment) { out in
            let cached = try Self.cachedFraction(out + "/model.bin")
            #expect(direct ? cached < 0.25 : cached > 0.75, "\(cached) of model.bin is in the page cache")
        }
    }

    /// A filesystem filled to its last byte: the pull fails before or at its first write (on ext4
    /// the stage directory cannot even be made), and succeeds once the filler is gone.
    @Test(arguments: ["tmpfs", "ext4"])
    func aFullFilesystemFailsCleanlyAndTheSamePullSucceedsOnceSpaceIsFreed(kind: String) throws {
        let server = try TestServer()
        let version = Version(large: 8 << 20)
        let ref = try version.push(server, "full/\(kind)")
        let fs: any ScratchFilesystem =
            kind == "tmpfs" ? try SmallFilesystem(megabytes: 24) : try SmallExt4(megabytes: 32)
        let dest = fs.path + "/dest"
        try Self.write(Self.before, under: dest)
        fs.fill()
        #expect(fs.free < 4096, "the filler left \(fs.free) bytes")
        let kept = try Self.listing(fs.path)
        let free = fs.free
        let out = fs.path + "/out"
        try Self.expectNoSpace(
            try server.trove(["pull", ref, out]), dest: out, on: fs, kept: kept, freeBefore: free)
        let forced = try server.trove(["pull", ref, dest, "--force"])
        try Self.expectNoSpace(forced, dest: dest, on: fs, kept: kept, freeBefore: free)
        try Self.expectFiles(Self.before, under: dest, "after the failed pull --force")

        try FileManager.default.removeItem(atPath: fs.path + "/filler")
        try Self.pullsSucceed(server, ref, version, on: fs)
    }

    /// A tmpfs with bytes to spare and few inodes left (`nr_inodes`): a pull into `keep/new/a/b/dest`
    /// (`keep` there before) makes 11 files and directories (`new`, `a`, `b`, the stage, the
    /// version's 2 directories and 5 files). It fails at a parent of DEST, the stage, a directory or
    /// a file of the version, with and without `--merge`: exit 1, the message says the filesystem
    /// ran out of inodes, not bytes, names the directory being created as a directory, how many
    /// inodes are free and how many the pull makes, and what to do; nothing is left behind. Where
    /// bytes run short instead, the message is word for word the bytes one.
    @Test func aFilesystemOutOfInodesSaysSoAndBytesStillSayBytes() throws {
        let server = try TestServer()
        let version = Version(large: 8 << 20)
        let ref = try version.push(server, "full/inodes")
        let fs = try SmallFilesystem(megabytes: 64)
        try Self.write(PullCleanUpTests.before, under: fs.path)
        let kept = try Self.listing(fs.path)
        let dest = fs.path + "/keep/new/a/b/dest"
        func inodesMessage(_ doing: String, free: Int) -> String {
            "trove: error: no space left on the filesystem of \(dest): it has run out of inodes (files), "
                + "not bytes (\(doing): \(free) inode\(free == 1 ? "" : "s") free, the pull makes 11 files "
                + "and directories): \(dest) is as it was and nothing partly written was kept. Delete files "
                + "there to free inodes, or pull into a directory on another filesystem, then run the same "
                + "command again"
        }
        // Inodes free → what the pull was making when they ran out (the version's directories are
        // made in tree order: config, then tokenizer).
        let cases: [(Int, [String], String)] = [
            (0, [], "creating directory \(fs.path)/keep/new"),
            (2, [], "creating directory \(fs.path)/keep/new/a/b"),
            (2, ["--merge"], "creating directory \(fs.path)/keep/new/a/b"),
            (3, [], "creating the stage directory"),
            (4, [], "creating directory config"),
            (5, [], "creating directory tokenizer"),
        ]
        for (free, flags, doing) in cases {
            try fs.limitInodes(free: free)
            let r = try server.trove(["pull", ref, dest] + flags)
            #expect(r.status == 1, "\(free) inodes free \(flags): \(r)")
            #expect(r.stderr.contains(inodesMessage(doing, free: free)), "\(free) inodes free \(flags): \(r)")
            #expect(try Self.listing(fs.path) == kept, "\(free) inodes free \(flags): \(r)")
            #expect(fs.freeInodes == free, "\(free) inodes free before the pull, \(fs.freeInodes) after")
        }
        // Room for one of the version's files (which one the two writers create first varies).
        try fs.limitInodes(free: 7)
        let file = try server.trove(["pull", ref, dest])
        #expect(file.status == 1, "\(file)")
        #expect(
            file.stderr.contains(
                "\(dest): it has run out of inodes (files), not bytes (writing "),
            "\(file)")
        #expect(
            file.stderr.contains(": 7 inodes free, the pull makes 11 files and directories): "), "\(file)")
        #expect(try Self.listing(fs.path) == kept, "\(file)")

        // Inodes enough, bytes not: the bytes wording, unchanged.
        try fs.limitInodes(free: 1000)
        try fs.resize(megabytes: 4)
        let bytes = try server.trove(["pull", ref, dest])
        let needed = UInt64(version.files.values.reduce(0) { $0 + $1.count })
        #expect(bytes.status == 1, "\(bytes)")
        #expect(
            bytes.stderr.contains(
                "trove: error: no space left on the filesystem of \(dest) (writing model.bin: "
                    + "\(Progress.bytes(UInt64(fs.free))) free, the version takes "
                    + "\(Progress.bytes(needed))): \(dest) is as it was and nothing partly written was "
                    + "kept. Free space there, or pull into a directory with room, then run the same "
                    + "command again"),
            "\(bytes)")
        #expect(!bytes.stderr.contains("inode"), "\(bytes)")
        #expect(try Self.listing(fs.path) == kept, "\(bytes)")
    }

    /// A full ext4 (no block left for a new directory) beneath `keep`: making DEST's first missing
    /// parent fails with `ENOSPC`, and the message names it as the directory being created, not as
    /// a file being written, with and without `--merge`; nothing is left behind.
    @Test func aParentDirectoryThatCannotBeMadeIsNamedAsADirectory() throws {
        let server = try TestServer()
        let version = Version(large: 1 << 20)
        let ref = try version.push(server, "full/parent")
        let fs = try SmallExt4(megabytes: 32)
        try Self.write(PullCleanUpTests.before, under: fs.path)
        fs.fill()
        let kept = try Self.listing(fs.path)
        let dest = fs.path + "/keep/new/a/dest"
        let needed = UInt64(version.files.values.reduce(0) { $0 + $1.count })
        for flags in [[], ["--merge"]] {
            let r = try server.trove(["pull", ref, dest] + flags)
            #expect(r.status == 1, "\(flags): \(r)")
            #expect(
                r.stderr.contains(
                    "trove: error: no space left on the filesystem of \(dest) (creating directory "
                        + "\(fs.path)/keep/new: \(Progress.bytes(UInt64(fs.free))) free, the version "
                        + "takes \(Progress.bytes(needed))): \(dest) is as it was and nothing partly "
                        + "written was kept. Free space there, or pull into a directory with room, then "
                        + "run the same command again"),
                "\(flags): \(r)")
            #expect(!r.stderr.contains("writing"), "\(flags): \(r)")
            #expect(try Self.listing(fs.path) == kept, "\(flags): \(r)")
        }
        try PullDiskFullTests.expectFiles(PullCleanUpTests.before, under: fs.path, "what was there before")
    }

    @Test func theMessageNamesTheFileInTheVersionNotTheStageOrATemporary() {
        #expect(
            PullSpace.file("/d/.out.trove-pull-ab12/model.bin", under: "/d/.out.trove-pull-ab12")
                == "model.bin")
        #expect(PullSpace.file("/d/out/tok/.vocab.txt.trove-0a1b2c3d", under: "/d/out/") == "tok/vocab.txt")
        #expect(PullSpace.file("/d/out/..env.trove-0a1b2c3d", under: "/d/out") == ".env")
        #expect(PullSpace.file("/d/out/.trove-pull-ab12", under: "/d/out/.trove-pull-ab12") == "")
        #expect(PullSpace.file("/elsewhere/x", under: "/d/out") == "/elsewhere/x")
        let quota = ClientError.destinationFull(
            destination: "out", file: "m.bin", errno: EDQUOT, free: -1, needed: 10 << 20
        ).description
        #expect(
            quota.hasPrefix(
                "the disk quota is used up on the filesystem of out (writing m.bin: the version takes 10.0 MiB)"
            ),
            "\(quota)")
        #expect(
            ClientError.destinationFull(destination: "o", file: "", errno: ENOSPC, free: 0, needed: 1)
                .exitCode == 1)
        #expect(
            ClientError.destinationFull(
                destination: "out", file: "", errno: ENOSPC, free: 1 << 30, needed: 1, directory: true,
                inodes: (1, 12)
            ).description.hasPrefix(
                "no space left on the filesystem of out: it has run out of inodes (files), not bytes "
                    + "(creating the stage directory: 1 inode free, the pull makes 12 files and "
                    + "directories): "))
        #expect(
            ClientError.destinationFull(
                destination: "out", file: "new", errno: EDQUOT, free: -1, needed: 10 << 20, directory: true
            ).description.hasPrefix(
                "the disk quota is used up on the filesystem of out (creating directory new: the version "
                    + "takes 10.0 MiB): "))
    }

    /// Whether a file in `dir` can be written with `O_DIRECT` (opened and one aligned block written).
    static func takesDirectIO(_ dir: String) -> Bool {
        let path = dir + "/.direct-probe"
        defer { unlink(path) }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | DirectIO.openFlag, 0o600)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        let block = UnsafeMutableRawBufferPointer.allocate(
            byteCount: DirectIO.alignment, alignment: DirectIO.alignment)
        defer { block.deallocate() }
        block.initializeMemory(as: UInt8.self, repeating: 0)
        return pwrite(fd, block.baseAddress, block.count, 0) == block.count
    }

    /// The fraction of `path`'s pages in the page cache (`mincore`).
    static func cachedFraction(_ path: String) throws -> Double {
        let fd = open(path, O_RDONLY)
        try #require(fd >= 0, "open \(path): \(errno)")
        defer { close(fd) }
        var st = stat()
        try #require(fstat(fd, &st) == 0 && st.st_size > 0)
        let size = Int(st.st_size)
        let map = try #require(mmap(nil, size, PROT_READ, MAP_SHARED, fd, 0), "mmap \(path): \(errno)")
        try #require(map != UnsafeMutableRawPointer(bitPattern: -1), "mmap \(path): \(errno)")
        defer { munmap(map, size) }
        let page = Int(getpagesize())
        var vec = [UInt8](repeating: 0, count: (size + page - 1) / page)
        try #require(mincore(map, size, &vec) == 0, "mincore \(path): \(errno)")
        return Double(vec.filter { $0 & 1 != 0 }.count) / Double(vec.count)
    }
}
