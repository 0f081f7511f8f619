import Foundation
import TroveCore

/// How commits and new versions stay safe while a GC deletes (docs/STORE.md, "GC").
///
/// Every GC delete runs in a catalog write transaction that first checks `gc_roots` is empty
/// and bumps `gc_state.epoch`. A commit reads the epoch before its checks (chunks indexed,
/// blobs committed, objects written); in its final transaction, if the epoch moved, it redoes
/// those checks there (SQLite serialises write transactions, so nothing can be deleted between
/// that re-check and the commit's inserts). Commits and new versions also log their tree in
/// `gc_roots` while a GC is active, and the GC marks those trees before its next delete. So a
/// commit either sees everything it needs still present (and protected from then on) or
/// answers `.missing` — it never registers a tree whose chunks were deleted (I2).
extension Store {
    /// The GC epoch (read before a commit's checks).
    func gcEpoch() throws(StoreError) -> Int64 {
        try catalog.read { db in try Store.gcEpoch(db) }
    }

    static func gcEpoch(_ db: any CatalogTransaction) throws -> Int64 {
        try Int64.fetchOne(db, sql: "SELECT epoch FROM gc_state WHERE id = 1") ?? 0
    }

    /// Inside a write transaction: logs `tree` as a GC root if a GC is active.
    static func gcNoteRoot(_ db: any CatalogTransaction, tree: Digest) throws {
        try db.execute(
            sql: """
                INSERT INTO gc_roots (tree)
                SELECT ? WHERE (SELECT active FROM gc_state WHERE id = 1) = 1
                ON CONFLICT DO NOTHING
                """, arguments: [tree.data])
    }

    /// Inside a commit's final write transaction: if a GC deleted anything since `epoch`,
    /// re-checks that the new recipes' chunks are indexed (returns the missing ones), that the
    /// reused blobs are still committed, and that the object files exist (rewriting any a GC
    /// removed and taking them off the GC's list; objects kept in the catalog are inserted by
    /// the commit's transaction itself). `staged`: recipes whose object files this session
    /// stored ahead of the commit, encoded only to be rewritten.
    func gcRecheckCommit(
        _ db: any CatalogTransaction, epoch: Int64, chunks: [Digest], reusedBlobs: [Digest],
        objects: [(Digest, [UInt8])], staged: [(Digest, Recipe)] = []
    ) throws -> [Digest]? {
        guard try Store.gcEpoch(db) != epoch else { return nil }
        let chunkQuery = try db.cachedStatement(sql: "SELECT 1 FROM chunks WHERE digest = ?")
        var missing: [Digest] = []
        for d in chunks where try Bool.fetchOne(chunkQuery, arguments: [d.data]) != true {
            missing.append(d)
        }
        if !missing.isEmpty { return missing.sorted() }
        let blobQuery = try db.cachedStatement(sql: "SELECT 1 FROM blobs WHERE blob = ?")
        for b in reusedBlobs where try Bool.fetchOne(blobQuery, arguments: [b.data]) != true {
            throw StoreError.invalidCommit(
                "blob \(b) was garbage-collected while this commit ran; push again (it will be re-sent)")
        }
        var rewrite: [(Digest, [UInt8])] = []
        let undoom = try db.cachedStatement(sql: "DELETE FROM gc_doomed_objects WHERE digest = ?")
        for (d, bytes) in objects {
            try undoom.execute(arguments: [d.data])
            if !InlineObjects.accepts(bytes) && (try? objectStorage.exists(d)) != true {
                rewrite.append((d, bytes))
            }
        }
        for (d, recipe) in staged {
            try undoom.execute(arguments: [d.data])
            if (try? objectStorage.exists(d)) != true { rewrite.append((d, recipe.canonicalBytes)) }
        }
        if !rewrite.isEmpty { try writeObjectFiles(rewrite) }
        return nil
    }

    /// A commit of a tree that is already committed: its row implies its blobs' rows and their
    /// chunks (GC sweeps trees before blobs and blobs before chunks; scrub un-commits a tree with
    /// the blobs it loses), so only the object is re-read (it must still verify) and, while a GC
    /// is active, the tree logged as a root as a full commit would. Its file count and size, or
    /// nil if it is not committed.
    func recommit(tree: Digest) throws(StoreError) -> (files: Int, size: UInt64)? {
        try checkWritable()
        let found: (files: Int, size: Int64, gcActive: Bool)? = try catalog.read { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT files, size FROM trees WHERE digest = ?", arguments: [tree.data])
            else { return nil }
            let active = try Bool.fetchOne(db, sql: "SELECT active FROM gc_state WHERE id = 1") ?? false
            return (row["files"], row["size"], active)
        }
        guard let found else { return nil }
        _ = try readObject(tree)
        if found.gcActive {
            let still: Bool = try catalog.write { db in
                guard try Bool.fetchOne(db, sql: "SELECT 1 FROM trees WHERE digest = ?", arguments: [tree.data]) == true
                else { return false }
                try Store.gcNoteRoot(db, tree: tree)
                return true
            }
            guard still else { return nil }
        }
        return (found.files, UInt64(found.size))
    }
}
