import Testing
import TroveCore

@testable import TroveStore

/// Blob digests computed while a push's chunks arrive (StreamedBlobs) against the slow path of
/// reading every chunk back at COMMIT: same outcome for every arrival order, and the fast path
/// really taken when recipes come first and chunks in order.
@Suite("Streamed blob digests")
struct StreamedBlobTests {
    /// A blob whose recipe repeats a chunk (zeros) and has a short last chunk.
    static func blob(seed: UInt64) -> (chunks: [ChunkInput], recipe: Recipe) {
        var rng = TestRandom(seed: seed)
        let content = rng.bytes(20_000) + [UInt8](repeating: 0, count: 3 * 4096) + rng.text(30_000) + rng.bytes(999)
        return makeBlob(content)
    }

    /// Distinct chunks in first-use order.
    static func distinct(_ chunks: [ChunkInput]) -> [ChunkInput] {
        var seen = Set<Digest>()
        return chunks.filter { seen.insert($0.digest).inserted }
    }

    /// A fresh store and one blob's chunks, recipe and single-file tree.
    struct Fixture {
        let root = tempStorePath("streamed")
        let store: Store
        let unique: [ChunkInput]
        let recipe: Recipe
        let tree: Tree
        var treeDigest: Digest { SHA256.hash(tree.canonicalBytes) }

        init(seed: UInt64, claiming blob: Digest? = nil) throws {
            store = try createStore(at: root)
            let (chunks, real) = StreamedBlobTests.blob(seed: seed)
            unique = StreamedBlobTests.distinct(chunks)
            var recipe = real
            if let blob { recipe.blobDigest = blob }
            self.recipe = recipe
            tree = Tree(entries: [.file("a.bin", blob: recipe.blobDigest, size: recipe.size)])
        }
    }

    enum Order: String, CaseIterable {
        case recipeFirstInOrder, chunksFirst, reversed, interleavedBatches, halfStoredBefore
    }

    @Test(arguments: Order.allCases)
    func everyArrivalOrderCommitsTheSameBlob(order: Order) throws {
        let f = try Fixture(seed: 5)
        defer { cleanup(f.root) }
        let (store, unique, recipe, tree, treeDigest) = (f.store, f.unique, f.recipe, f.tree, f.treeDigest)
        if order == .halfStoredBefore { _ = try store.putChunks(Array(unique[4...])) }
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        if order != .chunksFirst { _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)]) }
        switch order {
        case .recipeFirstInOrder:
            for batch in stride(from: 0, to: unique.count, by: 3) {
                _ = try upload.putChunks(Array(unique[batch..<min(batch + 3, unique.count)]))
            }
            // Every chunk fed in the pass that verified it: COMMIT reads nothing back.
            #expect(try upload.streamed.position(recipe.blobDigest) == recipe.chunks.count)
        case .chunksFirst, .halfStoredBefore:
            _ = try upload.putChunks(unique)
        case .reversed:
            _ = try upload.putChunks(unique.reversed())
        case .interleavedBatches:
            let odd = stride(from: 1, to: unique.count, by: 2).map { unique[$0] }
            let even = stride(from: 0, to: unique.count, by: 2).map { unique[$0] }
            _ = try upload.putChunks(odd)
            _ = try upload.putChunks(even)
        }
        if order == .chunksFirst { _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)]) }
        #expect(try upload.commit(tree: treeDigest) == .committed(tree: treeDigest, files: 1, totalSize: recipe.size))
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a recipe naming the wrong blob is refused, streamed or read back")
    func wrongBlobDigestIsRefused() throws {
        let real = Self.blob(seed: 6).recipe.blobDigest
        let f = try Fixture(seed: 6, claiming: SHA256.hash([1, 2, 3]))
        defer { cleanup(f.root) }
        let wrong = f.recipe
        let upload = try f.store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        _ = try upload.putObjects([wholeObject(wrong), wholeObject(f.tree)])
        _ = try upload.putChunks(f.unique)
        #expect(try upload.streamed.position(wrong.blobDigest) == wrong.chunks.count)
        #expect(throws: StoreError.blobMismatch(expected: wrong.blobDigest, actual: real)) {
            try upload.commit(tree: f.treeDigest)
        }
        #expect(try !f.store.hasTree(f.treeDigest))
    }

    @Test("a chunk that fails its digest never joins a blob digest")
    func corruptChunkIsNotFed() throws {
        let f = try Fixture(seed: 7)
        defer { cleanup(f.root) }
        let (store, unique, recipe, tree, treeDigest) = (f.store, f.unique, f.recipe, f.tree, f.treeDigest)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)])
        // The first chunk's digest with other bytes of the same length.
        var g = TestRandom(seed: 99)
        var bad = chunkInput(g.bytes(unique[0].rawLength), compress: false)
        bad.digest = unique[0].digest
        let r = try upload.putChunks([bad])
        #expect(r.rejected.map(\.digest) == [unique[0].digest])
        #expect(try upload.streamed.position(recipe.blobDigest) == nil)
        _ = try upload.putChunks(unique)
        #expect(try upload.commit(tree: treeDigest) == .committed(tree: treeDigest, files: 1, totalSize: recipe.size))
    }
    @Test("a one-chunk blob is verified by its chunk, not followed as a blob")
    func singleChunkBlobIsNotFollowed() throws {
        let root = tempStorePath("streamed-one")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var g = TestRandom(seed: 8)
        let (chunks, recipe) = makeBlob(g.text(3000))
        #expect(recipe.chunks.count == 1 && recipe.chunks[0].digest == recipe.blobDigest)
        let tree = Tree(entries: [.file("small.csv", blob: recipe.blobDigest, size: recipe.size)])
        let treeDigest = SHA256.hash(tree.canonicalBytes)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        _ = try upload.putObjects([wholeObject(recipe), wholeObject(tree)])
        #expect(try upload.streamed.position(recipe.blobDigest) == nil)
        // Its chunk still verifies against the digest (here corrupted: refused, nothing stored).
        var bad = chunkInput(g.bytes(chunks[0].rawLength), compress: false)
        bad.digest = chunks[0].digest
        #expect(try upload.putChunks([bad]).rejected.map(\.digest) == [chunks[0].digest])
        #expect(try upload.commit(tree: treeDigest) == .missingChunks([chunks[0].digest]))
        _ = try upload.putChunks(chunks)
        #expect(try upload.commit(tree: treeDigest) == .committed(tree: treeDigest, files: 1, totalSize: recipe.size))
        #expect(try store.fsck(deep: true).isClean)
    }
}
