import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// Rebuilds the chunk index from pack trailers alone: every entry is deleted, then every
    /// record of every sealed segment of every known pack is indexed again (the first pack in
    /// id order wins for a digest stored twice). Returns the number of entries. Safe while
    /// writes continue (it runs inside one catalog write transaction).
    @discardableResult
    public func rebuildChunkIndex() throws(StoreError) -> Int {
        try checkWritable()
        let now = Clock.nowMillis()
        return try catalog.write { db in
            // Read trailers inside the write transaction: flushes index their segments in a
            // write transaction too, so the sizes read here cover every indexed record.
            var perPack: [(Int64, Int, [PackEntry])] = []
            for row in try Row.fetchAll(db, sql: "SELECT id, name, size FROM packs ORDER BY id") {
                let id: Int64 = row["id"]
                let name: String = row["name"]
                let size: Int = row["size"]
                let path = try self.packStorage.localFile(name: name)
                let fd = try FileIO.open(path, O_RDONLY)
                defer { close(fd) }
                let seal = try self.packSeal(name: name, fd: fd, path: path)
                perPack.append((id, size, try PackScanner.readTrailers(fd, path, size: size, seal: seal)))
            }
            try db.execute(sql: "DELETE FROM chunks")
            for (id, _, entries) in perPack {
                var rows = [CatalogValue]()
                rows.reserveCapacity(entries.count * CatalogBulkInsert.chunks.columns.count)
                for e in entries { rows.appendChunkRow(e, pack: id, now: now) }
                try db.insertRows(.chunks, values: rows)
            }
            for (id, size, _) in perPack {
                let state =
                    try Int.fetchOne(db, sql: "SELECT state FROM packs WHERE id = ?", arguments: [id]) ?? 1
                try Store.refreshPackCounters(db, pack: id, size: size, state: state)
            }
            return try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks") ?? 0
        }
    }

    /// Every index entry as (digest, pack id, offset, stored length, raw length, codec), sorted
    /// by digest; for tests comparing a rebuilt index with the original.
    public func indexSnapshot() throws(StoreError) -> [String] {
        try catalog.read { db in
            try Row.fetchAll(
                db, sql: "SELECT digest, pack, \"offset\", stored_len, raw_len, codec FROM chunks ORDER BY digest"
            ).map { r in
                let d = Digest(data: r["digest"])?.hex ?? "?"
                let pack: Int64 = r["pack"]
                let offset: Int64 = r["offset"]
                let stored: Int64 = r["stored_len"]
                let raw: Int64 = r["raw_len"]
                let codec: Int64 = r["codec"]
                return "\(d) \(pack) \(offset) \(stored) \(raw) \(codec)"
            }
        }
    }
}
