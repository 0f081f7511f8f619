import Foundation
import Testing
@testable import TroveClient
import TroveCore

/// Small files uploaded while the push is still reading (`Pusher.streamSmallFiles`, the CLI's
/// default) against the same push reading every file again after the ingest pass: same tree,
/// same chunks sent once each, and the pull gives back every byte.
@Suite("push streams small files")
struct PushStreamTests {
    /// 400 files of 1–16 KiB (text and random), two pairs with equal content, a 300 KB file of
    /// several chunks and a 3 MB file (read by the pipeline, not streamed) that begins with it.
    static func corpus(_ dir: TemporaryDirectory) throws -> String {
        for i in 0..<400 {
            let kind: TestInput = i % 2 == 0 ? .text : .random
            let size = 1024 + Int(SplitMix64.bytes(seed: UInt64(i), count: 2).withUnsafeBytes { $0.load(as: UInt16.self) }) % (15 * 1024)
            try dir.write("src/d\(i % 7)/f\(i).dat", kind.bytes(seed: 5000 + UInt64(i), count: size))
        }
        try dir.write("src/same-a.txt", TestInput.text.bytes(seed: 77, count: 5000))
        try dir.write("src/z/same-b.txt", TestInput.text.bytes(seed: 77, count: 5000))
        try dir.write("src/d1/f3-copy.dat", try ClientE2E.read(dir.path + "/src/d3/f3.dat"))
        let big = ClientE2E.random(seed: 78, count: 3_000_000)
        try dir.write("src/head.bin", Array(big[0..<300_000]))
        try dir.write("src/big.bin", big)
        return dir.path + "/src"
    }

    /// `src` pushed once per setting into a new server each (batches of 64 KiB), `configure`
    /// given the pusher and the setting; with `uploadConnection`, over two connections as the CLI
    /// pushes.
    static func pushEach(
        _ src: String, _ settings: [Bool], uploadConnection: Bool = false, configure: (Pusher, Bool) -> Void
    ) throws -> (results: [PushResult], servers: [TestServer]) {
        var results: [PushResult] = []
        var servers: [TestServer] = []
        for setting in settings {
            let server = try TestServer()
            servers.append(server)
            let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
            defer { conn.close() }
            let pusher = Pusher(connection: conn)
            if uploadConnection {
                pusher.uploadConnections = [
                    try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
                ]
            }
            defer { for c in pusher.uploadConnections { c.close() } }
            pusher.smallBatchBytes = 64 << 10
            configure(pusher, setting)
            results.append(try pusher.push(PushRequest(path: src, name: "s", version: "1")))
        }
        return (results, servers)
    }

    /// Two pushes of the same directory made the same tree of the same chunks, each sent once.
    static func expectSameVersion(_ results: [PushResult]) {
        #expect(results[0].tree == results[1].tree)
        #expect(results[0].chunks == results[1].chunks)
        #expect(results[0].chunksSent == results[0].chunks && results[1].chunksSent == results[1].chunks)
    }

    /// `s:1` pulled from `server` into `out` gives back the corpus's files that share, repeat or
    /// span chunks, byte for byte.
    static func pullsBack(_ server: TestServer, _ src: String, into out: String) throws {
        let pull = try server.trove(["pull", "s:1", out])
        #expect(pull.status == 0, "\(pull)")
        for f in ["d3/f3.dat", "d1/f3-copy.dat", "same-a.txt", "z/same-b.txt", "head.bin", "big.bin", "d6/f398.dat"] {
            #expect(try ClientE2E.read(out + "/" + f) == ClientE2E.read(src + "/" + f), "\(f)")
        }
    }

    @Test func streamedPushSendsWhatTheReadTwicePushSendsAndPullsBack() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let env = ["TROVE_NO_STAT_CACHE": "1"]

        let server = try TestServer()
        let (r1, j1) = try ClientE2E.json(server, ["push", src, "s:1"], environment: env)
        #expect(r1.status == 0, "\(r1)")
        #expect(ClientE2E.int(j1["files"]) == 405)

        // The same directory without streaming, into another store.
        let other = try TestServer()
        let conn = try Connection.open(to: ServerAddress(parsing: other.address), credentials: nil)
        defer { conn.close() }
        let pusher = Pusher(connection: conn)
        pusher.streamSmallFiles = false
        let slow = try pusher.push(PushRequest(path: src, name: "s", version: "1"))
        #expect(j1["tree"] as? String == slow.tree.prefixed)
        #expect(ClientE2E.int(j1["chunks"]) == slow.chunks)
        // Every distinct chunk sent exactly once, streamed or not.
        #expect(ClientE2E.int(j1["chunksSent"]) == slow.chunks)
        #expect(slow.chunksSent == slow.chunks)
        #expect(ClientE2E.int(j1["rawBytesSent"]) == Int(slow.rawBytesSent))
        #expect(ClientE2E.int(j1["bytesDeduplicated"]) == Int(slow.bytesDeduplicated))

        let out = dir.path + "/out"
        let pull = try server.trove(["pull", "s:1", out])
        #expect(pull.status == 0, "\(pull)")
        let files = try FileManager.default.subpathsOfDirectory(atPath: src).filter { !$0.hasSuffix("/") }
        var compared = 0
        for f in files {
            var isDir: ObjCBool = false
            guard FileManager.default.fileExists(atPath: src + "/" + f, isDirectory: &isDir), !isDir.boolValue
            else { continue }
            #expect(try ClientE2E.read(out + "/" + f) == ClientE2E.read(src + "/" + f), "\(f)")
            compared += 1
        }
        #expect(compared == 405)

        // v2: three small files changed; only their chunks go out, and the rest is deduplicated.
        for i in [10, 11, 250] {
            try dir.write("src/d\(i % 7)/f\(i).dat", TestInput.text.bytes(seed: 9000 + UInt64(i), count: 3000))
        }
        let (r2, j2) = try ClientE2E.json(server, ["push", src, "s:2"], environment: env)
        #expect(r2.status == 0, "\(r2)")
        #expect(ClientE2E.int(j2["chunksSent"]) == 3)
        #expect(ClientE2E.int(j2["rawBytesSent"]) == 9000)
        let out2 = dir.path + "/out2"
        #expect(try server.trove(["pull", "s:2", out2]).status == 0)
        #expect(
            try ClientE2E.read(out2 + "/d4/f11.dat") == TestInput.text.bytes(seed: 9011, count: 3000))
    }
}

extension PushStreamTests {
    /// One-chunk recipes sent after their batches' chunks, a few batches per request (here:
    /// batches of 64 KiB, 25 recipes per request, so most go while files are still read), against
    /// all of them sent at the end: the same tree and chunks, and the pull gives back every byte.
    @Test func oneChunkRecipesAfterTheirChunksCommitTheSameTreeAsAtTheEnd() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let (results, servers) = try Self.pushEach(src, [false, true]) { pusher, atEnd in
            pusher.singleRecipesPerRequest = 25
            pusher.singleRecipesAtEnd = atEnd
        }
        Self.expectSameVersion(results)
        #expect(results[0].files == 405 && results[0].created)
        let out = dir.path + "/out"
        let pull = try servers[0].trove(["pull", "s:1", out])
        #expect(pull.status == 0, "\(pull)")
        #expect(try ClientE2E.read(out + "/d3/f3.dat") == ClientE2E.read(src + "/d3/f3.dat"))
        #expect(try ClientE2E.read(out + "/big.bin") == ClientE2E.read(src + "/big.bin"))
    }
}

extension PushStreamTests {
    /// Against a version-4 server the recipes of one-chunk files are neither asked about nor
    /// sent (COMMIT takes them from their chunks), against the same push sending them: the same
    /// tree and chunks, fewer object bytes, and the pull gives back every byte.
    @Test func impliedOneChunkRecipesCommitTheSameTreeAsSentOnes() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let (results, servers) = try Self.pushEach(src, [true, false]) { pusher, implied in
            #expect(PushStream.implies(by: pusher.connection))
            pusher.impliedRecipes = implied
        }
        Self.expectSameVersion(results)
        #expect(results[0].files == 405 && results[0].created && results[1].created)
        // ~400 one-chunk recipes of ~80 bytes each were left out.
        #expect(results[0].objectBytesSent + 20_000 < results[1].objectBytesSent)
        try Self.pullsBack(servers[0], src, into: dir.path + "/out")
        // One file changed and pushed as another version: its blobs committed before are
        // implied again, the new one from its chunk.
        try dir.write("src/d4/f11.dat", TestInput.text.bytes(seed: 9011, count: 3000))
        let again = try servers[0].trove(["push", src, "s:2"])
        #expect(again.status == 0, "\(again)")
        let out2 = dir.path + "/out2"
        #expect(try servers[0].trove(["pull", "s:2", out2]).status == 0)
        #expect(try ClientE2E.read(out2 + "/d4/f11.dat") == TestInput.text.bytes(seed: 9011, count: 3000))
        #expect(try ClientE2E.read(out2 + "/d3/f3.dat") == ClientE2E.read(src + "/d3/f3.dat"))
    }
}

extension PushStreamTests {
    /// A batch's new chunks compressed on two threads, 1 MiB at a time (the default), against
    /// one at a time on the pushing thread: the same tree and chunks, the same bytes on the wire
    /// (each chunk compressed alike, in the same order), and the pull gives back every byte.
    @Test func chunksCompressedOnTwoThreadsGoOutAsOnOne() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let (results, servers) = try Self.pushEach(src, [true, false]) { pusher, two in
            pusher.smallBatchBytes = 4 << 20  // several 1 MiB slices per batch
            pusher.smallEncodeThreads = two ? 2 : 1
        }
        Self.expectSameVersion(results)
        #expect(results[0].rawBytesSent == results[1].rawBytesSent)
        #expect(results[0].chunkBytesSent == results[1].chunkBytesSent)
        #expect(results[0].chunkBytesSent < results[0].rawBytesSent)  // the text files compressed
        #expect(results[0].files == 405 && results[0].created && results[1].created)
        try Self.pullsBack(servers[0], src, into: dir.path + "/out")
    }
}

extension PushStreamTests {
    /// Small files' chunks sent over the second connection while their HAS and PUT_OBJECTS go
    /// over the first, against all over the first: the same tree, chunks and wire bytes, each
    /// chunk sent once, and the pull gives back every byte (also a v2 that shares most of them).
    @Test func chunksOnTheSecondConnectionCommitTheSameTreeAsOnOne() throws {
        let dir = try TemporaryDirectory()
        let src = try Self.corpus(dir)
        let (results, servers) = try Self.pushEach(src, [true, false], uploadConnection: true) { pusher, second in
            #expect(pusher.uploadConnections.count == 1)
            pusher.smallChunksOnUploadConnection = second
        }
        Self.expectSameVersion(results)
        #expect(results[0].chunkBytesSent == results[1].chunkBytesSent)
        #expect(results[0].files == 405 && results[0].created && results[1].created)
        try Self.pullsBack(servers[0], src, into: dir.path + "/out")
        // v2: a few files changed, pushed the same way into the first store.
        for i in [10, 11, 250] {
            try dir.write("src/d\(i % 7)/f\(i).dat", TestInput.text.bytes(seed: 9000 + UInt64(i), count: 3000))
        }
        let conn = try Connection.open(to: ServerAddress(parsing: servers[0].address), credentials: nil)
        defer { conn.close() }
        let upload = try Connection.open(to: ServerAddress(parsing: servers[0].address), credentials: nil)
        defer { upload.close() }
        let pusher = Pusher(connection: conn)
        pusher.uploadConnections = [upload]
        pusher.smallBatchBytes = 64 << 10
        let v2 = try pusher.push(PushRequest(path: src, name: "s", version: "2"))
        #expect(v2.created && v2.chunksSent == 3)
        let out2 = dir.path + "/out2"
        #expect(try servers[0].trove(["pull", "s:2", out2]).status == 0)
        #expect(try ClientE2E.read(out2 + "/d4/f11.dat") == TestInput.text.bytes(seed: 9011, count: 3000))
        #expect(try ClientE2E.read(out2 + "/d3/f3.dat") == ClientE2E.read(src + "/d3/f3.dat"))
    }
}

/// The compressibility sample is skipped only while chunks keep compressing.
@Suite("compressibility sampler")
struct CompressibilitySamplerTests {
    @Test func afterACompressedChunkTheNextSkipsTheSampleUntilOneDoesNotShrink() {
        let sampler = CompressibilitySampler()
        let random = TestInput.random.bytes(seed: 1, count: 65_536)
        let text = TestInput.text.bytes(seed: 2, count: 65_536)
        let randomSays = { random.withUnsafeBytes { sampler.looksCompressible($0) } }
        let textSays = { text.withUnsafeBytes { sampler.looksCompressible($0) } }
        #expect(!randomSays())  // sampled: incompressible
        sampler.record(compressed: false)
        #expect(textSays())  // sampled: compressible
        sampler.record(compressed: true)
        #expect(randomSays())  // not sampled: the run of compressible chunks continues
        sampler.record(compressed: false)  // the full attempt did not shrink it
        #expect(!randomSays())  // sampled again
        sampler.enabled = false
        #expect(!textSays())
    }

    @Test func deepInAnIncompressibleRunOnlySomeChunksAreSampledAndCompressibleDataIsStillFound() {
        let sampler = CompressibilitySampler()
        let random = TestInput.random.bytes(seed: 3, count: 65_536)
        let text = TestInput.text.bytes(seed: 4, count: 65_536)
        // The run's first chunks are all sampled (and found incompressible).
        for _ in 0..<CompressibilitySampler.backOffAfter {
            #expect(!random.withUnsafeBytes { sampler.looksCompressible($0) })
            sampler.record(compressed: false)
        }
        // Then compressible chunks arrive: at most `sampleEvery` of them go unsampled (a "no"
        // without a sample) before one is sampled and found compressible.
        var answers: [Bool] = []
        while answers.last != true && answers.count < 2 * CompressibilitySampler.sampleEvery {
            let yes = text.withUnsafeBytes { sampler.looksCompressible($0) }
            answers.append(yes)
            sampler.record(compressed: yes)
        }
        #expect(answers.last == true)
        #expect(answers.count <= CompressibilitySampler.sampleEvery)
        #expect(answers.count > 1, "deep in an incompressible run, the next chunk is not sampled")
        // Once it compressed, the run is over: every chunk is sampled again from the first.
        sampler.record(compressed: false)
        #expect(text.withUnsafeBytes { sampler.looksCompressible($0) })
    }
}
