import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Scrub of objects, catalog rows and versions, and what damage un-commits (see Store+Scrub.swift).
extension Scrubber {
    // MARK: Objects

    /// The objects of one shard: files, and small recipes kept in the catalog.
    mutating func checkObjectShard(_ shard: String) throws {
        var digests = Set(try store.objectStorage.list(shard: shard).digests)
        digests.formUnion(try store.inlineObjectDigests(shard: shard))
        for d in digests.sorted() {
            guard sampled() else { continue }
            report.objectsChecked += 1
            let bytes: [UInt8]
            do { bytes = try store.readObject(d) } catch .packStorage(let m) {
                // The object store did not answer: not damage; the scrub fails and can run again.
                throw StoreError.packStorage(m)
            } catch {
                finding("object-corrupt", d.prefixed, "\(error)", action: "quarantined")
                report.damagedObjects.append(d.prefixed)
                try store.quarantineObject(d, reason: "\(error)")
                report.quarantined += 1
                badObjects.insert(d)
                continue
            }
            throttle(bytes.count)
            if let r = try? Recipe(canonical: bytes) {
                // Committed recipes must reference indexed chunks with matching lengths (I2).
                let committed = try catalog.read { db in
                    try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE recipe = ?", arguments: [d.data])
                        == true
                }
                guard committed else { continue }
                let gone = try store.missing(r.chunks.map(\.digest))
                if !gone.isEmpty {
                    finding(
                        "recipe-dangling", d.prefixed,
                        "recipe of blob \(r.blobDigest) references \(gone.count) chunk(s) not in the index, "
                            + "e.g. \(gone[0])", action: "uncommitted")
                }
            } else if let t = try? Tree(canonical: bytes) {
                let committed = try catalog.read { db in
                    try Bool.fetchOne(db, sql: "SELECT 1 FROM trees WHERE digest = ?", arguments: [d.data])
                        == true
                }
                guard committed else { continue }
                let blobs = Set(t.entries.compactMap(\.blob))
                let uncommitted = try catalog.read { db in
                    try blobs.filter {
                        try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE blob = ?", arguments: [$0.data])
                            != true
                    }
                }
                if let b = uncommitted.first {
                    finding(
                        "tree-dangling", d.prefixed,
                        "\(uncommitted.count) file blob(s) have no committed recipe, e.g. \(b)",
                        action: "uncommitted")
                }
            } else {
                finding("object-corrupt", d.prefixed, "neither a recipe nor a tree", action: "quarantined")
                report.damagedObjects.append(d.prefixed)
                try store.quarantineObject(d, reason: "neither a recipe nor a tree")
                report.quarantined += 1
                badObjects.insert(d)
            }
        }
    }

    /// Catalog rows → object files (the slice's share of them).
    mutating func checkRows() throws {
        var last = Data()
        while true {
            let page: [(blob: Data, recipe: Data)] = try catalog.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT blob, recipe FROM blobs WHERE blob > ? ORDER BY blob LIMIT 5000",
                    arguments: [last]
                ).map { ($0["blob"], $0["recipe"]) }
            }
            guard let end = page.last else { break }
            for p in page {
                guard let r = Digest(data: p.recipe), !badObjects.contains(r),
                    inSlice("objects:" + String(r.hex.prefix(2)))
                else { continue }
                if try !store.objectStored(r) {
                    finding(
                        "object-missing", r.prefixed,
                        "recipe of committed blob \(Digest(data: p.blob) ?? .zero)",
                        action: options.repair ? "uncommitted" : "reported")
                    report.damagedObjects.append(r.prefixed)
                    if options.repair { badObjects.insert(r) }
                }
            }
            last = end.blob
        }
        for t in try allTrees() {
            guard let d = Digest(data: t), !badObjects.contains(d),
                inSlice("objects:" + String(d.hex.prefix(2)))
            else { continue }
            if try !store.objectStored(d) {
                finding(
                    "object-missing", d.prefixed, "committed tree",
                    action: options.repair ? "uncommitted" : "reported")
                report.damagedObjects.append(d.prefixed)
                if options.repair { badObjects.insert(d) }
            }
        }
    }

    /// Digests of all committed trees, read in pages (32 bytes each in memory).
    func allTrees() throws -> [Data] {
        var out: [Data] = []
        var last = Data()
        while true {
            let page = try catalog.read { db in
                try Data.fetchAll(
                    db, sql: "SELECT digest FROM trees WHERE digest > ? ORDER BY digest LIMIT 10000",
                    arguments: [last])
            }
            guard let end = page.last else { return out }
            out += page
            last = end
        }
    }

    /// Every live version resolves to a committed, present tree (I1).
    mutating func checkVersions() throws {
        let versions = try store.listVersions()
        for v in versions {
            report.versionsChecked += 1
            let committed = try store.hasTree(v.tree)
            if try !committed || !store.objectStored(v.tree) {
                finding(
                    "version-broken", "\(v.name):\(v.version)",
                    "tree \(v.tree) is \(committed ? "committed but its object is missing" : "not committed") "
                        + "(damaged earlier; re-push the same content to heal it)", action: "reported")
            }
        }
    }

    /// Every bucket key names a committed blob; those that do not (damage un-committed them in
    /// an earlier run and nothing healed them) are findings, at most 100 listed.
    mutating func checkBucketKeys() throws {
        let broken = try damagedBucketKeys()
        for k in broken.prefix(100) {
            finding(
                "bucket-key-broken", "s3://\(k.bucket)/\(k.key)",
                "its object's blob is not committed (damaged earlier; upload the same bytes again to heal it)",
                action: "reported")
        }
    }

    // MARK: Consequences

    /// Finds the blobs whose recipes need a chunk that is no longer indexed (or whose recipe
    /// object is gone), the trees that need those blobs, and the live versions of those trees;
    /// un-commits those blobs and trees (so HAS reports them missing and a re-push re-sends and
    /// re-verifies them) and names the affected versions and paths in the report.
    mutating func uncommitAndName() throws {
        var affectedBlobs = Set<Digest>()
        var last = Data()
        while true {
            let page: [(blob: Data, recipe: Data)] = try catalog.read { db in
                try Row.fetchAll(
                    db, sql: "SELECT blob, recipe FROM blobs WHERE blob > ? ORDER BY blob LIMIT 2000",
                    arguments: [last]
                ).map { ($0["blob"], $0["recipe"]) }
            }
            guard let end = page.last else { break }
            for p in page {
                guard let b = Digest(data: p.blob), let r = Digest(data: p.recipe) else { continue }
                if badObjects.contains(r) {
                    affectedBlobs.insert(b)
                    continue
                }
                guard let recipe = try? store.readRecipe(object: r) else { continue }
                let gone = try store.missing(recipe.chunks.map(\.digest))
                if !gone.isEmpty || recipe.chunks.contains(where: { goneChunks.contains($0.digest) }) {
                    affectedBlobs.insert(b)
                }
            }
            last = end.blob
        }
        var affectedTrees: [Digest: [String]] = [:]
        // Committed trees, and live versions' trees (whose row a damage may have removed).
        var treeList = try allTrees().compactMap(Digest.init(data:))
        treeList += try store.listVersions().map(\.tree)
        for t in Set(treeList) {
            if badObjects.contains(t) {
                affectedTrees[t] = ["(tree object damaged)"]
                continue
            }
            guard let tree = try? store.readTree(t) else { continue }
            let paths = tree.entries.filter { $0.blob.map(affectedBlobs.contains) ?? false }.map(\.path)
            if !paths.isEmpty { affectedTrees[t] = paths }
        }
        let blobList = affectedBlobs
        let treeKeys = Array(affectedTrees.keys)
        let (nb, nt): (Int, Int) = try catalog.write { db in
            var nb = 0
            var nt = 0
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
            for b in blobList {
                try db.execute(sql: "DELETE FROM blobs WHERE blob = ?", arguments: [b.data])
                nb += db.changesCount
            }
            for t in treeKeys {
                try db.execute(sql: "DELETE FROM trees WHERE digest = ?", arguments: [t.data])
                nt += db.changesCount
            }
            return (nb, nt)
        }
        report.uncommittedBlobs = nb
        report.uncommittedTrees = nt
        for v in try store.listVersions() {
            guard let paths = affectedTrees[v.tree] else { continue }
            report.affectedVersions.append(
                AffectedVersion(
                    name: v.name, version: v.version, paths: Array(paths.sorted().prefix(100)),
                    affectedFiles: paths.count))
        }
        report.affectedVersions.sort { ($0.name, $0.version) < ($1.name, $1.version) }
    }

    /// Bucket keys (at most 10 000) whose blob is not committed: damage un-committed it (this run
    /// or an earlier one) and no upload of the same bytes has healed it yet.
    func damagedBucketKeys() throws -> [AffectedBucketKey] {
        try catalog.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT bucket, key FROM bucket_objects o
                    WHERE NOT EXISTS (SELECT 1 FROM blobs b WHERE b.blob = o.blob)
                    ORDER BY bucket, key LIMIT 10000
                    """
            ).map { AffectedBucketKey(bucket: $0["bucket"], key: $0["key"]) }
        }
    }
}
