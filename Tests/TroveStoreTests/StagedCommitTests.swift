import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// COMMIT of what the session staged: from the decoded copies it keeps (no read back), and as
/// before when it does not have them; either way the same rows, files and checks.
@Suite("Upload sessions: commit of staged objects")
struct StagedCommitTests {
    /// Files below and above one chunk, staged in one session: (chunks, recipes, tree).
    func files(seed: UInt64) -> (chunks: [ChunkInput], recipes: [Recipe], tree: Tree) {
        var rng = TestRandom(seed: seed)
        var chunks: [ChunkInput] = []
        var recipes: [Recipe] = []
        var entries: [TreeEntry] = []
        for i in 0..<40 {
            // Most one chunk whose digest is the blob digest; every fifth of three chunks.
            let content = i % 2 == 0 ? rng.bytes(1000 + i) : rng.text(3000 + i)
            let (c, r) = makeBlob(content, chunkSize: i % 5 == 0 ? 1200 : 8192)
            chunks += c
            recipes.append(r)
            entries.append(.file("d/f\(i)", blob: r.blobDigest, size: r.size))
        }
        return (chunks, recipes, Tree(entries: entries))
    }

    func committed(_ outcome: UploadCommitOutcome, _ tree: Digest) -> Bool {
        if case .committed(let t, let n, _) = outcome { return t == tree && n == 40 }
        return false
    }

    /// A new store with `files(seed:)` staged in one session (chunks and objects put); with
    /// `oldChunks`, the chunks were stored by an earlier push (not this session, which would
    /// remember them as just stored: ``SessionChunks``) and last touched long ago.
    func staged(seed: UInt64, oldChunks: Bool = false) throws -> (
        store: Store, root: String, upload: UploadSession, f: (chunks: [ChunkInput], recipes: [Recipe], tree: Tree),
        tree: Digest
    ) {
        let root = tempStorePath("staged-commit")
        let store = try createStore(at: root)
        let f = files(seed: seed)
        let upload = try store.beginUpload(name: "data/set", ttlSeconds: 600)
        if oldChunks {
            _ = try store.putChunks(f.chunks)
            try store.catalog.write { db in try db.execute(sql: "UPDATE chunks SET touched = 1") }
        } else {
            _ = try upload.putChunks(f.chunks)
        }
        _ = try upload.putObjects(f.recipes.map(wholeObject) + [wholeObject(f.tree)])
        return (store, root, upload, f, SHA256.hash(f.tree.canonicalBytes))
    }

    @Test("commit from the decoded copies registers every recipe and the tree, and touches old chunks")
    func fromDecodedCopies() throws {
        // Chunks last touched long ago (stored by an earlier push): the commit must refresh them.
        let (store, root, upload, f, treeDigest) = try staged(seed: 5, oldChunks: true)
        defer { cleanup(root) }
        let kept = try store.withLiveUpload(upload.id) { $0.decoded }
        #expect(kept.recipes.count == f.recipes.count && kept.tree?.digest == treeDigest)
        // The staged tree file lost before the commit: written again from the kept bytes.
        #expect(unlink(store.objectPath(treeDigest)) == 0)
        #expect(committed(try upload.commit(tree: treeDigest), treeDigest))
        #expect(FileManager.default.fileExists(atPath: store.objectPath(treeDigest)))
        let stale: Int = try store.catalog.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE touched = 1") ?? -1
        }
        #expect(stale == 0)
        let left = try store.withLiveUpload(upload.id) { $0.decoded }
        #expect(left.recipes.isEmpty && left.tree == nil)
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a staged recipe row deleted before the commit (a GC: the epoch moved) is written again")
    func stagedRowDeleted() throws {
        let (store, root, upload, f, treeDigest) = try staged(seed: 7)
        defer { cleanup(root) }
        let victim = SHA256.hash(f.recipes[3].canonicalBytes)
        try store.catalog.write { db in
            #expect(try Store.deleteInlineObject(db, victim.data))
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
        }
        #expect(committed(try upload.commit(tree: treeDigest), treeDigest))
        #expect(try store.readObject(victim) == f.recipes[3].canonicalBytes)
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a recipe whose chunk length disagrees with the index is refused from the decoded copy too")
    func lengthMismatch() throws {
        let root = tempStorePath("staged-commit-bad")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 9)
        let bytes = rng.bytes(2000)
        let (chunks, _) = makeBlob(bytes, chunkSize: 8192)
        // A one-chunk recipe claiming one byte less than the chunk holds (sizes agree with the tree).
        let digest = SHA256.hash(bytes)
        let lying = Recipe(blobDigest: digest, size: 1999, chunks: [RecipeChunk(digest: digest, length: 1999)])
        let tree = Tree(entries: [.file("x", blob: digest, size: 1999)])
        let upload = try store.beginUpload(name: "data/bad", ttlSeconds: 600)
        _ = try upload.putChunks(chunks)
        _ = try upload.putObjects([wholeObject(lying), wholeObject(tree)])
        #expect(throws: StoreError.self) { try upload.commit(tree: SHA256.hash(tree.canonicalBytes)) }
        #expect(try !store.hasTree(SHA256.hash(tree.canonicalBytes)))
    }

    @Test("one-chunk recipes staged after their chunks are checked then; COMMIT registers the same rows")
    func checkedWhenStaged() throws {
        let (store, root, upload, f, treeDigest) = try staged(seed: 11)
        defer { cleanup(root) }
        let singles = f.recipes.filter(\.isSingleChunkBlob)
        let kept = try store.withLiveUpload(upload.id) { $0.decoded }
        #expect(!singles.isEmpty && singles.count < f.recipes.count)
        #expect(kept.checked.count == singles.count)
        #expect(committed(try upload.commit(tree: treeDigest), treeDigest))
        for r in f.recipes {
            #expect(try store.recipeDigest(forBlob: r.blobDigest) == SHA256.hash(r.canonicalBytes))
        }
        let left = try store.withLiveUpload(upload.id) { $0.decoded }
        #expect(left.recipes.isEmpty && left.checked.isEmpty)
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a one-chunk recipe staged before its chunk is checked by COMMIT, as before")
    func stagedBeforeItsChunk() throws {
        let root = tempStorePath("staged-commit-early")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        let f = files(seed: 12)
        let upload = try store.beginUpload(name: "data/set", ttlSeconds: 600)
        _ = try upload.putObjects(f.recipes.map(wholeObject) + [wholeObject(f.tree)])
        #expect(try store.withLiveUpload(upload.id) { $0.decoded }.checked.isEmpty)
        let treeDigest = SHA256.hash(f.tree.canonicalBytes)
        guard case .missingChunks(let missing) = try upload.commit(tree: treeDigest) else {
            Issue.record("a commit before the chunks arrived must report them missing")
            return
        }
        #expect(Set(missing) == Set(f.chunks.map(\.digest)))
        _ = try upload.putChunks(f.chunks)
        #expect(committed(try upload.commit(tree: treeDigest), treeDigest))
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a chunk checked when its recipe was staged and removed by a GC before the commit is reported missing")
    func checkedChunkCollected() throws {
        let (store, root, upload, f, treeDigest) = try staged(seed: 13)
        defer { cleanup(root) }
        let single = f.recipes.first { $0.isSingleChunkBlob }
        let victim = try #require(single).blobDigest
        #expect(try store.withLiveUpload(upload.id) { $0.decoded }.checked[victim] != nil)
        try store.catalog.write { db in
            try db.execute(sql: "DELETE FROM chunks WHERE digest = ?", arguments: [victim.data])
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
        }
        guard case .missingChunks(let missing) = try upload.commit(tree: treeDigest) else {
            Issue.record("the commit must report the collected chunk missing")
            return
        }
        #expect(missing == [victim])
        #expect(try !store.hasTree(treeDigest))
    }

    @Test("past the memory bound, staged recipes are read back: the same commit")
    func readBackBeyondTheBound() throws {
        let (store, root, upload, f, treeDigest) = try staged(seed: 6)
        defer { cleanup(root) }
        // What a session over the bound has: nothing kept decoded.
        try store.withLiveUpload(upload.id) { s in
            s.decoded.forget(tree: treeDigest, blobs: f.recipes.map(\.blobDigest))
        }
        #expect(committed(try upload.commit(tree: treeDigest), treeDigest))
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }

    /// Modification time of `path` in whole seconds.
    func mtime(_ path: String) throws -> Int {
        let date = try #require(try FileManager.default.attributesOfItem(atPath: path)[.modificationDate] as? Date)
        return Int(date.timeIntervalSince1970)
    }

    @Test(
        "a recipe PUT_OBJECTS wrote as an object file is committed from that file, kept as it is, and written again if it was lost",
        arguments: [false, true])
    func stagedRecipeFile(lost: Bool) throws {
        let root = tempStorePath("staged-file")
        let store = try createStore(at: root)
        defer { cleanup(root) }
        var rng = TestRandom(seed: 12)
        // 1024 chunks: a recipe of ≈ 40 KB, above what the catalog keeps as a row.
        let (chunks, recipe) = makeBlob(rng.bytes(1024 * 64), chunkSize: 64)
        #expect(!InlineObjects.accepts(recipe.canonicalBytes))
        let object = SHA256.hash(recipe.canonicalBytes)
        let tree = Tree(entries: [.file("model.bin", blob: recipe.blobDigest, size: recipe.size)])
        let treeDigest = SHA256.hash(tree.canonicalBytes)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        _ = try upload.putChunks(chunks)
        #expect(try upload.putObjects([wholeObject(recipe), wholeObject(tree)]) == 2)
        let path = store.objectPath(object)
        // Dated an hour back: a commit that wrote the file again would date it now.
        let old = Date(timeIntervalSinceNow: -3600)
        try FileManager.default.setAttributes([.modificationDate: old], ofItemAtPath: path)
        if lost { #expect(unlink(path) == 0) }
        guard case .committed(let t, 1, _) = try upload.commit(tree: treeDigest) else {
            Issue.record("the commit must succeed")
            return
        }
        #expect(t == treeDigest)
        #expect((try mtime(path) == Int(old.timeIntervalSince1970)) == !lost)
        #expect(try store.recipe(forBlob: recipe.blobDigest) == recipe)
        try verifyTreeReadable(store, treeDigest)
        #expect(try store.fsck(deep: true).isClean)
    }
}
