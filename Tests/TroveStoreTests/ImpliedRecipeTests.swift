import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// COMMIT of a tree whose one-chunk files' recipes were never sent (protocol version 4): each is
/// taken from its chunk when a chunk with the blob digest and the file's size is indexed, and
/// registers exactly what the staged recipe would have; otherwise the recipe is missing, as before.
@Suite("Upload sessions: one-chunk recipes implied at commit")
struct ImpliedRecipeTests {
    /// 40 files: most one chunk (chunk digest = blob digest), every fifth of several chunks.
    func files(seed: UInt64) -> (chunks: [ChunkInput], recipes: [Recipe], tree: Tree) {
        StagedCommitTests().files(seed: seed)
    }

    /// Chunks, then the tree and the recipes `send` keeps, then COMMIT, in a new store.
    func commit(seed: UInt64, send: (Recipe) -> Bool) throws -> (
        store: Store, root: String, outcome: UploadCommitOutcome, f: (chunks: [ChunkInput], recipes: [Recipe], tree: Tree)
    ) {
        let root = tempStorePath("implied")
        let store = try createStore(at: root)
        let f = files(seed: seed)
        let upload = try store.beginUpload(name: "data/set", ttlSeconds: 600)
        _ = try upload.putChunks(f.chunks)
        _ = try upload.putObjects(f.recipes.filter(send).map(wholeObject) + [wholeObject(f.tree)])
        return (store, root, try upload.commit(tree: SHA256.hash(f.tree.canonicalBytes)), f)
    }

    @Test("one-chunk recipes not sent register the same recipe rows as sent ones")
    func sameRowsAsSent() throws {
        let implied = try commit(seed: 21) { !$0.isSingleChunkBlob }
        defer { cleanup(implied.root) }
        let sent = try commit(seed: 21) { _ in true }
        defer { cleanup(sent.root) }
        let treeDigest = SHA256.hash(implied.f.tree.canonicalBytes)
        #expect(implied.outcome == sent.outcome)
        #expect(implied.outcome == .committed(tree: treeDigest, files: 40, totalSize: implied.f.tree.totalSize))
        #expect(implied.f.recipes.contains { $0.isSingleChunkBlob })
        #expect(implied.f.recipes.contains(where: { !$0.isSingleChunkBlob }))
        for r in implied.f.recipes {
            let object = try implied.store.recipeDigest(forBlob: r.blobDigest)
            #expect(object == SHA256.hash(r.canonicalBytes))
            #expect(object == (try sent.store.recipeDigest(forBlob: r.blobDigest)))
            #expect(try implied.store.recipe(forBlob: r.blobDigest) == r)
        }
        try verifyTreeReadable(implied.store, treeDigest)
        #expect(try implied.store.fsck(deep: true).isClean)
    }

    @Test("rows in key order, bound directly (StoreOptions.directRows), are the rows of the way before")
    func directRowsSameAsBefore() throws {
        func push(direct: Bool, send: (Recipe) -> Bool) throws -> (rows: [[CatalogValue]], objects: [[CatalogValue]], root: String) {
            let root = tempStorePath("direct-rows")
            var options = StoreOptions()
            options.directRows = direct
            let store = try createStore(at: root, options: options)
            let f = files(seed: 25)
            let upload = try store.beginUpload(name: "data/set", ttlSeconds: 600)
            _ = try upload.putChunks(f.chunks)
            _ = try upload.putObjects(f.recipes.filter(send).map(wholeObject) + [wholeObject(f.tree)])
            let tree = SHA256.hash(f.tree.canonicalBytes)
            #expect(try upload.commit(tree: tree) == .committed(tree: tree, files: 40, totalSize: f.tree.totalSize))
            try verifyTreeReadable(store, tree)
            #expect(try store.fsck(deep: true).isClean)
            let rows = try store.catalog.read { db in
                try db.fetchRows(sql: "SELECT blob, recipe, size FROM blobs ORDER BY blob", arguments: []).map(\.values)
            }
            let objects = try store.catalog.read { db in
                try db.fetchRows(sql: "SELECT digest, data FROM objects ORDER BY digest", arguments: []).map(\.values)
            }
            return (rows, objects, root)
        }
        for send in [{ (r: Recipe) in !r.isSingleChunkBlob }, { (_: Recipe) in true }] {
            let before = try push(direct: false, send: send)
            defer { cleanup(before.root) }
            let direct = try push(direct: true, send: send)
            defer { cleanup(direct.root) }
            #expect(!before.rows.isEmpty && before.rows.count == before.objects.count)
            #expect(before.rows == direct.rows)
            #expect(before.objects == direct.objects)
        }
    }

    @Test("without a chunk of the file's size under the blob digest, the recipe is missing as before")
    func missingWithoutItsChunk() throws {
        let root = tempStorePath("implied-missing")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 22)
        let (chunks, recipe) = makeBlob(rng.bytes(2000), chunkSize: 8192)
        #expect(recipe.isSingleChunkBlob)
        // The tree claims one byte less than the chunk holds: not that chunk's recipe.
        let lying = Tree(entries: [.file("x", blob: recipe.blobDigest, size: 1999)])
        let honest = Tree(entries: [.file("x", blob: recipe.blobDigest, size: 2000)])
        let upload = try store.beginUpload(name: "data/one", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        _ = try upload.putObjects([wholeObject(lying), wholeObject(honest)])
        let missing = UploadCommitOutcome.missingObjects([UploadObjectRef(kind: .recipe, digest: recipe.blobDigest)])
        // No chunk yet: the recipe is what is missing.
        #expect(try upload.commit(tree: SHA256.hash(honest.canonicalBytes)) == missing)
        _ = try upload.putChunks(chunks)
        #expect(try upload.commit(tree: SHA256.hash(lying.canonicalBytes)) == missing)
        #expect(try !store.hasTree(SHA256.hash(lying.canonicalBytes)))
        #expect(
            try upload.commit(tree: SHA256.hash(honest.canonicalBytes))
                == .committed(tree: SHA256.hash(honest.canonicalBytes), files: 1, totalSize: 2000))
        #expect(try store.recipe(forBlob: recipe.blobDigest) == recipe)
    }

    @Test("a chunk the session stored and a GC removed before the commit is reported missing")
    func sessionChunkCollected() throws {
        let root = tempStorePath("implied-collected")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        let f = files(seed: 24)
        let upload = try store.beginUpload(name: "data/set", ttlSeconds: 600)
        _ = try upload.putChunks(f.chunks)
        _ = try upload.putObjects(f.recipes.filter { !$0.isSingleChunkBlob }.map(wholeObject) + [wholeObject(f.tree)])
        let victim = try #require(f.recipes.first { $0.isSingleChunkBlob }).blobDigest
        // The session remembers it (COMMIT will not look it up) ...
        let remembered = try store.withLiveUpload(upload.id) { $0.chunks }
        #expect(remembered.entries[victim] != nil && remembered.epoch != nil)
        // ... and a GC deletes it behind the session's back (every delete moves the epoch).
        try store.catalog.write { db in
            try db.execute(sql: "DELETE FROM chunks WHERE digest = ?", arguments: [victim.data])
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
        }
        let treeDigest = SHA256.hash(f.tree.canonicalBytes)
        guard case .missingChunks(let missing) = try upload.commit(tree: treeDigest) else {
            Issue.record("the commit must report the collected chunk missing")
            return
        }
        #expect(missing == [victim])
        #expect(try !store.hasTree(treeDigest))
        // Sent again, it commits.
        _ = try upload.putChunks(f.chunks.filter { $0.digest == victim })
        #expect(try upload.commit(tree: treeDigest) == .committed(tree: treeDigest, files: 40, totalSize: f.tree.totalSize))
        try verifyTreeReadable(store, treeDigest)
    }

    @Test("a blob committed before is implied again without harm: the same row stays")
    func committedBefore() throws {
        let first = try commit(seed: 23) { _ in true }
        defer { cleanup(first.root) }
        let store = first.store
        // A second tree of the same files under other paths, no recipe sent.
        let entries = first.f.tree.entries.map { e in TreeEntry.file("e/" + e.path, blob: e.blob!, size: e.size) }
        let tree = Tree(entries: entries)
        let upload = try store.beginUpload(name: "data/again", ttlSeconds: 600)
        _ = try upload.putObjects([wholeObject(tree)])
        let digest = SHA256.hash(tree.canonicalBytes)
        #expect(try upload.commit(tree: digest) == .committed(tree: digest, files: 40, totalSize: tree.totalSize))
        for r in first.f.recipes {
            #expect(try store.recipeDigest(forBlob: r.blobDigest) == SHA256.hash(r.canonicalBytes))
        }
        #expect(try store.fsck(deep: true).isClean)
    }
}
