import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// Small recipes are catalog rows; trees and large recipes stay files; recipe files of stores
/// written before the `objects` table (or by `writeObjectFiles`) still read, check and collect.
/// Flips a bit near the end of an object kept in the catalog (its row's bytes).
func damageInlineObject(_ store: Store, _ d: Digest) throws {
    var row = try #require(try store.inlineObjectBytes(d), "object \(d) is not a catalog row")
    row[row.count - 3] ^= 0x20
    let damaged = Data(row)
    try store.catalog.write { db in
        try db.execute(sql: "UPDATE objects SET data = ? WHERE digest = ?", arguments: [damaged, d.data])
    }
}

@Suite("Objects kept in the catalog")
struct InlineObjectTests {
    /// A store holding version m:1 of one file of `size` random bytes: its content, tree and recipe.
    func storeWithVersion(_ root: String, seed: UInt64, size: Int) throws -> (
        store: Store, content: [UInt8], tree: Digest, recipe: Digest
    ) {
        let store = try createStore(at: root)
        var rng = TestRandom(seed: seed)
        let content = rng.bytes(size)
        let tree = try storeFile(store, content)
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let recipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(content)))
        return (store, content, tree, recipe)
    }

    @Test("a small recipe is a row, its tree a file; both read back and fsck is clean")
    func smallRecipeIsARow() throws {
        let root = tempStorePath("inline")
        defer { cleanup(root) }
        let (store, content, tree, recipe) = try storeWithVersion(root, seed: 5, size: 20_000)
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
        let store = try createStore(at: root)
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
        let (store, _, _, recipe) = try storeWithVersion(root, seed: 7, size: 30_000)
        var rng = TestRandom(seed: 70)
        let keep = try storeFile(store, path: "other.bin", rng.bytes(10_000))
        _ = try store.createVersion(name: "m", version: "2", tree: keep, creator: "t")
        // Move the recipe from its row to a file, as an older troved wrote it.
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
        let (store, _, _, recipe) = try storeWithVersion(root, seed: 8, size: 12_000)
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
        let (store, content, tree, recipe) = try storeWithVersion(root, seed: 9, size: 9000)
        try damageInlineObject(store, recipe)
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
