import Testing
import TroveCore

@testable import TroveStore

/// Sealed blob streams (PROTOCOL.md §9a, `BLOB_SEAL`): the server computes the blob digest from
/// the chunks it verified, in order, reading back references and whatever a degraded stream did
/// not hash; and the read-ahead that reads references back (a fast path checked against
/// `Store.readBack`, the slow one).
@Suite("Blob stream seals", .serialized)
struct BlobSealTests {
    typealias Fixture = BlobStreamTests.Fixture

    @Test("a seal returns the blob digest; stored chunks are read back; COMMIT reads nothing back")
    func sealInOrderWithStoredChunks() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        _ = try f.store.putChunks(Array(f.chunks[1..<5]))
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        try upload.openBlobStream(1)
        for start in stride(from: 0, to: f.chunks.count, by: 3) {
            let range = start..<min(start + 3, f.chunks.count)
            let entries: [BlobStreamEntry] = range.map { i in
                (1..<5).contains(i) ? .stored(digest: f.chunks[i].digest, length: f.chunks[i].rawLength) : .data(f.chunks[i])
            }
            _ = try upload.appendBlobStream(1, position: UInt64(start), entries)
        }
        // The wrong size or count is refused, and the stream is gone.
        try upload.openBlobStream(2)
        _ = try upload.appendBlobStream(2, position: 0, f.entries(0..<2))
        #expect(throws: StoreError.self) { try upload.sealBlobStream(2, size: f.recipe.size, chunks: 2) }
        #expect(throws: StoreError.self) { try upload.sealBlobStream(2, size: 1, chunks: 2) }
        #expect(try upload.sealBlobStream(1, size: f.recipe.size, chunks: UInt64(f.chunks.count)) == f.recipe.blobDigest)
        #expect(throws: StoreError.self) { try upload.sealBlobStream(1, size: f.recipe.size, chunks: UInt64(f.chunks.count)) }
        #expect(try upload.blobStreams.hasResult(f.recipe.blobDigest))
        #expect(try f.commit(upload) == f.committed)
    }

    @Test("a degraded stream's seal reads back the chunks it did not hash, in order")
    func degradedSeal() throws {
        let f = try Fixture()
        defer { cleanup(f.root) }
        let streams = BlobStreams(holdBudget: 3 * 4096)
        try streams.open(1)
        let ready = f.ready
        let noReads: (BlobStreams.Ready) throws(StoreError) -> [UInt8] = Fixture.noReads
        try streams.append(1, position: 0, Array(ready[0..<2]), readBack: noReads)
        try streams.append(1, position: 4, Array(ready[4..<6]), readBack: noReads)
        try streams.append(1, position: 6, Array(ready[6..<8]), readBack: noReads)  // over budget: degraded
        try streams.append(1, position: 2, Array(ready[2..<4]), readBack: noReads)
        try streams.append(1, position: 8, Array(ready[8...]), readBack: noReads)
        var asked: [Digest] = []
        let blob = try streams.seal(1, size: f.recipe.size, chunks: ready.count) { (rest, hasher) throws(StoreError) in
            for c in rest {
                asked.append(c.digest)
                guard let r = ready.first(where: { $0.digest == c.digest }) else { throw .chunkNotFound(c.digest) }
                r.raw!.withUnsafeBytes { hasher.update($0) }
            }
        }
        #expect(blob == f.recipe.blobDigest)
        #expect(asked == f.recipe.chunks[2...].map(\.digest))
        let result = try #require(streams.takeResult(blob))
        #expect(result.hasher == nil && result.chunks == ready.count)
        #expect(result.listDigest == BlobStreams.listDigest(f.recipe.chunks))

        // A gap (chunk 3 never sent) fails the seal.
        try streams.open(2)
        try streams.append(2, position: 0, Array(ready[0..<2]), readBack: noReads)
        try streams.append(2, position: 4, Array(ready[4..<6]), readBack: noReads)
        try streams.append(2, position: 6, Array(ready[6..<8]), readBack: noReads)  // degraded
        try streams.append(2, position: 2, Array(ready[2..<3]), readBack: noReads)
        try streams.append(2, position: 8, Array(ready[8...]), readBack: noReads)
        #expect(throws: StoreError.self) {
            try streams.seal(2, size: f.recipe.size, chunks: ready.count) { _, _ throws(StoreError) in }
        }
    }

    @Test("the read-ahead gives every stored chunk's bytes, as Store.readBack does", arguments: [true, false])
    func readAheadMatchesReadBack(direct: Bool) throws {
        let root = tempStorePath("readahead")
        defer { cleanup(root) }
        var options = StoreOptions()
        options.directIO = direct
        let store = try createStore(at: root, options: options)
        var rng = TestRandom(seed: 9)
        // Records back to back (one put), compressible ones among them, and a second pack.
        let first = (0..<40).map { i in chunkInput(i % 7 == 3 ? rng.text(5000) : rng.bytes(3000 + i * 97)) }
        let second = (0..<5).map { _ in chunkInput(rng.bytes(70_000)) }
        _ = try store.putChunks(first)
        _ = try store.putChunks(second)
        let all = first + second
        let places = try store.locateMany(all.map(\.digest))
        // Order: the second pack's, then the first's with one in the middle taken out and the
        // location of another one forgotten (looked up when read).
        var order = Array(40..<45) + Array(0..<40)
        order.remove(at: 20)
        let ready = order.enumerated().map { (k, i) in
            BlobStreams.Ready(
                digest: all[i].digest, length: all[i].rawLength, raw: nil, location: k == 30 ? nil : places[i])
        }
        let ahead = StoredChunkReadAhead(store: store, ready)
        for (k, i) in order.enumerated() {
            let got = try ahead.withNext { Array($0) }
            let want = try store.readBack(all[i].digest, all[i].rawLength, at: nil)
            #expect(got == want, "chunk \(k)")
            #expect(SHA256.hash(got) == all[i].digest)
        }
        ahead.finish()
        // Stopping early is fine (the reading thread gives up).
        let early = StoredChunkReadAhead(store: store, ready)
        _ = try early.withNext { $0.count }
        early.finish()
    }
}

extension BlobStreamTests.Fixture {
    /// The chunks as an append hands them to ``BlobStreams`` (raw bytes, no place in a pack).
    var ready: [BlobStreams.Ready] {
        chunks.map { c in
            BlobStreams.Ready(
                digest: c.digest, length: c.rawLength, raw: try! store.decode(c, ChunkDecompressor()).get() ?? c.bytes,
                location: nil)
        }
    }

    /// A read-back that finds nothing (the appends that use it send every chunk's bytes).
    static func noReads(_ c: BlobStreams.Ready) throws(StoreError) -> [UInt8] { throw .chunkNotFound(c.digest) }
}
