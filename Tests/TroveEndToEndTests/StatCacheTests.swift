import Foundation
import Testing
import TroveClient
import TroveCore

@Suite("push stat cache")
struct StatCacheTests {
    /// Sets a file's mtime (and so keeps size and inode) to `seconds` since the epoch.
    static func setMtime(_ path: String, _ seconds: Int) throws {
        try FileManager.default.setAttributes(
            [.modificationDate: Date(timeIntervalSince1970: TimeInterval(seconds))], ofItemAtPath: path)
    }

    @Test func unchangedFilesAreNotReReadAndChangedOnesAlwaysAre() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let cache = try TemporaryDirectory("trove-cache")
        let env = ["TROVE_CACHE_DIR": cache.path]
        var files: [String] = []
        for i in 0..<5 {
            files.append(
                try dir.write("src/f\(i).bin", ClientE2E.random(seed: 1100 + UInt64(i), count: 40_000)))
        }
        // Old mtimes: not "racy" (written well before the cache).
        for f in files { try Self.setMtime(f, 1_600_000_000) }
        let src = dir.path + "/src"

        let (r1, j1) = try ClientE2E.json(server, ["push", src, "c:1"], environment: env)
        #expect(r1.status == 0, "\(r1)")
        #expect(ClientE2E.int(j1["filesFromCache"]) == 0)
        let (r2, j2) = try ClientE2E.json(server, ["push", src, "c:2"], environment: env)
        #expect(r2.status == 0, "\(r2)")
        #expect(ClientE2E.int(j2["filesFromCache"]) == 5)
        #expect(j2["tree"] as? String == j1["tree"] as? String)
        let (_, j3) = try ClientE2E.json(server, ["push", src, "c:3", "--no-cache"], environment: env)
        #expect(ClientE2E.int(j3["filesFromCache"]) == 0)

        // Same size, same mtime (set back), same inode: ctime changes, so it is re-read.
        var changed = ClientE2E.random(seed: 1100, count: 40_000)
        changed[20_000] ^= 1
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: files[0]))
        try h.write(contentsOf: changed)
        try h.close()
        try Self.setMtime(files[0], 1_600_000_000)
        let (r4, j4) = try ClientE2E.json(server, ["push", src, "c:4"], environment: env)
        #expect(r4.status == 0, "\(r4)")
        #expect(ClientE2E.int(j4["filesFromCache"]) == 4)
        #expect(j4["tree"] as? String != j1["tree"] as? String)
        let pulled = dir.path + "/out4"
        #expect(try server.trove(["pull", "c:4", pulled]).status == 0)
        #expect(try ClientE2E.read(pulled + "/f0.bin") == changed)

        // A size change is detected.
        try dir.write("src/f1.bin", ClientE2E.random(seed: 1101, count: 40_001))
        let (_, j5) = try ClientE2E.json(server, ["push", src, "c:5"], environment: env)
        #expect(ClientE2E.int(j5["filesFromCache"]) == 4)
    }

    @Test func aFileRewrittenWithinTheSameSecondIsReRead() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let cache = try TemporaryDirectory("trove-cache")
        let env = ["TROVE_CACHE_DIR": cache.path]
        let path = try dir.write("src/m.bin", ClientE2E.random(seed: 1200, count: 30_000))
        let src = dir.path + "/src"
        let (_, j1) = try ClientE2E.json(server, ["push", src, "r:1"], environment: env)
        // Rewrite in place with the same size right away, and force the old mtime back: every
        // stamp field but ctime is equal, and the entry is racy (modified close to the cache write).
        let stamp = try #require(FileStamp(path: path))
        var other = ClientE2E.random(seed: 1201, count: 30_000)
        other[0] = 7
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
        try h.write(contentsOf: other)
        try h.close()
        var times = [
            timespec(tv_sec: Int(stamp.mtimeNs / 1_000_000_000), tv_nsec: Int(stamp.mtimeNs % 1_000_000_000)),
            timespec(tv_sec: Int(stamp.mtimeNs / 1_000_000_000), tv_nsec: Int(stamp.mtimeNs % 1_000_000_000)),
        ]
        #expect(utimensat(AT_FDCWD, path, &times, 0) == 0)
        let (r2, j2) = try ClientE2E.json(server, ["push", src, "r:2"], environment: env)
        #expect(r2.status == 0, "\(r2)")
        #expect(ClientE2E.int(j2["filesFromCache"]) == 0)
        #expect(j2["tree"] as? String != j1["tree"] as? String)
    }

    /// The per-file key built from the root's key is the key of the joined path (the cache
    /// files of earlier clients stay valid).
    @Test func keysFromTheRootEqualKeysOfTheJoinedPath() {
        for root in ["src", "src/", "./a/../src", "/tmp/x", "/tmp/x/", "/", "a//b"] {
            for rel in ["f.bin", "part-000/sample-00001.bin", "d/e/f"] {
                #expect(
                    StatCache.key(rootKey: StatCache.key(root), relative: rel)
                        == StatCache.key(root + (root.hasSuffix("/") ? "" : "/") + rel), "\(root) + \(rel)")
            }
        }
    }

    /// The racy rule alone: an entry whose stamp is fully equal but whose mtime is within the
    /// racy window of the cache write is not trusted; an old one is.
    @Test func racyEntriesAreNotTrustedAndDamagedFilesAreIgnored() throws {
        let dir = try TemporaryDirectory("trove-cache")
        let params = ChunkerParameters.default
        let blob = SHA256.hash(Array("x".utf8))
        let result = IngestResult(
            size: 1, blobDigest: blob, chunks: [ChunkRef(offset: 0, length: 1, digest: blob)])
        let now = Int64(Date().timeIntervalSince1970 * 1e9)
        let fresh = FileStamp(size: 1, mtimeNs: now, ctimeNs: now, inode: 1, device: 1)
        let old = FileStamp(size: 1, mtimeNs: 1_000, ctimeNs: 1_000, inode: 2, device: 1)
        let c = StatCache(directory: dir.url, parameters: params)
        c.store(path: "/fresh", stamp: fresh, result: result)
        c.store(path: "/old", stamp: old, result: result)
        try c.save()
        let d = StatCache(directory: dir.url, parameters: params)
        #expect(d.lookup(path: "/fresh", stamp: fresh) == nil)
        #expect(d.lookup(path: "/old", stamp: old)?.blobDigest == blob)
        var moved = old
        moved.inode = 3
        #expect(d.lookup(path: "/old", stamp: moved) == nil)
        // Other chunker parameters use another file.
        var p2 = params
        p2.avg *= 2
        #expect(StatCache(directory: dir.url, parameters: p2).lookup(path: "/old", stamp: old) == nil)
        // A damaged file is ignored.
        var bytes = [UInt8](try Data(contentsOf: c.url))
        bytes[bytes.count / 2] ^= 1
        try Data(bytes).write(to: c.url)
        #expect(StatCache(directory: dir.url, parameters: params).lookup(path: "/old", stamp: old) == nil)
        try Data(bytes.prefix(20)).write(to: c.url)
        #expect(StatCache(directory: dir.url, parameters: params).lookup(path: "/old", stamp: old) == nil)
    }

    @Test func entriesOfVanishedFilesAreDropped() throws {
        let dir = try TemporaryDirectory("trove-cache")
        let params = ChunkerParameters.default
        let blob = SHA256.hash([1])
        let result = IngestResult(
            size: 1, blobDigest: blob, chunks: [ChunkRef(offset: 0, length: 1, digest: blob)])
        let gone = try dir.write("gone.bin", [1])
        let kept = try dir.write("kept.bin", [1])
        for f in [gone, kept] { try StatCacheTests.setMtime(f, 1_600_000_000) }
        let goneStamp = try #require(FileStamp(path: gone))
        let keptStamp = try #require(FileStamp(path: kept))
        let c = StatCache(directory: dir.url, parameters: params)
        c.store(path: gone, stamp: goneStamp, result: result)
        c.store(path: kept, stamp: keptStamp, result: result)
        try c.save()
        try FileManager.default.removeItem(atPath: gone)
        // A later run that touches neither still saves (it stores another file) and prunes.
        let other = try dir.write("other.bin", [1])
        let d = StatCache(directory: dir.url, parameters: params)
        d.store(path: other, stamp: try #require(FileStamp(path: other)), result: result)
        try d.save()
        let e = StatCache(directory: dir.url, parameters: params)
        #expect(e.lookup(path: gone, stamp: goneStamp) == nil)
        #expect(e.lookup(path: kept, stamp: keptStamp)?.blobDigest == blob)
    }
}
