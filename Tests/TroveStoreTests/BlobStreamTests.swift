import Dispatch
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

/// Blob streams (PROTOCOL.md §9a): a blob hashed as its chunks arrive in order, its recipe given
/// only at the end. Every way a client can get it wrong — out of order, a chunk missing or
/// corrupt, a lying recipe or blob digest, a stream never closed — must leave nothing committed
/// that does not verify; a lease that ends frees the stream; held bytes stay within budget.
@Suite("Blob streams", .serialized)
struct BlobStreamTests {
    /// A blob of `count` chunks of 4 KiB (one repeated: zeros), its chunks in recipe order.
    struct Fixture {
        let root = tempStorePath("blobstream")
        let store: Store
        let chunks: [ChunkInput]
        let recipe: Recipe
        let tree: Tree
        var treeDigest: Digest { SHA256.hash(tree.canonicalBytes) }

        init(seed: UInt64 = 1) throws {
            store = try createStore(at: root)
            var rng = TestRandom(seed: seed)
            let content = rng.bytes(9 * 4096) + [UInt8](repeating: 0, count: 2 * 4096) + rng.text(8000) + rng.bytes(777)
            (chunks, recipe) = makeBlob(content)
            tree = Tree(entries: [.file("model.bin", blob: recipe.blobDigest, size: recipe.size)])
        }

        func entries(_ range: Range<Int>) -> [BlobStreamEntry] { chunks[range].map { .data($0) } }

        func close(_ upload: UploadSession, stream: UInt32 = 1) throws -> Bool {
            try upload.closeBlobStream(
                stream, blob: recipe.blobDigest, size: recipe.size, chunks: UInt64(recipe.chunks.count))
        }

        func commit(_ upload: UploadSession) throws -> UploadCommitOutcome {
            _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)])
            return try upload.commit(tree: treeDigest)
        }

        var committed: UploadCommitOutcome { .committed(tree: treeDigest, files: 1, totalSize: recipe.size) }

        /// A new session with every chunk appended, as bytes, to its stream 1 (not closed).
        func streamedSession() throws -> UploadSession {
            let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
            try upload.openBlobStream(1)
            _ = try upload.appendBlobStream(1, position: 0, entries(0..<chunks.count))
            return upload
        }
    }

    @Test("in order, with bytes and with stored chunks: verified at close, committed")
    func inOrderWithStoredChunks() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        // Chunks 2 and 3 are stored already (another version): sent as references.
        _ = try f.store.putChunks(Array(f.chunks[2..<4]))
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        var sent = 0
        for start in stride(from: 0, to: f.chunks.count, by: 4) {
            let range = start..<min(start + 4, f.chunks.count)
            let entries: [BlobStreamEntry] = range.map { i in
                (2..<4).contains(i) ? .stored(digest: f.chunks[i].digest, length: f.chunks[i].rawLength) : .data(f.chunks[i])
            }
            sent += try upload.appendBlobStream(1, position: UInt64(start), entries).stored
        }
        #expect(sent == Set(f.chunks.map(\.digest)).count - 2)
        #expect(try f.close(upload))
        #expect(try upload.blobStreams.hasResult(f.recipe.blobDigest))
        #expect(try f.commit(upload) == f.committed)
        #expect(try f.store.fsck(deep: true).isClean)
    }

    @Test("chunks a stream stored are taken as checked at COMMIT; one a GC removed since is reported missing")
    func streamedChunksRememberedAndRecheckedAfterGC() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.streamedSession()
        defer { _ = try? upload.end() }
        #expect(try f.close(upload))
        // The session remembers every chunk it stored, with the epoch read before them ...
        let remembered = try f.store.withLiveUpload(upload.id) { $0.chunks }
        #expect(Set(remembered.entries.keys) == Set(f.chunks.map(\.digest)))
        #expect(remembered.epoch != nil)
        // ... and a GC deletes one behind its back (every delete moves the epoch): the commit's
        // final transaction re-checks them all.
        let victim = f.chunks[5].digest
        try f.store.catalog.write { db in
            try db.execute(sql: "DELETE FROM chunks WHERE digest = ?", arguments: [victim.data])
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
        }
        guard case .missingChunks(let missing) = try f.commit(upload) else {
            Issue.record("the commit must report the collected chunk missing")
            return
        }
        #expect(missing == [victim])
        #expect(try !f.store.hasTree(f.treeDigest))
        // Sent again, it commits (the blob read back from the packs: its stream's result was used).
        _ = try upload.putChunks(f.chunks.filter { $0.digest == victim })
        #expect(try upload.commit(tree: f.treeDigest) == f.committed)
        #expect(try f.store.fsck(deep: true).isClean)
    }

    @Test("a recipe giving other lengths than the chunks the stream stored fails at COMMIT")
    func recipeWithOtherLengthsFailsAtCommit() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.streamedSession()
        defer { _ = try? upload.end() }
        // No close: COMMIT verifies from the packs, and a recipe giving a wrong length for a
        // chunk the session stored must fail there, not pass on the session's word.
        var lying = f.recipe
        lying.chunks[0].length += 1
        lying.size += 1
        let tree = Tree(entries: [.file("model.bin", blob: lying.blobDigest, size: lying.size)])
        _ = try upload.putObjects([wholeObject(lying), wholeObject(tree)])
        #expect(throws: StoreError.self) { try upload.commit(tree: SHA256.hash(tree.canonicalBytes)) }
        #expect(try !f.store.hasTree(SHA256.hash(tree.canonicalBytes)))
    }

    @Test("appends that arrive out of order are held and fed when their turn comes")
    func outOfOrder() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        let n = f.chunks.count
        for range in [10..<n, 5..<10, 0..<5] {
            _ = try upload.appendBlobStream(1, position: UInt64(range.lowerBound), f.entries(range))
        }
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) == 0)
        #expect(try f.close(upload))
        #expect(try f.commit(upload) == f.committed)
    }

    @Test("appends from many threads at once, in any order, give the blob digest")
    func concurrentAppends() throws {
        let f = try Fixture(seed: 2)
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        let failures = Mutex<[String]>([])
        let chunks = f.chunks
        DispatchQueue.concurrentPerform(iterations: chunks.count) { i in
            do { _ = try upload.appendBlobStream(1, position: UInt64(i), [.data(chunks[i])]) } catch {
                failures.withLock { $0.append("\(error)") }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try f.close(upload))
        #expect(try f.commit(upload) == f.committed)
    }

    @Test("many rounds of appends racing in reverse order: every close sees the whole blob")
    func appendsRacingInReverseOrder() throws {
        // Each round: three appends on three threads, the last first, so an early append often
        // finishes verifying just as the stream reaches it (the window a held append once fell
        // into: the copy it makes of bytes that live in a received frame before holding them).
        struct FrameBytes: SharedBytes {
            let bytes: [UInt8]
            var count: Int { bytes.count }
            func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
                try bytes.withUnsafeBytes(body)
            }
        }
        var rng = TestRandom(seed: 3)
        let chunks = (0..<6).map { _ in rng.bytes(128 << 10) }
        let ready = chunks.map {
            BlobStreams.Ready(
                digest: SHA256.hash($0), length: $0.count, raw: FrameBytes(bytes: $0), location: nil)
        }
        let blob = SHA256.hash(chunks.flatMap { $0 })
        let streams = BlobStreams()
        let failures = Mutex<[String]>([])
        for round in 0..<300 {
            try streams.open(1)
            DispatchQueue.concurrentPerform(iterations: 3) { i in
                let start = (2 - i) * 2
                do {
                    try streams.append(1, position: start, Array(ready[start..<start + 2])) {
                        _ throws(StoreError) in []
                    }
                } catch {
                    failures.withLock { $0.append("round \(round): \(error)") }
                }
            }
            do { #expect(try streams.close(1, blob: blob, size: 6 << 17, chunks: 6)) } catch {
                failures.withLock { $0.append("round \(round) close: \(error)") }
            }
            _ = streams.takeResult(blob)
        }
        #expect(failures.withLock { $0 } == [])
    }

    @Test("a chunk whose bytes do not match its digest fails the stream; nothing wrong is committed")
    func wrongDigest() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        var bad = f.chunks[1]
        var rng = TestRandom(seed: 77)
        bad = ChunkInput(digest: bad.digest, codec: .raw, rawLength: bad.rawLength, bytes: rng.bytes(bad.rawLength))
        #expect(throws: StoreError.self) {
            try upload.appendBlobStream(1, position: 0, [.data(f.chunks[0]), .data(bad)])
        }
        #expect(try f.store.missing([f.chunks[0].digest, bad.digest]).count == 2, "a failed append stores nothing")
        #expect(throws: StoreError.self) { try upload.appendBlobStream(1, position: 2, f.entries(2..<4)) }
        #expect(throws: StoreError.self) { try f.close(upload) }
        guard case .missingChunks = try f.commit(upload) else {
            Issue.record("a blob with chunks never stored was committed")
            return
        }
        #expect(try !f.store.hasTree(f.treeDigest))
    }

    @Test("a stored chunk the store does not hold is refused; a gap in the stream fails the close")
    func missingChunks() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        let absent = f.chunks[0]
        #expect(throws: StoreError.chunkNotFound(absent.digest)) {
            try upload.appendBlobStream(1, position: 0, [.stored(digest: absent.digest, length: absent.rawLength)])
        }
        #expect(throws: StoreError.self) { try f.close(upload) }
        // Another stream skips chunks 3 and 4.
        try upload.openBlobStream(2)
        _ = try upload.appendBlobStream(2, position: 0, f.entries(0..<3))
        _ = try upload.appendBlobStream(2, position: 5, f.entries(5..<f.chunks.count))
        #expect(throws: StoreError.self) { try f.close(upload, stream: 2) }
        #expect(try f.commit(upload) == .missingChunks([f.chunks[3].digest, f.chunks[4].digest].sorted()))
        #expect(try !f.store.hasTree(f.treeDigest))
    }

    @Test("overlapping or repeated positions are refused; reopening a stream starts it over")
    func overlaps() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        #expect(throws: StoreError.self) { try upload.appendBlobStream(9, position: 0, f.entries(0..<1)) }
        _ = try upload.appendBlobStream(1, position: 0, f.entries(0..<3))
        #expect(throws: StoreError.self) { try upload.appendBlobStream(1, position: 2, f.entries(2..<4)) }
        _ = try upload.appendBlobStream(1, position: 6, f.entries(6..<8))
        #expect(throws: StoreError.self) { try upload.appendBlobStream(1, position: 7, f.entries(7..<9)) }
        // Opening the same number again starts that stream over (a resumed push), held bytes freed.
        try upload.openBlobStream(1)
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) == 0)
        _ = try upload.appendBlobStream(1, position: 0, f.entries(0..<f.chunks.count))
        #expect(try f.close(upload))
    }

    @Test("a lying recipe or blob digest is caught: at close, or at COMMIT by reading back")
    func lies() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        let n = f.chunks.count
        // Closed as another blob: refused.
        try upload.openBlobStream(1)
        _ = try upload.appendBlobStream(1, position: 0, f.entries(0..<n))
        let other = SHA256.hash([1, 2, 3])
        #expect(throws: StoreError.blobMismatch(expected: other, actual: f.recipe.blobDigest)) {
            try upload.closeBlobStream(1, blob: other, size: f.recipe.size, chunks: UInt64(n))
        }
        // Closed truthfully, then a recipe for the same blob with two chunks swapped (same
        // lengths, other bytes): the stream does not vouch for it, COMMIT reads it back.
        try upload.openBlobStream(2)
        _ = try upload.appendBlobStream(2, position: 0, f.entries(0..<n))
        #expect(try f.close(upload, stream: 2))
        var lying = f.recipe
        lying.chunks.swapAt(0, 1)
        let tree = f.tree
        _ = try upload.putObjects([wholeObject(lying), wholeObject(tree)])
        #expect(throws: StoreError.self) { try upload.commit(tree: f.treeDigest) }
        #expect(try !f.store.hasTree(f.treeDigest))
    }

    @Test("a stream never closed vouches for nothing: COMMIT verifies from the packs")
    func neverClosed() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let upload = try f.streamedSession()
        defer { _ = try? upload.end() }
        #expect(try !upload.blobStreams.hasResult(f.recipe.blobDigest))
        #expect(try !f.store.hasTree(f.treeDigest))
        var lying = f.recipe
        lying.chunks.swapAt(0, 1)
        _ = try upload.putObjects([wholeObject(lying), wholeObject(f.tree)])
        #expect(throws: StoreError.self) { try upload.commit(tree: f.treeDigest) }
        #expect(try !f.store.hasTree(f.treeDigest))
    }

    @Test("the end of a lease frees its streams and what they held")
    func leaseExpiryFreesState() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let before = BlobStreams.heldTotal.load(ordering: .relaxed)
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        weak var streams: BlobStreams?
        try {
            streams = try upload.blobStreams
            try upload.openBlobStream(1)
            // Out of order: held, waiting for chunks 0..<4 that never come.
            _ = try upload.appendBlobStream(1, position: 4, f.entries(4..<8))
        }()
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) > before)
        #expect(streams != nil)
        #expect(try f.store.expireUploads(now: Clock.nowMillis() + 3_600_000) == 1)
        #expect(streams == nil)
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) == before)
        #expect(throws: StoreError.self) { try upload.appendBlobStream(1, position: 0, f.entries(0..<4)) }
    }

    @Test("held bytes stay within the budget: beyond it the stream degrades and COMMIT reads the rest back")
    func holdBudget() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let streams = BlobStreams(holdBudget: 3 * 4096)
        try streams.open(1)
        let ready = f.ready
        let noReads: (BlobStreams.Ready) throws(StoreError) -> [UInt8] = Fixture.noReads
        try streams.append(1, position: 0, Array(ready[0..<2]), readBack: noReads)
        try streams.append(1, position: 4, Array(ready[4..<6]), readBack: noReads)
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) == 2 * 4096)
        try streams.append(1, position: 6, Array(ready[6..<8]), readBack: noReads)  // over budget
        #expect(BlobStreams.heldTotal.load(ordering: .relaxed) == 0)
        // Hashing stopped at chunk 2; later appends are only verified.
        try streams.append(1, position: 2, Array(ready[2..<4]), readBack: noReads)
        try streams.append(1, position: 8, Array(ready[8...]), readBack: noReads)
        #expect(try !streams.close(1, blob: f.recipe.blobDigest, size: f.recipe.size, chunks: ready.count))
        let result = try #require(streams.takeResult(f.recipe.blobDigest))
        #expect(result.chunks == 2)
        #expect(result.listDigest == BlobStreams.listDigest(f.recipe.chunks[0..<2]))
        // Continuing from there over the rest gives the blob digest.
        let hasher = try #require(result.hasher)
        for r in ready[2...] { r.raw!.withUnsafeBytes { hasher.update($0) } }
        #expect(hasher.finalize() == f.recipe.blobDigest)
    }

    @Test(
        "an append of many chunks verifies on the many lanes as on the fused pair: same blob digest, same refusal",
        arguments: [false, true])
    func manyLanesAgainstPair(corrupt: Bool) throws {
        var rng = TestRandom(seed: 4)
        // Lengths across block boundaries, and enough chunks (24 > 16 lanes) for the lanes to
        // take new buffers; one chunk repeated.
        var chunks = (0..<23).map { i in rng.bytes(1 + i * 977 + (i % 3) * 64) }
        chunks.append(chunks[5])
        var ready = chunks.map { c in
            BlobStreams.Ready(digest: SHA256.hash(c), length: c.count, raw: c, location: nil)
        }
        if corrupt {
            var bad = chunks[17]
            bad[bad.count / 2] ^= 1
            ready[17] = BlobStreams.Ready(digest: ready[17].digest, length: bad.count, raw: bad, location: nil)
        }
        let blob = SHA256.hash(chunks.flatMap { $0 })
        let size = UInt64(chunks.reduce(0) { $0 + $1.count })
        #expect(ready.count >= BlobStreams.manyLanesMinChunks)
        var outcomes: [String] = []
        for manyLanes in [false, true] {
            let streams = BlobStreams(manyLanes: manyLanes)
            try streams.open(1)
            // Two appends: both feed at once (the stream is at their position).
            var outcome = ""
            do {
                for start in [0, 12] {
                    try streams.append(1, position: start, Array(ready[start..<start + 12])) { _ throws(StoreError) in [] }
                }
                outcome = "closed \(try streams.close(1, blob: blob, size: size, chunks: ready.count))"
            } catch {
                outcome = "\(error)"
            }
            outcomes.append(outcome)
        }
        #expect(outcomes[0] == outcomes[1])
        if corrupt {
            #expect(outcomes[0].contains("hashes to"))
        } else {
            #expect(outcomes[0] == "closed true")
        }
    }
}
