import Foundation
import Testing
@testable import TroveClient
import TroveCore

/// A pull into a new stage hands small files to worker threads (`StagedFileWriters`, the CLI's
/// default) after verifying them; the same pull with `writerThreads = 0` writes every file on the
/// pulling thread as its chunks arrive. Both must give the same tree: bytes, modes, symlinks.
@Suite("pull writes small files on workers")
struct PullWritersTests {
    /// The push-stream corpus (small files in seven directories, equal files across directories,
    /// a multi-chunk file under the workers' limit, a 3 MB file over it) plus modes, a symlink, an
    /// empty file and a file made of one repeated chunk-sized block.
    static func corpus(_ dir: TemporaryDirectory) throws -> String {
        let src = try PushStreamTests.corpus(dir)
        let block = ClientE2E.random(seed: 81, count: 70_000)
        try dir.write("src/rep/repeated.bin", block + block + block)
        try dir.write("src/rep/empty", [])
        let ro = try dir.write("src/d2/read-only.txt", Array("read me".utf8))
        chmod(ro, 0o444)
        let x = try dir.write("src/d5/tool.sh", Array("#!/bin/sh\necho hi\n".utf8))
        chmod(x, 0o755)
        try FileManager.default.createSymbolicLink(atPath: src + "/d6/link", withDestinationPath: "../same-a.txt")
        return src
    }

    @Test func workersWriteWhatThePullingThreadWrites() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let server = try TestServer()
        let push = try server.trove(["push", src, "w:1"], environment: ["TROVE_NO_STAT_CACHE": "1"])
        #expect(push.status == 0, "\(push)")

        var trees: [[String: String]] = []
        for threads in [2, 0, 1] {
            let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
            defer { conn.close() }
            let puller = Puller(connection: conn)
            puller.writerThreads = threads
            let out = dir.path + "/out\(threads)"
            let r = try puller.pull(ref: "w:1", into: out)
            #expect(r.files == 409, "\(threads) threads")
            #expect(r.symlinks == 1)
            trees.append(try PullTests.snapshot(URL(fileURLWithPath: out)))
        }
        let source = try PullTests.snapshot(URL(fileURLWithPath: src))
        #expect(trees[0] == source)
        #expect(trees[1] == trees[0])
        #expect(trees[2] == trees[0])
        #expect(trees[0]["d2/read-only.txt"]?.hasPrefix("file 444 ") == true, "\(trees[0]["d2/read-only.txt"] ?? "")")
        #expect(trees[0]["d5/tool.sh"]?.hasPrefix("file 755 ") == true)
    }

    /// Stopped part-way with files still queued: what the workers had written stays (complete
    /// and verified) and the next run resumes from it.
    @Test func anInterruptedPullWithQueuedFilesResumes() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let server = try TestServer()
        #expect(try server.trove(["push", src, "w:1"]).status == 0)
        let dest = dir.path + "/dest"
        let stopped = try server.trove(
            ["pull", "w:1", dest], environment: ["TROVE_TEST_INTERRUPT_AFTER_CHUNKS": "150"])
        #expect(stopped.status == 130, "\(stopped)")
        #expect(!FileManager.default.fileExists(atPath: dest))
        let (r, j) = try ClientE2E.json(server, ["pull", "w:1", dest])
        #expect(r.status == 0, "\(r)")
        #expect(ClientE2E.int(j["chunksReused"]) >= 100, "\(j)")
        #expect(try PullTests.snapshot(URL(fileURLWithPath: dest)) == PullTests.snapshot(URL(fileURLWithPath: src)))
    }

    /// A file a worker cannot create fails the pull with the path, and later files are refused;
    /// what was written before stays.
    @Test func aWorkerFailureIsReported() throws {
        let dir = try TemporaryDirectory()
        let writers = StagedFileWriters(threads: 2)
        let good = dir.path + "/good"
        try writers.write(path: good, content: [1, 2, 3], mode: 0o640, worker: 0)
        // Written before the failing file is queued: once a worker has failed, files still
        // queued on the other worker are skipped, so without this wait "good" may never be made.
        try writers.finish()
        try writers.write(path: dir.path + "/no/such/dir/f", content: [4], mode: 0o644, worker: 1)
        #expect(throws: ClientError.self) { try writers.finish() }
        #expect(throws: ClientError.self) { try writers.write(path: dir.path + "/later", content: [5], mode: 0o644, worker: 0) }
        #expect(try ClientE2E.read(good) == [1, 2, 3])
        let mode = (try FileManager.default.attributesOfItem(atPath: good)[.posixPermissions] as? NSNumber)?.intValue
        #expect(mode == Int(0o640 & ~PullSafety.currentUmask()))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/later"))
    }
}
