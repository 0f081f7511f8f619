import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Garbage collection (docs/STORE.md, "GC"): mark → candidates → sweep (trees, blobs, chunks,
/// object files) → pack rewrite and removal. Runs while pushes continue; one job at a time.
extension Store {
    /// How long a `touch` may lag behind (the store refreshes `touched` at most once a minute).
    static let touchResolutionMillis: Int64 = 60_000

    /// Runs a GC. Throws `.busy` if a GC or scrub is already running, `.unsafe` if reachability
    /// could not be established (e.g. a live version's tree is unreadable; nothing more is
    /// deleted), `.store` for store failures. Every phase is restartable: a crash leaves extra
    /// garbage, never missing data, and the next run starts over.
    public func collectGarbage(_ options: GCOptions = GCOptions()) throws(MaintenanceError) -> GCResult {
        try MaintenanceLock.acquire(self, "GC")
        defer { MaintenanceLock.release(self) }
        do {
            let report = try runGC(options)
            if !options.dryRun { recordMaintenance("gc", ok: true, report: report.json()) }
            return report
        } catch let e as MaintenanceError {
            if !options.dryRun {
                try? gcFinish()
                recordMaintenance("gc", ok: false, report: "\(e)")
            }
            throw e
        } catch let e as StoreError {
            if !options.dryRun {
                try? gcFinish()
                recordMaintenance("gc", ok: false, report: "\(e)")
            }
            throw .store(e)
        } catch {
            if !options.dryRun {
                try? gcFinish()
                recordMaintenance("gc", ok: false, report: "\(error)")
            }
            throw .store(.catalog("\(error)"))
        }
    }

    private func phase(_ name: String) {
        MaintenanceTestHooks.gcPhase?(self, name)
    }

    private func runGC(_ o: GCOptions) throws -> GCResult {
        try checkWritable()
        var report = GCResult()
        if !o.dryRun, let note = Store.releaseReserveIfShort(root: root) { report.notes.append(note) }

        let t0 = Clock.nowMillis()
        var clock = t0
        func lap(_ name: String) {
            let now = Clock.nowMillis()
            report.durationsMs[name] = now - clock
            clock = now
        }
        report.dryRun = o.dryRun
        report.graceSeconds = o.graceSeconds
        report.startedAt = t0
        let grace = max(0, o.graceSeconds) * 1000
        // A grace of G protects what was touched within G; `touch` may lag by up to a minute,
        // so (for G ≥ 1 min) another minute is added. Live leases protect everything touched
        // since the oldest began (minus the same minute).
        var cutoff = t0 - grace - min(grace, Store.touchResolutionMillis)
        let unleasedCutoff = cutoff
        let leases = try liveUploads(now: t0)
        report.liveLeases = leases.count
        report.leases = leases.map { GCLease(name: $0.name, created: $0.created, expires: $0.expires) }
        if let oldest = leases.map(\.created).min() {
            cutoff = min(cutoff, oldest - max(0, o.leaseSlackSeconds) * 1000)
        }
        report.cutoff = cutoff

        // Leftovers of an interrupted run: finish removals, discard its mark.
        if !o.dryRun {
            try removeDeadPacks(&report)
            try unlinkDoomedObjects(&report)
        }
        try catalog.write { db in
            try Store.clearGCTables(db)
            if !o.dryRun {
                try db.execute(
                    sql:
                        "UPDATE gc_state SET active = 1, started = ?, cutoff = ?, phase = 'mark' WHERE id = 1",
                    arguments: [t0, cutoff])
            }
        }

        // 1. Mark: live versions, trees and blobs created after the cutoff, and (via gc_roots)
        //    whatever is committed or versioned while this runs.
        phase("mark")
        try catalog.write { db in
            try db.execute(
                sql: """
                    INSERT INTO gc_roots (tree)
                    SELECT tree FROM versions WHERE retired IS NULL
                    UNION SELECT digest FROM trees WHERE created >= ?
                    ON CONFLICT DO NOTHING
                    """, arguments: [cutoff])
        }
        var marker = LiveMarker(store: self)
        let recentBlobs: [Digest] = try catalog.read { db in
            try Data.fetchAll(db, sql: "SELECT blob FROM blobs WHERE created >= ?", arguments: [cutoff])
                .compactMap(Digest.init(data:))
        }
        for b in recentBlobs { try marker.markBlob(b) }
        // Bucket keys and multipart parts are roots too (Store+Buckets.swift).
        for b in try bucketRootBlobs() { try marker.markBlob(b) }
        try marker.flush()
        try drainRoots(&marker)
        try catalog.read { db in
            report.liveChunks = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gc_live_chunks") ?? 0
            report.liveBlobs = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gc_live_blobs") ?? 0
            report.liveTrees = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM gc_live_trees") ?? 0
        }
        lap("mark")

        // 2. Candidates: unreachable and untouched since the cutoff, recorded durably.
        phase("candidates")
        try catalog.write { db in
            try db.execute(
                sql: """
                    INSERT INTO gc_candidates (kind, digest)
                    SELECT 2, digest FROM trees WHERE created < ?
                      AND digest NOT IN (SELECT digest FROM gc_live_trees)
                      AND digest NOT IN (SELECT tree FROM versions WHERE retired IS NULL)
                    ON CONFLICT DO NOTHING
                    """, arguments: [cutoff])
            try db.execute(
                sql: """
                    INSERT INTO gc_candidates (kind, digest)
                    SELECT 1, blob FROM blobs WHERE created < ?
                      AND blob NOT IN (SELECT digest FROM gc_live_blobs)
                    ON CONFLICT DO NOTHING
                    """, arguments: [cutoff])
        }
        try insertChunkCandidates(cutoff: cutoff, page: 50_000)
        try catalog.read { db in
            for (kind, path) in [
                (0, \GCResult.candidateChunks), (1, \.candidateBlobs), (2, \.candidateTrees),
            ] {
                report[keyPath: path] =
                    try Int.fetchOne(
                        db, sql: "SELECT COUNT(*) FROM gc_candidates WHERE kind = ?", arguments: [kind])
                    ?? 0
            }
        }
        try measureLeasePins(&report, cutoff: unleasedCutoff, slack: max(0, o.leaseSlackSeconds) * 1000)
        lap("candidates")

        if o.dryRun {
            try estimateDryRun(&report, threshold: o.rewriteThreshold)
            try catalog.write { db in try Store.clearGCTables(db) }
            lap("estimate")
            report.durationsMs["total"] = Clock.nowMillis() - t0
            return report
        }

        // 3. Sweep, top down (trees, then blobs, then chunks), each delete re-checked in the
        //    transaction that performs it.
        phase("sweep-trees")
        try sweep(kind: 2, cutoff: cutoff, batch: o.batchSize, marker: &marker, report: &report)
        phase("sweep-blobs")
        try sweep(kind: 1, cutoff: cutoff, batch: o.batchSize, marker: &marker, report: &report)
        phase("sweep-chunks")
        try sweep(kind: 0, cutoff: cutoff, batch: o.batchSize, marker: &marker, report: &report)
        phase("objects")
        try unlinkDoomedObjects(&report)
        lap("sweep")

        // 4. Packs: retire empty ones, rewrite sparse ones, remove retired ones after the delay.
        phase("rewrite")
        try rewritePacks(threshold: o.rewriteThreshold, report: &report)
        lap("rewrite")
        phase("remove")
        try removeRetiredPacks(delay: o.packRemovalDelay, wait: true, report: &report)
        lap("remove")
        try gcFinish()
        phase("done")
        report.diskBytesFreed = report.packBytesDeleted - report.packBytesWritten
        maintainReserve()
        if let note = takeDiskNote() { report.notes.append(note) }
        report.durationsMs["total"] = Clock.nowMillis() - t0
        return report
    }

    /// Ends a run: no longer active, scratch tables emptied.
    func gcFinish() throws(StoreError) {
        try catalog.write { db in
            try Store.clearGCTables(db)
            try db.execute(sql: "UPDATE gc_state SET active = 0, phase = NULL WHERE id = 1")
        }
    }

    static func clearGCTables(_ db: any CatalogTransaction) throws {
        for t in ["gc_roots", "gc_live_chunks", "gc_live_blobs", "gc_live_trees", "gc_candidates"] {
            try db.execute(sql: "DELETE FROM \(t)")
        }
    }

    /// Chunk candidates in pages of the digest order (short write transactions).
    private func insertChunkCandidates(cutoff: Int64, page: Int) throws {
        var last = Data()
        while true {
            let next: Data? = try catalog.write { db in
                let rows = try Data.fetchAll(
                    db, sql: "SELECT digest FROM chunks WHERE digest > ? ORDER BY digest LIMIT ?",
                    arguments: [last, page])
                guard let end = rows.last else { return nil }
                try db.execute(
                    sql: """
                        INSERT INTO gc_candidates (kind, digest)
                        SELECT 0, digest FROM chunks WHERE digest > ? AND digest <= ?
                          AND touched < ? AND created < ?
                          AND digest NOT IN (SELECT digest FROM gc_live_chunks)
                        ON CONFLICT DO NOTHING
                        """, arguments: [last, end, cutoff, cutoff])
                return end
            }
            guard let next else { return }
            last = next
        }
    }

    /// Marks every tree in `gc_roots` (and what it references) live, then empties it.
    private func drainRoots(_ marker: inout LiveMarker) throws {
        while true {
            let page: [Data] = try catalog.write { db in
                let rows = try Data.fetchAll(db, sql: "SELECT tree FROM gc_roots LIMIT 256")
                for r in rows { try db.execute(sql: "DELETE FROM gc_roots WHERE tree = ?", arguments: [r]) }
                return rows
            }
            if page.isEmpty { return }
            for r in page {
                guard let t = Digest(data: r) else { continue }
                try marker.markTree(t)
            }
            try marker.flush()
        }
    }

    /// Deletes candidates of one kind in batches. Each batch transaction first makes sure no
    /// root is waiting to be marked (else marks and retries), bumps the epoch, and deletes
    /// only rows that are still unreachable and untouched.
    private func sweep(
        kind: Int, cutoff: Int64, batch: Int, marker: inout LiveMarker, report: inout GCResult
    ) throws {
        var last = Data()
        while true {
            let page: [Data] = try catalog.read { db in
                try Data.fetchAll(
                    db,
                    sql:
                        "SELECT digest FROM gc_candidates WHERE kind = ? AND digest > ? ORDER BY digest LIMIT ?",
                    arguments: [kind, last, batch])
            }
            guard let end = page.last else { return }
            var attempts = 0
            while true {
                attempts += 1
                // The counts start from `report` inside the body: an engine that runs the body
                // again (a PostgreSQL serialization retry) must not count a page twice.
                let (done, swept): (Bool, GCResult) = try catalog.write { [report] db in
                    var local = report
                    // A tree committed or versioned since the last mark: mark it first.
                    if try Bool.fetchOne(db, sql: "SELECT 1 FROM gc_roots LIMIT 1") == true { return (false, local) }
                    try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
                    switch kind {
                    case 2: try Store.deleteTrees(db, page, cutoff: cutoff, report: &local)
                    case 1: try Store.deleteBlobs(db, page, cutoff: cutoff, report: &local)
                    default: try Store.deleteChunks(db, page, cutoff: cutoff, report: &local)
                    }
                    return (true, local)
                }
                if done {
                    report = swept
                    phase("sweep-batch")
                    break
                }
                guard attempts < 1000 else {
                    throw MaintenanceError.unsafe("commits keep arriving faster than GC can mark them")
                }
                try drainRoots(&marker)
            }
            last = end
        }
    }

    private static func deleteTrees(_ db: any CatalogTransaction, _ page: [Data], cutoff: Int64, report: inout GCResult)
        throws
    {
        let check = try db.cachedStatement(
            sql: """
                SELECT 1 FROM trees WHERE digest = ? AND created < ?
                  AND NOT EXISTS (SELECT 1 FROM gc_live_trees WHERE digest = trees.digest)
                  AND NOT EXISTS (SELECT 1 FROM versions WHERE tree = trees.digest AND retired IS NULL)
                """)
        for d in page where try Bool.fetchOne(check, arguments: [d, cutoff]) == true {
            try db.execute(sql: "DELETE FROM trees WHERE digest = ?", arguments: [d])
            try db.execute(sql: "INSERT INTO gc_doomed_objects (digest) VALUES (?) ON CONFLICT DO NOTHING", arguments: [d])
            report.treesFreed += 1
        }
    }

    private static func deleteBlobs(_ db: any CatalogTransaction, _ page: [Data], cutoff: Int64, report: inout GCResult)
        throws
    {
        let check = try db.cachedStatement(
            sql: """
                SELECT recipe FROM blobs WHERE blob = ? AND created < ?
                  AND NOT EXISTS (SELECT 1 FROM gc_live_blobs WHERE digest = blobs.blob)
                """)
        for d in page {
            guard let recipe = try Data.fetchOne(check, arguments: [d, cutoff]) else { continue }
            try db.execute(sql: "DELETE FROM blobs WHERE blob = ?", arguments: [d])
            if try Bool.fetchOne(db, sql: "SELECT 1 FROM blobs WHERE recipe = ?", arguments: [recipe]) != true
            {
                try db.execute(
                    sql: "INSERT INTO gc_doomed_objects (digest) VALUES (?) ON CONFLICT DO NOTHING", arguments: [recipe])
            }
            report.blobsFreed += 1
        }
    }

    private static func deleteChunks(
        _ db: any CatalogTransaction, _ page: [Data], cutoff: Int64, report: inout GCResult
    ) throws {
        let check = try db.cachedStatement(
            sql: """
                SELECT pack, stored_len, raw_len FROM chunks WHERE digest = ? AND touched < ? AND created < ?
                  AND NOT EXISTS (SELECT 1 FROM gc_live_chunks WHERE digest = chunks.digest)
                """)
        let delete = try db.cachedStatement(sql: "DELETE FROM chunks WHERE digest = ?")
        var perPack: [Int64: (n: Int, raw: Int64, stored: Int64)] = [:]
        for d in page {
            guard let row = try Row.fetchOne(check, arguments: [d, cutoff, cutoff]) else { continue }
            try delete.execute(arguments: [d])
            let pack: Int64 = row[0]
            let stored: Int64 = row[1]
            let raw: Int64 = row[2]
            var p = perPack[pack] ?? (0, 0, 0)
            p.n += 1
            p.raw += raw
            p.stored += stored
            perPack[pack] = p
            report.chunksFreed += 1
            report.chunkBytesFreed += stored
            report.rawBytesFreed += raw
        }
        for (pack, p) in perPack {
            try db.execute(
                sql: """
                    UPDATE packs SET chunks = chunks - ?, raw_bytes = raw_bytes - ?, stored_bytes = stored_bytes - ?
                    WHERE id = ?
                    """, arguments: [p.n, p.raw, p.stored, pack])
        }
    }

    /// Removes objects (files and catalog rows) whose rows a sweep deleted, holding the catalog
    /// write lock (a commit that needs one again takes it off the list in its own transaction,
    /// so the two never interleave).
    func unlinkDoomedObjects(_ report: inout GCResult) throws {
        while true {
            let n: Int = try catalog.write { db in
                let rows = try Data.fetchAll(db, sql: "SELECT digest FROM gc_doomed_objects LIMIT 1000")
                if rows.isEmpty { return 0 }
                try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
                for r in rows {
                    try db.execute(sql: "DELETE FROM gc_doomed_objects WHERE digest = ?", arguments: [r])
                    guard let d = Digest(data: r) else { continue }
                    // Still needed (committed again, or a live version's tree)? Keep it.
                    let used =
                        try Bool.fetchOne(
                            db,
                            sql: """
                                SELECT 1 WHERE EXISTS (SELECT 1 FROM blobs WHERE recipe = ?)
                                  OR EXISTS (SELECT 1 FROM trees WHERE digest = ?)
                                  OR EXISTS (SELECT 1 FROM versions WHERE tree = ? AND retired IS NULL)
                                """, arguments: [r, r, r]) == true
                    if used { continue }
                    let row = try Store.deleteInlineObject(db, r)
                    if try objectStorage.delete(d) || row { report.objectsFreed += 1 }
                }
                return rows.count
            }
            if n == 0 { return }
        }
    }

    /// Dry run: per pack, what the candidates would leave.
    private func estimateDryRun(_ report: inout GCResult, threshold: Double) throws {
        try catalog.read { db in
            let rows = try Row.fetchAll(
                db,
                sql: """
                    SELECT c.pack AS pack, COUNT(*) AS n, SUM(c.stored_len) AS stored, SUM(c.raw_len) AS raw
                    FROM gc_candidates g JOIN chunks c ON c.digest = g.digest WHERE g.kind = 0 GROUP BY c.pack
                    """)
            for r in rows {
                let pack: Int64 = r["pack"]
                let n: Int = r["n"]
                let stored: Int64 = r["stored"]
                let raw: Int64 = r["raw"]
                report.chunksFreed += n
                report.chunkBytesFreed += stored
                report.rawBytesFreed += raw
                guard
                    let p = try Row.fetchOne(
                        db, sql: "SELECT state, size, chunks, stored_bytes FROM packs WHERE id = ?",
                        arguments: [pack]),
                    (p["state"] as Int) == 1
                else { continue }
                let size: Int64 = p["size"]
                let left: Int = p["chunks"] - n
                let liveBytes: Int64 = p["stored_bytes"] - stored
                if left <= 0 {
                    report.packsDeleted += 1
                    report.packBytesDeleted += size
                } else if Double(liveBytes) < threshold * Double(size) {
                    report.packsRewritten += 1
                    report.packBytesDeleted += size
                    report.packBytesWritten += liveBytes + Int64(left * PackFormat.recordHeaderSize)
                }
            }
            report.blobsFreed = report.candidateBlobs
            report.treesFreed = report.candidateTrees
        }
        report.diskBytesFreed = report.packBytesDeleted - report.packBytesWritten
    }
}
