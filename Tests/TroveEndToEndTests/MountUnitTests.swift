import Foundation
import Synchronization
import Testing
import TroveClient
import TroveCore

@testable import TroveMount

/// An in-memory ``MountBackend``: one version per file, counting the chunks it is asked for.
final class FakeBackend: MountBackend, Sendable {
    private struct State {
        var versions: [MountedVersion] = []
        var trees: [Digest: Tree] = [:]
        var recipes: [Digest: Recipe] = [:]
        var chunkBytes: [Digest: [UInt8]] = [:]
        var chunkRequests: [[Digest]] = []
        var failChunks = false
    }
    private let state = Mutex(State())

    /// Digests of each ``chunks(_:)`` call, in order.
    var chunkRequests: [[Digest]] { state.withLock { $0.chunkRequests } }
    /// Makes ``chunks(_:)`` fail while true.
    var failChunks: Bool {
        get { state.withLock { $0.failChunks } }
        set { state.withLock { $0.failChunks = newValue } }
    }

    /// Adds `NAME:VERSION` holding `file.bin` = `data`, cut into chunks at pseudo-random lengths.
    @discardableResult
    func add(name: String, version: String, data: [UInt8], seed: UInt64, maxChunk: Int = 70_000) -> Recipe {
        var rng = SplitMix64(seed: seed)
        var chunks: [RecipeChunk] = []
        var bytesByDigest: [Digest: [UInt8]] = [:]
        var at = 0
        while at < data.count {
            let n = min(data.count - at, Int(rng.next() % UInt64(maxChunk)) + 1)
            let bytes = Array(data[at..<(at + n)])
            let d = SHA256.hash(bytes)
            bytesByDigest[d] = bytes
            chunks.append(RecipeChunk(digest: d, length: UInt32(n)))
            at += n
        }
        let blob = SHA256.hash(data)
        let recipe = Recipe(blobDigest: blob, size: UInt64(data.count), chunks: chunks)
        let tree = Tree(entries: [.file("file.bin", blob: blob, size: UInt64(data.count))])
        let td = SHA256.hash(tree.canonicalBytes)
        state.withLock {
            $0.chunkBytes.merge(bytesByDigest) { a, _ in a }
            $0.recipes[blob] = recipe
            $0.trees[td] = tree
            $0.versions.append(
                MountedVersion(name: name, version: version, tree: td, createdAt: 1_700_000_000_000, aliases: []))
        }
        return recipe
    }

    var maxChunksPerRequest: Int { 16 }
    func listVersions() throws(MountError) -> [MountedVersion] { state.withLock { $0.versions } }
    func tree(_ digest: Digest) throws(MountError) -> Tree {
        guard let t = state.withLock({ $0.trees[digest] }) else { throw .notFound(path: "\(digest)") }
        return t
    }
    func recipe(blob: Digest, size: UInt64) throws(MountError) -> Recipe {
        guard let r = state.withLock({ $0.recipes[blob] }) else { throw .notFound(path: "\(blob)") }
        return r
    }
    func chunks(_ wanted: [RecipeChunk]) throws(MountError) -> [[UInt8]] {
        let (fail, bytes): (Bool, [Digest: [UInt8]]) = state.withLock {
            $0.chunkRequests.append(wanted.map(\.digest))
            return ($0.failChunks, $0.chunkBytes)
        }
        if fail { throw .unavailable(detail: "test failure") }
        return wanted.map { bytes[$0.digest]! }
    }
    var requestedChunkCount: Int { state.withLock { $0.chunkRequests.reduce(0) { $0 + $1.count } } }
}

@Suite("trove mount internals")
struct MountUnitTests {
    @Test func fileLayoutMatchesTheLinearRecipeRange() {
        var rng = SplitMix64(seed: 3)
        for round in 0..<60 {
            let count = Int(rng.next() % 40) + 1
            let chunks = (0..<count).map { i in
                RecipeChunk(
                    digest: SHA256.hash([UInt8(i), UInt8(round)]), length: UInt32(rng.next() % 1000) + 1)
            }
            let size = chunks.reduce(UInt64(0)) { $0 + UInt64($1.length) }
            let layout = FileLayout(
                Recipe(blobDigest: SHA256.hash([UInt8(round)]), size: size, chunks: chunks))
            #expect(layout.size == size)
            for _ in 0..<50 {
                let lo = rng.next() % (size + 10)
                let hi = lo + rng.next() % 3000
                let fast = layout.chunks(covering: lo..<hi)
                let clipped = lo < size ? lo..<min(hi, size) : lo..<lo
                let (slow, firstOffset) = RecipeRange.chunks(covering: clipped, of: layout.recipe)
                #expect(fast == slow, "range \(lo)..<\(hi) of \(size)")
                if !fast.isEmpty { #expect(layout.offsets[fast.lowerBound] == firstOffset) }
            }
        }
    }

    @Test func namespaceNestsNamesAndMakesAliasesSymlinks() {
        let d = SHA256.hash([1])
        let ns = Namespace([
            MountedVersion(name: "models/churn", version: "1.4.0", tree: d, createdAt: 5, aliases: ["prod"]),
            MountedVersion(name: "models/churn", version: "1.5.0", tree: d, createdAt: 9, aliases: []),
            // Collides with version 1.4.0 of models/churn: the version wins, this name is hidden.
            MountedVersion(name: "models/churn/1.4.0", version: "x", tree: d, createdAt: 1, aliases: []),
            MountedVersion(name: "solo", version: "v", tree: d, createdAt: 2, aliases: []),
        ])
        #expect(ns.root.sortedNames == ["models", "solo"])
        #expect(ns.root.modified == 9)
        guard case .directory(let churn)? = ns.resolve(["models", "churn"]) else {
            Issue.record("models/churn is not a directory")
            return
        }
        #expect(churn.sortedNames == ["1.4.0", "1.5.0", "prod"])
        guard case .alias(let target, _)? = ns.resolve(["models", "churn", "prod"]) else {
            Issue.record("prod is not an alias")
            return
        }
        #expect(target == "1.4.0")
        guard case .version(let v, let rest)? = ns.resolve(["models", "churn", "1.4.0", "a", "b"]) else {
            Issue.record("no version")
            return
        }
        #expect(v.version == "1.4.0" && v.name == "models/churn" && rest == ["a", "b"])
        #expect(ns.resolve(["models", "nope"]) == nil)
        #expect(ns.resolve(["models", "churn", "prod", "x"]) == nil)
    }

    @Test func versionIndexImpliesDirectories() {
        let b = SHA256.hash([2])
        let tree = Tree(entries: [
            .file("a/b/c.bin", blob: b, size: 3), .file("a/d.bin", blob: b, size: 3),
            .symlink("l", target: "a/d.bin"),
            .directory("empty"), .file("z", blob: b, size: 3),
        ])
        let idx = VersionIndex(tree)
        #expect(idx.list("") == ["a", "empty", "l", "z"])
        #expect(idx.list("a") == ["b", "d.bin"])
        #expect(idx.list("a/b") == ["c.bin"])
        #expect(idx.list("empty") == [])
        #expect(idx.list("z") == nil)
        if case .directory? = idx.item("a/b") {} else { Issue.record("a/b is not a directory") }
        if case .entry(let e)? = idx.item("l") {
            #expect(e.target == "a/d.bin")
        } else {
            Issue.record("no l")
        }
        #expect(idx.item("a/x") == nil)
    }

    @Test func readsFetchOnlyCoveringChunksAndMatchTheSlowSlice() throws {
        let backend = FakeBackend()
        let data = ClientE2E.random(seed: 90, count: 1_500_000)
        let recipe = backend.add(name: "f", version: "1", data: data, seed: 1)
        let dir = try TemporaryDirectory()
        let cache = try ChunkCache(directory: dir.path + "/cache", capacity: 100 << 20, memoryCapacity: 0)
        let fs = try MountFileSystem(backend: backend, cache: cache, listingTTL: 60, readahead: 0)
        #expect(try fs.attributes("/f/1/file.bin").size == UInt64(data.count))
        let h = try fs.open("/f/1/file.bin")
        defer { fs.release(h) }
        // One byte in the middle: exactly the one chunk holding it is fetched.
        var one = [UInt8](repeating: 0, count: 1)
        let n = try one.withUnsafeMutableBytes { try fs.read(h, offset: 777_777, into: $0) }
        #expect(n == 1 && one[0] == data[777_777])
        #expect(backend.requestedChunkCount == 1)
        let layout = FileLayout(recipe)
        #expect(backend.chunkRequests[0] == [recipe.chunks[layout.chunkIndex(containing: 777_777)].digest])

        var rng = SplitMix64(seed: 11)
        for _ in 0..<300 {
            let off = Int(rng.next() % UInt64(data.count + 100))
            var buf = [UInt8](repeating: 0, count: Int(rng.next() % 200_000) + 1)
            let got = try buf.withUnsafeMutableBytes { try fs.read(h, offset: UInt64(off), into: $0) }
            let expected = off >= data.count ? [] : Array(data[off..<min(data.count, off + buf.count)])
            #expect(mountSame(Array(buf[..<got]), expected), "read \(buf.count) at \(off)")
        }
        // Everything is cached now (on disk, re-verified on load): no more fetches.
        let before = backend.requestedChunkCount
        var all = [UInt8](repeating: 0, count: data.count)
        let got = try all.withUnsafeMutableBytes { try fs.read(h, offset: 0, into: $0) }
        #expect(got == data.count)
        #expect(mountSame(all, data))
        #expect(backend.requestedChunkCount == before)
    }

    @Test func concurrentReadersFetchEachChunkOnce() throws {
        let backend = FakeBackend()
        let data = ClientE2E.random(seed: 91, count: 2_000_000)
        let recipe = backend.add(name: "c", version: "1", data: data, seed: 2)
        let cache = try ChunkCache(directory: nil, capacity: 0, memoryCapacity: 64 << 20)
        let fs = try MountFileSystem(backend: backend, cache: cache, listingTTL: 60, readahead: 1 << 20)
        let bad = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 8) { t in
            guard let h = try? fs.open("/c/1/file.bin") else {
                bad.withLock { $0 += 1 }
                return
            }
            var rng = SplitMix64(seed: UInt64(t))
            for _ in 0..<60 {
                let off = Int(rng.next() % UInt64(data.count))
                var buf = [UInt8](repeating: 0, count: Int(rng.next() % 100_000) + 1)
                let got =
                    (try? buf.withUnsafeMutableBytes { try fs.read(h, offset: UInt64(off), into: $0) }) ?? -1
                if got < 0 || Array(buf[..<got]) != Array(data[off..<min(data.count, off + buf.count)]) {
                    bad.withLock { $0 += 1 }
                }
            }
            fs.release(h)
        }
        #expect(bad.withLock { $0 } == 0)
        // The memory tier holds the whole file, so no chunk was fetched twice.
        let fetched = backend.chunkRequests.flatMap { $0 }
        #expect(fetched.count == Set(fetched).count)
        #expect(Set(fetched).count <= Set(recipe.chunks.map(\.digest)).count)
    }

    @Test func backendFailureIsAnErrorNeverPartialBytes() throws {
        let backend = FakeBackend()
        let data = ClientE2E.random(seed: 92, count: 500_000)
        backend.add(name: "e", version: "1", data: data, seed: 3)
        let cache = try ChunkCache(directory: nil, capacity: 0, memoryCapacity: 0)
        let fs = try MountFileSystem(backend: backend, cache: cache, listingTTL: 60, readahead: 0)
        let h = try fs.open("/e/1/file.bin")
        backend.failChunks = true
        var buf = [UInt8](repeating: 0, count: 200_000)
        #expect(throws: MountError.self) {
            try buf.withUnsafeMutableBytes { try fs.read(h, offset: 10, into: $0) }
        }
        backend.failChunks = false
        let got = try buf.withUnsafeMutableBytes { try fs.read(h, offset: 10, into: $0) }
        #expect(mountSame(Array(buf[..<got]), Array(data[10..<200_010])))
        #expect(throws: MountError.self) { try fs.attributes("/e/2") }
        #expect(throws: MountError.self) { try fs.open("/e/1") }
    }

    @Test func diskCacheStaysWithinItsBoundAndRejectsDamagedFiles() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/cache"
        var chunks: [(RecipeChunk, [UInt8])] = []
        for i in 0..<40 {
            let bytes = ClientE2E.random(seed: UInt64(200 + i), count: 10_000 + i * 100)
            chunks.append((RecipeChunk(digest: SHA256.hash(bytes), length: UInt32(bytes.count)), bytes))
        }
        do {
            let cache = try ChunkCache(directory: path, capacity: 100_000, memoryCapacity: 0)
            // A second cache on the same directory is refused (the directory is locked).
            #expect(throws: MountError.self) { try ChunkCache(directory: path, capacity: 100_000) }
            for (c, b) in chunks {
                let (mine, _) = cache.claim([c])
                cache.fulfil(mine, [b])
                #expect(cache.diskUsage <= 100_000)
                #expect(try MountTests.cacheBytes(path) <= 100_000)
            }
            #expect(cache.diskCount > 0)
            // Least recently used went first: the newest chunk is there, the oldest is not.
            #expect(mountSame(cache.lookup(chunks[39].0), chunks[39].1))
            #expect(cache.lookup(chunks[0].0) == nil)
            // A damaged file is detected on load, deleted, and reported as a miss.
            let victim = chunks[38]
            let file = path + "/" + victim.0.digest.hex.prefix(2) + "/" + victim.0.digest.hex
            var damaged = victim.1
            damaged[5] ^= 1
            try Data(damaged).write(to: URL(fileURLWithPath: file))
            #expect(cache.lookup(victim.0) == nil)
            #expect(!FileManager.default.fileExists(atPath: file))
        }
        // Reopened with a smaller bound: existing files are indexed and trimmed.
        let reopened = try ChunkCache(directory: path, capacity: 30_000, memoryCapacity: 0)
        #expect(reopened.diskUsage <= 30_000)
        #expect(try MountTests.cacheBytes(path) <= 30_000)
        #expect(mountSame(reopened.lookup(chunks[39].0), chunks[39].1))
    }
}
