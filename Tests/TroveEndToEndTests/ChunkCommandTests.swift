import Foundation
import Testing
import TroveCore

@Suite("trove chunk")
struct ChunkCommandTests {
    /// Expected per-chunk lines and summary line for `path`, from the serial reference.
    static func expectedLines(_ path: String, _ data: [UInt8], _ p: ChunkerParameters = .default) throws
        -> [String]
    {
        let r = try Ingest.serial(bytes: data, parameters: p)
        return r.chunks.map { "\($0.offset)\t\($0.length)\t\($0.digest.hex)" }
            + ["\(path)\t\(r.blobDigest.prefixed)\t\(r.chunks.count) chunks"]
    }

    @Test func printsChunksAndBlobDigestLikeSha256sum() throws {
        let dir = try TemporaryDirectory()
        let data = TestInput.random.bytes(seed: 1, count: 3_000_000)
        let path = try dir.write("model.bin", data)
        let r = try CLI.trove(["chunk", path])
        #expect(r.status == 0, "\(r)")
        #expect(r.lines == (try Self.expectedLines(path, data)))
        #expect(r.lines.count > 10)

        let sha = Process()
        sha.executableURL = URL(fileURLWithPath: "/usr/bin/sha256sum")
        sha.arguments = [path]
        let pipe = Pipe()
        sha.standardOutput = pipe
        try sha.run()
        let shaOut = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        sha.waitUntilExit()
        let hex = String(shaOut.prefix(64))
        #expect(r.lines.last == "\(path)\tsha256:\(hex)\t\(r.lines.count - 1) chunks")
    }

    @Test func summaryPrintsOnlyTheFileLine() throws {
        let dir = try TemporaryDirectory()
        let data = TestInput.text.bytes(seed: 2, count: 1_000_000)
        let path = try dir.write("a.txt", data)
        let r = try CLI.trove(["chunk", "--summary", path])
        #expect(r.status == 0, "\(r)")
        #expect(r.lines == [try Self.expectedLines(path, data).last!])
    }

    @Test func emptyFileHasNoChunks() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("empty", [])
        let r = try CLI.trove(["chunk", path])
        #expect(r.status == 0, "\(r)")
        #expect(
            r.lines == [
                "\(path)\tsha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\t0 chunks"
            ])
    }

    @Test func sharedLineMeasuresDedupAgainstEarlierFiles() throws {
        let dir = try TemporaryDirectory()
        let v1 = TestInput.random.bytes(seed: 3, count: 4_000_000)
        var v2 = v1
        v2.replaceSubrange(2_000_000..<2_000_100, with: TestInput.random.bytes(seed: 4, count: 5000))
        let unrelated = TestInput.random.bytes(seed: 5, count: 500_000)
        let p1 = try dir.write("v1", v1)
        let p2 = try dir.write("v2", v2)
        let p3 = try dir.write("other", unrelated)

        let r = try CLI.trove(["chunk", "--summary", p1, p2, p3])
        #expect(r.status == 0, "\(r)")
        #expect(r.lines.count == 4)
        let c1 = try Ingest.serial(bytes: v1)
        let c2 = try Ingest.serial(bytes: v2)
        let seen = Set(c1.chunks.map(\.digest))
        let shared = c2.chunks.filter { seen.contains($0.digest) }.map(\.length).reduce(0, +)
        let later = v2.count + unrelated.count
        #expect(shared > 3_500_000)
        let tenths = (shared * 1000 + later / 2) / later
        #expect(r.lines.last == "shared: \(shared) of \(later) bytes (\(tenths / 10).\(tenths % 10)%)")

        // A file against itself shares everything; the per-chunk output is printed for each file.
        let same = try CLI.trove(["chunk", p3, p3])
        #expect(same.status == 0)
        #expect(same.lines.last == "shared: \(unrelated.count) of \(unrelated.count) bytes (100.0%)")
        #expect(same.lines.count == 2 * (try Self.expectedLines(p3, unrelated)).count + 1)
    }

    @Test func jsonHoldsTheSameInformation() throws {
        let dir = try TemporaryDirectory()
        let a = TestInput.text.bytes(seed: 6, count: 700_000)
        let b = Array(a[100_000...]) + TestInput.random.bytes(seed: 7, count: 50_000)
        let pa = try dir.write("a", a)
        let pb = try dir.write("b", b)
        let r = try CLI.trove(["chunk", "--json", "--min", "4K", "--avg", "16K", "--max", "64K", pa, pb])
        #expect(r.status == 0, "\(r)")
        let doc = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any])
        let params = try #require(doc["parameters"] as? [String: Int])
        #expect(params == ["min": 4096, "avg": 16384, "max": 65536, "normalization": 1])
        let files = try #require(doc["files"] as? [[String: Any]])
        #expect(files.count == 2)
        let p = ChunkerParameters(min: 4096, avg: 16384, max: 65536)
        for (file, (path, data)) in zip(files, [(pa, a), (pb, b)]) {
            let expected = try Ingest.serial(bytes: data, parameters: p)
            #expect(file["path"] as? String == path)
            #expect(file["size"] as? Int == data.count)
            #expect(file["blob"] as? String == expected.blobDigest.prefixed)
            #expect(file["chunkCount"] as? Int == expected.chunks.count)
            let chunks = try #require(file["chunks"] as? [[String: Any]])
            #expect(chunks.map { $0["offset"] as? Int } == expected.chunks.map { Int($0.offset) })
            #expect(chunks.map { $0["length"] as? Int } == expected.chunks.map(\.length))
            #expect(chunks.map { $0["sha256"] as? String } == expected.chunks.map(\.digest.hex))
        }
        let shared = try #require(doc["shared"] as? [String: Any])
        #expect(shared["of"] as? Int == b.count)
        #expect((shared["bytes"] as? Int ?? 0) > 500_000)

        let summary = try CLI.trove(["chunk", "--json", "--summary", pa])
        let sdoc = try #require(try JSONSerialization.jsonObject(with: summary.stdoutData) as? [String: Any])
        let sfiles = try #require(sdoc["files"] as? [[String: Any]])
        #expect(sfiles.first?["chunks"] == nil)
        #expect(sdoc["shared"] == nil)
    }

    @Test func sizeSuffixesSelectTheParameters() throws {
        let dir = try TemporaryDirectory()
        let data = TestInput.random.bytes(seed: 8, count: 1_000_000)
        let path = try dir.write("f", data)
        let p = ChunkerParameters(min: 2048, avg: 8192, max: 32768, normalization: 2)
        let r = try CLI.trove([
            "chunk", path, "--min", "2K", "--avg", "8KiB", "--max", "32768", "--normalization", "2",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(r.lines == (try Self.expectedLines(path, data, p)))
    }

    @Test(
        "bad parameters exit 2 and say what is allowed",
        arguments: [
            (["--min", "8"], "between 64 and 1048576"),
            (["--avg", "1M", "--max", "512K"], "min <= avg <= max"),
            (["--min", "128K", "--avg", "64K"], "min <= avg <= max"),
            (["--max", "32M"], "between 1024 and 16777216"),
            (["--avg", "100"], "between 256 and 4194304"),
            (["--normalization", "4"], "0, 1, 2 or 3"),
            (["--normalization", "x"], "0, 1, 2 or 3"),
            (["--min", "lots"], "16K"),
        ])
    func badParameters(_ args: [String], _ message: String) throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("f", [1, 2, 3])
        let r = try CLI.trove(["chunk", path] + args)
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains(message), "\(r)")
        #expect(r.stdout.isEmpty)
    }

    @Test func noFileExits2() throws {
        let r = try CLI.trove(["chunk"])
        #expect(r.status == 2, "\(r)")
        #expect(r.stderr.contains("FILE"))
    }

    @Test func unreadableFileExits1NamingIt() throws {
        let dir = try TemporaryDirectory()
        let good = try dir.write("good", [1, 2, 3])
        let missing = dir.url.appendingPathComponent("missing.bin").path
        let r = try CLI.trove(["chunk", good, missing])
        #expect(r.status == 1, "\(r)")
        #expect(r.stderr.contains(missing) && r.stderr.contains("No such file"), "\(r)")

        let asDirectory = try CLI.trove(["chunk", dir.path])
        #expect(asDirectory.status == 1, "\(asDirectory)")
        #expect(asDirectory.stderr.contains(dir.path))

        if getuid() != 0 {  // root reads anything
            let locked = try dir.write("locked", [1])
            chmod(locked, 0)
            let l = try CLI.trove(["chunk", locked])
            #expect(l.status == 1 && l.stderr.contains(locked), "\(l)")
        }
    }
}
