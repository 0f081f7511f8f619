import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Pack rewriting and removal for GC (docs/STORE.md, "GC").
///
/// A sparse pack's live records are copied into a new pack, segment by segment: each segment is
/// `fdatasync`ed before the index rows move to it (one transaction per segment), so every index
/// entry always points into a durable, sealed segment (I3). The output pack is registered as
/// `open` while it is written, so a crash leaves it to recovery (torn tail cut, sealed). A pack
/// with no indexed chunk left is retired; after `packRemovalDelay` its catalog row is deleted
/// (its name goes to `gc_dead_packs`) and then the file is unlinked. A crash between the two
/// leaves a file recovery re-registers: extra garbage the next GC collects, never lost data.
extension Store {
    /// Segments of the rewrite output are cut at about this many stored bytes.
    static let rewriteSegmentBytes = 8 << 20

    func rewritePacks(threshold: Double, report: inout GCResult) throws {
        let packs: [(id: Int64, name: String, size: Int64, chunks: Int, stored: Int64)] = try catalog.read {
            db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, name, size, chunks, stored_bytes FROM packs
                    WHERE state = 1 AND id NOT IN (SELECT pack FROM gc_retired_packs) ORDER BY id
                    """
            ).map { ($0["id"], $0["name"], $0["size"], $0["chunks"], $0["stored_bytes"]) }
        }
        var output: GroupCommit.Writer? = nil
        defer { if let w = output { close(w.fd) } }
        let segments = SegmentWriter()
        for p in packs {
            if p.chunks == 0 {
                try retireIfEmpty(pack: p.id, name: p.name)
                continue
            }
            let live = p.stored + Int64(p.chunks * PackFormat.recordHeaderSize)
            guard Double(live) < threshold * Double(p.size) else { continue }
            // A rewrite needs room for the live bytes (the old pack goes only at the end) on
            // top of the floor; short of that, the pack stays as it is.
            let free = freeBytes
            let needed = live + Int64(options.minFreeSpace) + Int64(PackFormat.headerSize) + (1 << 20)
            if free >= 0 && free < needed {
                report.packsSkippedForSpace += 1
                continue
            }
            if output == nil { output = try createPack() }
            let ok: Bool
            do {
                ok = try copyLiveRecords(
                    from: p.id, name: p.name, into: &output!, segments: segments, report: &report)
            } catch let e as StoreError {
                // Out of space mid-copy: the output keeps its durable segments, sealed as they are.
                if case .noSpace = e, ftruncate(output!.fd, off_t(output!.size)) == 0 {
                    try sealOutput(output!)
                }
                throw e
            }
            if !ok {
                report.packsSkippedDamaged.append(p.name)
                continue
            }
            report.packsRewritten += 1
            try retireIfEmpty(pack: p.id, name: p.name)
            if output!.size >= options.packSize {
                // (Remote storage seals and stores every segment's pack in copyRecords.)
                try sealOutput(output!)
                close(output!.fd)
                output = nil
            }
        }
        if let w = output {
            // Remote: the fresh pack after the last stored segment holds only its header; it is
            // stored too, so every sealed pack the catalog lists exists remotely.
            if packStorage.isRemote { try packStorage.storeSealed(name: w.name, localPath: w.path) }
            try sealOutput(w)
            phase2("sealed")
        }
    }

    private func phase2(_ name: String) { MaintenanceTestHooks.gcPhase?(self, name) }

    private func sealOutput(_ w: GroupCommit.Writer) throws {
        let (id, size) = (w.id, w.size)
        try catalog.write { db in try Store.refreshPackCounters(db, pack: id, size: size, state: 1) }
    }

    /// Copies the records the index still points at in `pack` into `w`. Returns false (moving
    /// nothing more) if a record fails its CRC-32C check.
    private func copyLiveRecords(
        from pack: Int64, name: String, into w: inout GroupCommit.Writer, segments: borrowing SegmentWriter,
        report: inout GCResult
    ) throws -> Bool {
        // Pages of index entries in (pack, digest) index order: memory stays bounded by the page
        // and one segment, however many tiny records a pack holds.
        var last = Data()
        while true {
            let entries: [PackEntry] = try catalog.read { db in
                try Row.fetchAll(
                    db,
                    sql: """
                        SELECT digest, "offset", stored_len, raw_len, codec FROM chunks
                        WHERE pack = ? AND digest > ? ORDER BY digest LIMIT 4096
                        """,
                    arguments: [pack, last]
                ).compactMap { r in
                    guard let d = Digest(data: r["digest"]),
                        let c = Codec(rawValue: UInt8(clamping: r["codec"] as Int))
                    else { return nil }
                    return PackEntry(
                        digest: d, offset: r["offset"], rawLength: r["raw_len"], codec: c,
                        storedLength: r["stored_len"])
                }
            }
            guard let end = entries.last else { return true }
            last = end.digest.data
            guard try copyRecords(entries, from: pack, into: &w, segments: segments, report: &report) else {
                return false
            }
        }
    }

    /// Copies `entries` (records of `pack`) into `w` as segments of about 8 MiB, each made
    /// durable before the index rows move to it. False if a record fails its CRC-32C check.
    private func copyRecords(
        _ entries: [PackEntry], from pack: Int64, into w: inout GroupCommit.Writer,
        segments: borrowing SegmentWriter, report: inout GCResult
    ) throws -> Bool {
        var i = 0
        while i < entries.count {
            var group: [VerifiedChunk] = []
            var bytes = 0
            while i < entries.count && (group.isEmpty || bytes < Store.rewriteSegmentBytes) {
                let e = entries[i]
                let stored: [UInt8]
                do { stored = try readRecord(pack: pack, entry: e) } catch {
                    if case .corruptData = error { return false }
                    throw error
                }
                group.append(
                    VerifiedChunk(
                        digest: e.digest, codec: e.codec, rawLength: e.rawLength, stored: stored))
                bytes += stored.count
                i += 1
            }
            let placed: [PackEntry]
            let end: Int
            let seal = try writeSeal(w.name)
            do {
                (placed, end) = try segments.append(group, fd: w.fd, path: w.path, start: w.size, seal: seal)
                guard fdatasync(w.fd) == 0 else {
                    throw StoreError.io(op: "fdatasync", path: w.path, errno: errno)
                }
            } catch let e as StoreError {
                throw fail(e)
            }
            report.packBytesWritten += Int64(end - w.size)
            w.size = end
            // Remote pack storage: the output is sealed and stored before index rows move to it.
            if packStorage.isRemote { try packStorage.storeSealed(name: w.name, localPath: w.path) }
            let (out, newSize) = (w.id, w.size)
            phase2("switch")
            try catalog.write { db in
                try db.execute(sql: "UPDATE packs SET size = ? WHERE id = ?", arguments: [newSize, out])
                let move = try db.cachedStatement(
                    sql: "UPDATE chunks SET pack = ?, \"offset\" = ? WHERE digest = ? AND pack = ?")
                var (n, raw, stored) = (0, 0, 0)
                for e in placed {
                    try move.execute(arguments: [out, e.offset, e.digest.data, pack])
                    guard db.changesCount > 0 else { continue }
                    n += 1
                    raw += e.rawLength
                    stored += e.storedLength
                }
                // Counters move with the rows (incrementally: no scan of the pack per segment).
                for (id, sign) in [(out, 1), (pack, -1)] {
                    try db.execute(
                        sql: """
                            UPDATE packs SET chunks = chunks + ?, raw_bytes = raw_bytes + ?,
                              stored_bytes = stored_bytes + ? WHERE id = ?
                            """, arguments: [sign * n, sign * raw, sign * stored, id])
                }
            }
            if packStorage.isRemote {
                try sealOutput(w)
                close(w.fd)
                w = try createPack()
            }
        }
        return true
    }

    /// Retires `pack` if no index entry points into it any more.
    private func retireIfEmpty(pack: Int64, name: String) throws {
        let now = Clock.nowMillis()
        try catalog.write { db in
            guard
                try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE pack = ?", arguments: [pack])
                    == 0
            else { return }
            try db.execute(
                sql: """
                    INSERT INTO gc_retired_packs (pack, name, retired_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING
                    """,
                arguments: [pack, name, now])
        }
    }

    /// Deletes retired packs whose delay has passed (waiting for it if `wait`): catalog row
    /// first, then the file.
    func removeRetiredPacks(delay: Double, wait: Bool, report: inout GCResult) throws {
        let retired: [(id: Int64, name: String, at: Int64)] = try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT pack, name, retired_at FROM gc_retired_packs ORDER BY pack").map
            {
                ($0["pack"], $0["name"], $0["retired_at"])
            }
        }
        guard !retired.isEmpty else { return }
        let delayMs = Int64(max(0, delay) * 1000)
        if wait, let latest = retired.map(\.at).max() {
            let due = latest + delayMs
            let now = Clock.nowMillis()
            if due > now { usleep(useconds_t(min(due - now, 600_000) * 1000)) }
        }
        let now = Clock.nowMillis()
        var removed: [(Int64, String)] = []
        for r in retired where r.at + delayMs <= now {
            try catalog.write { db in
                try db.execute(sql: "DELETE FROM gc_retired_packs WHERE pack = ?", arguments: [r.id])
                // Re-used meanwhile (should not happen: sealed packs are never appended to)? Keep it.
                guard
                    try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE pack = ?", arguments: [r.id])
                        == 0
                else { return }
                try db.execute(sql: "DELETE FROM packs WHERE id = ?", arguments: [r.id])
                try db.execute(
                    sql: "INSERT INTO gc_dead_packs (name) VALUES (?) ON CONFLICT DO NOTHING", arguments: [r.name])
                removed.append((r.id, r.name))
            }
            phase2("remove-pack")
        }
        state.withLock { s in
            for (id, _) in removed { s.packNames.removeValue(forKey: id) }
        }
        report.packsPendingRemoval = retired.count - removed.count
        try removeDeadPacks(&report)
    }

    /// Unlinks pack files whose catalog row is gone (unless recovery re-registered the name).
    func removeDeadPacks(_ report: inout GCResult) throws {
        let names: [String] = try catalog.read { db in
            try String.fetchAll(db, sql: "SELECT name FROM gc_dead_packs")
        }
        for name in names {
            let registered = try catalog.read { db in
                try Bool.fetchOne(db, sql: "SELECT 1 FROM packs WHERE name = ?", arguments: [name]) == true
            }
            if !registered {
                let freed = try packStorage.delete(name: name)
                if freed > 0 {
                    report.packsDeleted += 1
                    report.packBytesDeleted += freed
                }
            }
            phase2("unlinked-pack")
            try catalog.write { db in
                try db.execute(sql: "DELETE FROM gc_dead_packs WHERE name = ?", arguments: [name])
            }
        }
    }
}
