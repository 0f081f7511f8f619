import Foundation
import GRDB
import Testing
import TroveCore

@testable import TroveStore

/// Small recipes are catalog rows; trees and large recipes stay files; recipe files of stores
/// written before the `objects` table (or by `writeObjectFiles`) still read, check and collect.
@Suite("Objects kept in the catalog")
struct InlineObjectTests {
    @Test("a small recipe is a row, its tree a file; both read back and fsck is clean")
    func smallRecipeIsARow() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 5)
        let content = rng.bytes(20_000)
        let tree = try storeFile(store, content)
        let recipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(content)))
        #expect(!FileManager.default.fileExists(atPath: store.objectPath(recipe)))
        #expect(try store.inlineObjectBytes(recipe) != nil)
        #expect(FileManager.default.fileExists(atPath: store.objectPath(tree)))
        #expect(try store.recipe(forBlob: SHA256.hash(content))?.size == 20_000)
        #expect(try store.readObjects([recipe, tree]).count == 2)
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
        #expect(report.objects == 2)
    }

    @Test("a recipe above the limit is a file")
    func largeRecipeIsAFile() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 6)
        // 1 KiB chunks: 600 chunks make a recipe of ~21 KiB.
        let content = rng.bytes(600 << 10)
        let (chunks, recipe) = makeBlob(content, chunkSize: 1024)
        #expect(recipe.canonicalBytes.count > InlineObjects.maxCanonicalSize)
        _ = try store.putChunks(chunks)
        let tree = Tree(entries: [.file("big.bin", blob: recipe.blobDigest, size: recipe.size)])
        guard case .committed = try store.commit(recipes: [recipe], tree: tree) else {
            Issue.record("commit reported missing chunks")
            return
        }
        let d = try #require(try store.recipeDigest(forBlob: recipe.blobDigest))
        #expect(FileManager.default.fileExists(atPath: store.objectPath(d)))
        #expect(try store.inlineObjectBytes(d) == nil)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a recipe stored as a file (the layout before the table) reads, checks, scrubs and is collected")
    func recipeFileOfAnOlderStore() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 7)
        let content = rng.bytes(30_000)
        let tree = try storeFile(store, content)
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let keep = try storeFile(store, path: "other.bin", rng.bytes(10_000))
        _ = try store.createVersion(name: "m", version: "2", tree: keep, creator: "t")
        // Move the recipe from its row to a file, as an older troved wrote it.
        let recipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(content)))
        let canonical = try store.readObject(recipe)
        try store.writeObjectFiles([(recipe, canonical)])
        _ = try store.catalog.write { db in try Store.deleteInlineObject(db, recipe.data) }
        #expect(try store.inlineObjectBytes(recipe) == nil)
        #expect(try store.readObject(recipe) == canonical)
        #expect(try store.readObjects([recipe])[recipe] == canonical)
        #expect(try store.fsck(deep: true).isClean)
        #expect(try store.scrub().clean)

        try store.retireVersion(name: "m", version: "1", actor: "t")
        let r = try gcNow(store)
        #expect(r.objectsFreed == 2)
        #expect(!FileManager.default.fileExists(atPath: store.objectPath(recipe)))
        #expect(try store.fsck(deep: true).isClean)
        try verifyTreeReadable(store, keep)
    }

    @Test("GC removes the rows of recipes it collects")
    func gcRemovesRows() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 8)
        let content = rng.bytes(12_000)
        let tree = try storeFile(store, content)
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let recipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(content)))
        try store.retireVersion(name: "m", version: "1", actor: "t")
        let r = try gcNow(store)
        #expect(r.objectsFreed == 2)
        #expect(try store.inlineObjectBytes(recipe) == nil)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("a damaged row is reported by fsck, quarantined by scrub, and healed by a re-push")
    func damagedRow() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 9)
        let content = rng.bytes(9000)
        let tree = try storeFile(store, content)
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let recipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(content)))
        var row = try #require(try store.inlineObjectBytes(recipe))
        row[row.count - 1] ^= 0x01
        let damaged = Data(row)
        try store.catalog.write { db in
            try db.execute(sql: "UPDATE objects SET data = ? WHERE digest = ?", arguments: [damaged, recipe.data])
        }
        #expect(throws: StoreError.self) { try store.readObject(recipe) }
        let report = try store.fsck()
        #expect(report.violations.contains { $0.kind == .objectCorrupt && $0.subject == recipe.prefixed })
        let scrubbed = try store.scrub(ScrubOptions(repair: true))
        #expect(scrubbed.damagedObjects.contains(recipe.prefixed))
        #expect(try store.inlineObjectBytes(recipe) == nil)
        let quarantined = try FileManager.default.contentsOfDirectory(atPath: root + "/quarantine")
        #expect(quarantined.contains { $0.hasPrefix("object-\(recipe.hex)") })
        // The blob was un-committed: storing the same content again heals it.
        #expect(try storeFile(store, content) == tree)
        #expect(try store.readObject(recipe).count > 0)
        #expect(try store.fsck(deep: true).isClean)
    }
}
