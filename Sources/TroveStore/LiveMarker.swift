import Foundation
import TroveCore

/// Writes the mark into `gc_live_*` in batches; memory is bounded by the batch, one tree and one
/// recipe, whatever the store's size.
struct LiveMarker {
    let store: Store
    var chunks: [Digest] = []
    var blobs: [Digest] = []
    var trees: [Digest] = []
    var pendingBlobs = Set<Digest>()
    var pendingTrees = Set<Digest>()
    static let flushAt = 20_000

    init(store: Store) { self.store = store }

    func isLive(_ table: String, _ d: Digest) throws(StoreError) -> Bool {
        try store.catalog.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM \(table) WHERE digest = ?", arguments: [d.data]) == true
        }
    }

    func isQuarantined(_ d: Digest) throws(StoreError) -> Bool {
        try store.catalog.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM quarantine WHERE digest = ?", arguments: [d.data])
                == true
        }
    }

    mutating func markTree(_ t: Digest) throws {
        if pendingTrees.contains(t) { return }
        if try isLive("gc_live_trees", t) { return }
        let tree: Tree
        do { tree = try store.readTree(t) } catch {
            // Damage a scrub already quarantined: nothing more to protect (a re-push heals it).
            if try isQuarantined(t) { return }
            throw MaintenanceError.unsafe(
                "tree \(t) (of a live version or a recent commit) cannot be read (\(error)); "
                    + "run `trove scrub`, then re-push or retire the versions it names")
        }
        for e in tree.entries where e.kind == .file {
            if let b = e.blob { try markBlob(b) }
        }
        trees.append(t)
        pendingTrees.insert(t)
        if chunks.count + blobs.count + trees.count >= LiveMarker.flushAt { try flush() }
    }

    mutating func markBlob(_ b: Digest) throws {
        if pendingBlobs.contains(b) { return }
        if try isLive("gc_live_blobs", b) { return }
        // An uncommitted blob (e.g. un-committed by scrub after damage) has nothing to mark.
        guard let recipeDigest = try store.recipeDigest(forBlob: b) else { return }
        let recipe: Recipe
        do { recipe = try store.readRecipe(object: recipeDigest) } catch {
            if try isQuarantined(recipeDigest) { return }
            throw MaintenanceError.unsafe(
                "the recipe of blob \(b) cannot be read (\(error)); run `trove scrub` first")
        }
        for c in recipe.chunks {
            chunks.append(c.digest)
            if chunks.count >= LiveMarker.flushAt { try flush() }
        }
        blobs.append(b)
        pendingBlobs.insert(b)
    }

    /// Chunks first, then blobs, then trees: a blob is recorded live only with its chunks.
    mutating func flush() throws {
        if chunks.isEmpty && blobs.isEmpty && trees.isEmpty { return }
        let (c, b, t) = (chunks, blobs, trees)
        try store.catalog.write { db in
            for (table, list) in [("gc_live_chunks", c), ("gc_live_blobs", b), ("gc_live_trees", t)] {
                try db.insertRows(
                    CatalogBulkInsert(table: table, columns: ["digest"], suffix: "ON CONFLICT DO NOTHING"),
                    values: list.map { .blob($0.data) })
            }
        }
        chunks.removeAll(keepingCapacity: true)
        blobs.removeAll(keepingCapacity: true)
        trees.removeAll(keepingCapacity: true)
        pendingBlobs.removeAll(keepingCapacity: true)
        pendingTrees.removeAll(keepingCapacity: true)
    }
}
