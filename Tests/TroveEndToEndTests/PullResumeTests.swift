import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// A resumed pull checks an interrupted pull's large file only as far as that pull can have
/// written it (``PullJob/verifyExisting(_:into:writesInFlight:seekHoles:stop:)``): the file was
/// allocated at its full size up front, and reading its never-written rest (zeros) chunk by chunk
/// would cost as much as the file. Each test runs with the holes the filesystem reports skipped
/// (`SEEK_DATA`) and without, where the gap after the last verified chunk alone bounds it.
@Suite("a resume reads only what an interrupted pull can have written", .serialized)
struct PullResumeTests {
    static func connect(_ server: TestServer) throws -> Connection {
        try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
    }

    /// A troved holding `big.bin` (`size` random bytes) as `ref`, a directory taking `O_DIRECT`
    /// (the pull writes the file directly, allocated up front), and the stage of a pull into
    /// `dir/dest` stopped after `chunks` chunks.
    static func interrupted(_ ref: String, size: Int, seed: UInt64, after chunks: Int) throws
        -> (server: TestServer, bytes: [UInt8], dir: TemporaryDirectory, dest: String, stage: String)
    {
        let server = try TestServer()
        let dir = try TemporaryDirectory("trove-pull-resume")
        try #require(PullDiskFullTests.takesDirectIO(dir.path), "the test directory must take O_DIRECT")
        let bytes = ClientE2E.random(seed: seed, count: size)
        let src = try TemporaryDirectory()
        try src.write("big.bin", bytes)
        let push = try server.trove(["push", src.path, ref])
        try #require(push.status == 0, "\(push)")
        let dest = dir.path + "/dest"
        let conn = try connect(server)
        defer { conn.close() }
        let puller = Puller(connection: conn)
        puller.shouldStop = { $0 >= chunks }
        let stopped = #expect(throws: ClientError.self) { _ = try puller.pull(ref: ref, into: dest) }
        #expect(
            stopped.map { if case .interrupted = $0 { true } else { false } } == true,
            "\(String(describing: stopped))")
        let name = try #require(
            try FileManager.default.contentsOfDirectory(atPath: dir.path).first {
                $0.hasPrefix(".dest.trove-pull-")
            })
        let stage = dir.path + "/" + name
        var st = stat()
        try #require(stat(stage + "/big.bin", &st) == 0 && st.st_size == off_t(size), "allocated up front")
        return (server, bytes, dir, dest, stage)
    }

    /// Resumes the pull of `ref` into `dest`, skipping holes or not.
    static func resume(_ server: TestServer, _ ref: String, into dest: String, seekHoles: Bool) throws
        -> PullResult
    {
        let conn = try connect(server)
        defer { conn.close() }
        let puller = Puller(connection: conn)
        puller.resumeSeeksHoles = seekHoles
        return try puller.pull(ref: ref, into: dest)
    }

    /// The gap the resume allows after the last verified chunk of a file with troved's default
    /// chunks, plus the chunk that crosses it: the most it reads past what verified.
    static let bound =
        PullJob.resumeGap(writesInFlight: 2, largestChunk: UInt64(ChunkerParameters.default.max))
        + UInt64(ChunkerParameters.default.max)

    /// A 96 MiB file stopped after its first 5 chunks (at most 1.25 MiB written; an interrupted
    /// pull waits for its writes, so they are its whole prefix): the resume keeps those and reads
    /// at most the bound past them — 25.5 MiB, not the 95 MiB of reserved space (zeros); skipping
    /// holes (ext4 reports the allocated blocks never written as one), only the chunk crossing
    /// their end — then fetches the rest, and the file is exact.
    @Test(arguments: [true, false])
    func anEarlyInterruptedLargeFileIsReadOnlyAsFarAsItWasWritten(seekHoles: Bool) throws {
        let size = 96 << 20
        // `dir` holds the stage: released, it would be removed.
        let (server, bytes, dir, dest, _) = try Self.interrupted(
            "resume/early:1", size: size, seed: 8501, after: 5)
        let r = try Self.resume(server, "resume/early:1", into: dest, seekHoles: seekHoles)
        #expect(r.chunksReused == 5, "\(r)")
        #expect(r.bytesReused > 0 && r.bytesReused <= 5 * UInt64(ChunkerParameters.default.max), "\(r)")
        #expect(r.bytesChecked >= r.bytesReused, "\(r)")
        // Skipping holes, it stops at the end of the data: only the chunk crossing it is read.
        let past = seekHoles ? UInt64(ChunkerParameters.default.max) : Self.bound
        #expect(
            r.bytesChecked <= r.bytesReused + past,
            """
            read \(r.bytesChecked) of \(size) (holes skipped: \(seekHoles); does the filesystem of \(dir.path) \
            report allocated blocks never written as holes?)
            """
        )
        #expect(Self.bound < UInt64(size) / 3)
        #expect(try ClientE2E.read(dest + "/big.bin") == bytes)
        withExtendedLifetime(dir) {}
    }

    /// A stage file made by hand over an interrupted pull's, chunk-aligned, of 96 MiB: good chunks
    /// (0–4 MiB), garbage less than the gap (4–12), good (12–16), a hole more than the gap
    /// (16–46), good (46–50), garbage more than the gap (50–82), good (82–96). Both ways the chunks
    /// after the small gap are kept and those after the large garbage are not; after the large hole
    /// they are kept where holes are skipped (reading it takes nothing) and not where its zeros are
    /// read. `verifyExisting` keeps exactly those; the resumed pull reuses them, fetches the rest
    /// and gives the exact file.
    @Test(arguments: [true, false])
    func chunksPastAGapLargerThanTheBoundAreFetchedAgain(seekHoles: Bool) throws {
        let ref = "resume/gaps:1"
        let size = 96 << 20
        let (server, bytes, dir, dest, stage) = try Self.interrupted(ref, size: size, seed: 8601, after: 1)
        let conn = try Self.connect(server)
        defer { conn.close() }
        let remote = Remote(connection: conn)
        let tree = try remote.tree(try remote.resolve(ref).tree)
        let files = tree.entries.filter { $0.kind == .file }
        try #require(files.count == 1)
        let blob = files[0].blob!
        let job = PullJob(
            tree: tree, files: files, recipes: try remote.recipes([blob], sizes: [blob: UInt64(size)]))
        let chunks = job.recipes[blob]!.chunks
        var starts: [UInt64] = [0]
        for c in chunks { starts.append(starts.last! + UInt64(c.length)) }
        let largest = UInt64(chunks.map(\.length).max()!)
        let gap = PullJob.resumeGap(writesInFlight: 2, largestChunk: largest)
        try #require(gap < 30 << 20 && largest <= 1 << 20, "gap \(gap), largest chunk \(largest)")

        enum Fill { case good, garbage, hole }
        let regions: [(from: Int, fill: Fill)] = [
            (0, .good), (4, .garbage), (12, .good), (16, .hole), (46, .good), (50, .garbage), (82, .good),
        ]
        // Each chunk gets the fill of the region it starts in.
        func fill(_ i: Int) -> Fill { regions.last { UInt64($0.from) << 20 <= starts[i] }!.fill }
        func starting(_ from: Int, _ to: Int) -> Set<Int> {
            Set(chunks.indices.filter { starts[$0] >= UInt64(from) << 20 && starts[$0] < UInt64(to) << 20 })
        }
        let kept = starting(0, 4).union(starting(12, 16)).union(seekHoles ? starting(46, 50) : [])
        #expect(starting(46, 50).count > 10 && starting(82, 96).count > 10)

        let path = stage + "/big.bin"
        let fd = open(path, O_WRONLY)
        try #require(fd >= 0, "open \(path): errno \(errno)")
        // Sparse: its allocated blocks gone, all of it a hole until written.
        try #require(ftruncate(fd, 0) == 0 && ftruncate(fd, off_t(size)) == 0)
        let garbage = ClientE2E.random(seed: 8602, count: size)
        for i in chunks.indices where fill(i) != .hole {
            let range = Int(starts[i])..<Int(starts[i + 1])
            try (fill(i) == .good ? bytes[range] : garbage[range]).withUnsafeBytes {
                try SafeWriter.pwriteFully(fd, $0, at: starts[i], path: path)
            }
        }
        close(fd)

        var resume = PullJob.Resume()
        try job.verifyExisting(
            SafeWriter(root: stage), into: &resume, writesInFlight: 2, seekHoles: seekHoles)
        #expect(Set(resume.verified.map(\.chunk)) == kept)

        let r = try Self.resume(server, ref, into: dest, seekHoles: seekHoles)
        #expect(r.chunksReused == kept.count, "\(r)")
        #expect(r.bytesReused == kept.reduce(0) { $0 + UInt64(chunks[$1].length) }, "\(r)")
        #expect(r.chunksFetched == chunks.count - kept.count, "\(r)")
        #expect(try ClientE2E.read(dest + "/big.bin") == bytes)
        withExtendedLifetime(dir) {}
    }
}
