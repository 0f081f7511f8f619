import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Integrity scrub (docs/STORE.md, "Scrub"; docs/OPERATIONS.md): re-reads packs (records,
/// CRC-32C, decompression, SHA-256, trailers, index ↔ trailer agreement), objects (hash, parse,
/// references), and versions. Positively damaged chunks and objects are quarantined: taken out
/// of the index (so HAS reports them missing and the next push of that content stores them
/// again), copied to `quarantine/`, and the blobs and trees that need them are un-committed so
/// a re-push re-sends and re-verifies them. Missing data is only reported unless `repair`.
extension Store {
    /// Runs a scrub. Throws `.busy` if a GC or scrub is running, `.store` if it cannot run.
    public func scrub(_ options: ScrubOptions = ScrubOptions()) throws(MaintenanceError) -> ScrubResult {
        try MaintenanceLock.acquire(self, "scrub")
        defer { MaintenanceLock.release(self) }
        do {
            var s = Scrubber(store: self, options: options)
            let report = try s.run()
            recordMaintenance("scrub", ok: report.clean, report: report.json())
            return report
        } catch let e as MaintenanceError {
            throw e
        } catch let e as StoreError {
            throw .store(e)
        } catch {
            throw .store(.catalog("\(error)"))
        }
    }

    /// Takes a chunk out of service: copies what was read to quarantine/, records it, deletes
    /// its index row (if it still points at `pack`/`offset`) and bumps the GC epoch.
    func quarantineChunk(
        _ d: Digest, pack: Int64, packName: String, offset: Int, bytes: [UInt8]?, reason: String
    ) throws {
        var file: String? = nil
        if let bytes {
            let name = "chunk-\(d.hex)-\(packName)-\(offset)"
            let path = root + "/quarantine/" + name
            if (try? FileIO.writeDurably(bytes, to: path, tmpDir: tmpDir)) != nil { file = name }
        }
        let now = Clock.nowMillis()
        try catalog.write { db in
            guard
                let row = try Row.fetchOne(
                    db,
                    sql:
                        "SELECT stored_len, raw_len FROM chunks WHERE digest = ? AND pack = ? AND \"offset\" = ?",
                    arguments: [d.data, pack, offset])
            else { return }
            try db.execute(sql: "DELETE FROM chunks WHERE digest = ?", arguments: [d.data])
            try db.execute(
                sql: """
                    UPDATE packs SET chunks = chunks - 1, raw_bytes = raw_bytes - ?, stored_bytes = stored_bytes - ?
                    WHERE id = ?
                    """, arguments: [row["raw_len"] as Int64, row["stored_len"] as Int64, pack])
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
            try db.execute(
                sql: """
                    INSERT INTO quarantine (kind, digest, pack, "offset", reason, file, at)
                    VALUES ('chunk', ?, ?, ?, ?, ?, ?)
                    """, arguments: [d.data, packName, offset, reason, file, now])
        }
    }

    /// Moves a damaged object (its catalog row, and its file) to quarantine/ and records it.
    func quarantineObject(_ d: Digest, reason: String) throws {
        let name = "object-\(d.hex)-\(Clock.nowMillis())"
        let src = objectPath(d)
        let row = try quarantineInlineObject(d, name: name + "-row")
        var moved = false
        if objectStorage.isRemote {
            // Its bytes into quarantine/, then the object out of the object store.
            if let bytes = try? objectStorage.read(d, limit: options.maxObjectSize + 1024) {
                try FileIO.writeDurably(bytes, to: root + "/quarantine/" + name, tmpDir: tmpDir)
                moved = try objectStorage.delete(d)
            }
        } else if rename(src, root + "/quarantine/" + name) == 0 {
            moved = true
            try? FileIO.fsyncDirectory(root + "/quarantine")
            try? FileIO.fsyncDirectory(FileIO.parent(of: src))
        }
        let file = moved ? name : row
        let now = Clock.nowMillis()
        try catalog.write { db in
            try db.execute(sql: "UPDATE gc_state SET epoch = epoch + 1 WHERE id = 1")
            try db.execute(
                sql: "INSERT INTO quarantine (kind, digest, reason, file, at) VALUES ('object', ?, ?, ?, ?)",
                arguments: [d.data, reason, file, now])
        }
    }

    /// What scrub has quarantined so far, newest first: (kind, digest, reason).
    public func quarantineList() throws(StoreError) -> [(kind: String, digest: Digest, reason: String)] {
        try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT kind, digest, reason FROM quarantine ORDER BY id DESC")
                .compactMap {
                    guard let d = Digest(data: $0["digest"]) else { return nil }
                    return ($0["kind"], d, $0["reason"])
                }
        }
    }
}

/// A stable 64-bit hash (FNV-1a) for slicing.
func stableHash(_ s: String) -> UInt64 {
    var h: UInt64 = 0xcbf2_9ce4_8422_2325
    for b in s.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
    }
    return h
}

/// One scrub run.
struct Scrubber {
    let store: Store
    let options: ScrubOptions
    var report = ScrubResult()
    var runID: Int64 = 0
    var done = Set<String>()
    var rng = SystemRandomNumberGenerator()
    let verifier: RecordVerifier
    static let batchBytes = 16 << 20
    var started = Clock.nowMillis()
    /// Chunks removed from the index by this run; objects quarantined or found missing.
    var goneChunks = Set<Digest>()
    var badObjects = Set<Digest>()

    init(store: Store, options: ScrubOptions) {
        self.store = store
        self.options = options
        verifier = RecordVerifier(maxChunkSize: store.options.maxChunkSize)
    }

    var catalog: any CatalogDatabase { store.catalog }

    func inSlice(_ key: String) -> Bool {
        guard case .slice(let i, let n) = options.scope, n > 1 else { return true }
        return Int(stableHash(key) % UInt64(n)) == i - 1
    }

    mutating func sampled() -> Bool {
        guard case .sample(let ppm) = options.scope else { return true }
        return Int.random(in: 0..<1_000_000, using: &rng) < ppm
    }

    mutating func finding(
        _ kind: String, _ subject: String, pack: String? = nil, offset: Int? = nil, _ detail: String,
        action: String
    ) {
        report.findings.append(
            ScrubFinding(
                kind: kind, subject: subject, pack: pack, offset: offset, detail: detail, action: action))
    }

    mutating func throttle(_ bytes: Int) {
        report.bytesRead += Int64(bytes)
        guard options.rateBytesPerSecond > 0 else { return }
        let due = started + report.bytesRead * 1000 / options.rateBytesPerSecond
        let now = Clock.nowMillis()
        if due > now + 5 { usleep(useconds_t(min(due - now, 10_000) * 1000)) }
    }

    mutating func run() throws -> ScrubResult {
        report.mode = options.scope.description
        report.repair = options.repair
        report.startedAt = started
        try beginOrResume()
        let packs: [(id: Int64, name: String, size: Int, state: Int)] = try catalog.read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT id, name, size, state FROM packs
                    WHERE id NOT IN (SELECT pack FROM gc_retired_packs) ORDER BY name
                    """
            ).map { ($0["id"], $0["name"], $0["size"], $0["state"]) }
        }
        for p in packs where inSlice(p.name) {
            let unit = "pack:" + p.name
            if done.contains(unit) {
                report.unitsSkipped += 1
                continue
            }
            try checkPack(id: p.id, name: p.name, size: p.size, sealed: p.state == 1)
            try markDone(unit)
        }
        for shard in try store.objectShards() where inSlice("objects:" + shard) {
            let unit = "objects:" + shard
            if done.contains(unit) {
                report.unitsSkipped += 1
                continue
            }
            try checkObjectShard(shard)
            try markDone(unit)
        }
        try checkRows()
        try checkVersions()
        try checkBucketKeys()
        if !goneChunks.isEmpty || !badObjects.isEmpty
            || report.findings.contains(where: { $0.kind.hasSuffix("dangling") })
        {
            try uncommitAndName()
        }
        report.affectedBucketKeys = try damagedBucketKeys()
        report.damagedChunks = Array(Set(report.damagedChunks)).sorted()
        report.damagedObjects = Array(Set(report.damagedObjects)).sorted()
        try catalog.write { db in
            try db.execute(
                sql: "UPDATE scrub_runs SET finished = ? WHERE id = ?", arguments: [Clock.nowMillis(), runID])
            try db.execute(sql: "DELETE FROM scrub_done WHERE run = ?", arguments: [runID])
        }
        report.complete = true
        report.durationMs = Clock.nowMillis() - started
        return report
    }

    /// Continues the last unfinished run of the same mode (not for samples), else starts one.
    mutating func beginOrResume() throws {
        let mode = options.scope.description
        let resumable: Bool = if case .sample = options.scope { false } else { true }
        let now = started
        let (id, units): (Int64, [String]) = try catalog.write { db in
            if resumable,
                let id = try Int64.fetchOne(
                    db,
                    sql:
                        "SELECT id FROM scrub_runs WHERE mode = ? AND finished IS NULL ORDER BY id DESC LIMIT 1",
                    arguments: [mode])
            {
                return (
                    id,
                    try String.fetchAll(db, sql: "SELECT unit FROM scrub_done WHERE run = ?", arguments: [id])
                )
            }
            let id = try Int64.fetchOne(
                db, sql: "INSERT INTO scrub_runs (mode, started) VALUES (?, ?) RETURNING id", arguments: [mode, now])
            return (id!, [])
        }
        runID = id
        done = Set(units)
        report.resumed = !units.isEmpty
    }

    mutating func markDone(_ unit: String) throws {
        let id = runID
        try catalog.write { db in
            try db.execute(
                sql: "INSERT INTO scrub_done (run, unit) VALUES (?, ?) ON CONFLICT DO NOTHING", arguments: [id, unit])
        }
    }

    // MARK: Packs

    mutating func checkPack(id: Int64, name: String, size listedSize: Int, sealed listedSealed: Bool) throws {
        report.packsChecked += 1
        // The pack itself, or a local copy of a remote one (missing: reported below). A remote
        // storage that does not answer is not damage: the scrub fails and can run again.
        let path: String
        do { path = try store.packStorage.localFile(name: name) } catch {
            if case .packStorage = error, (try? store.packStorage.exists(name: name)) != false { throw error }
            path = store.packPath(name)
        }
        // Size, state and index entries from one snapshot: a pack being appended to gains
        // segments (and entries) while we look.
        var size = listedSize
        var sealed = listedSealed
        let rows: [PackEntry] = try catalog.read { db in
            if let p = try Row.fetchOne(
                db, sql: "SELECT size, state FROM packs WHERE id = ?", arguments: [id])
            {
                size = p["size"]
                sealed = (p["state"] as Int) == 1
            }
            return try Row.fetchAll(
                db,
                sql:
                    "SELECT digest, \"offset\", stored_len, raw_len, codec FROM chunks WHERE pack = ? ORDER BY \"offset\"",
                arguments: [id]
            ).map {
                PackEntry(
                    digest: Digest(data: $0["digest"]) ?? .zero, offset: $0["offset"],
                    rawLength: $0["raw_len"],
                    codec: Codec(rawValue: UInt8(clamping: $0["codec"] as Int)) ?? .raw,
                    storedLength: $0["stored_len"])
            }
        }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        // With remote storage a pack is stored before anything in it is indexed: an open one with
        // nothing indexed that is not here is another instance's in-progress pack (or what is
        // left of a lost instance's), not damage.
        if fd < 0 && store.packStorage.isRemote && !sealed && rows.isEmpty { return }
        guard fd >= 0 else {
            finding(
                "pack-missing", name, pack: name,
                "\(path) cannot be opened (\(String(cString: strerror(errno))))",
                action: options.repair ? "index-rows-dropped" : "reported")
            for r in rows { try missingChunk(r, packID: id, pack: name, "its pack file is missing") }
            return
        }
        defer { close(fd) }
        let seal: PackSeal?
        do { seal = try store.packSeal(name: name, fd: fd, path: path) } catch {
            // No key for it (nothing to quarantine: the bytes may well be intact) or a bad header.
            let keyMissing = if case .encryption = error { true } else { false }
            finding(
                keyMissing ? "pack-key-missing" : "pack-damaged", name, pack: name, "\(error)", action: "reported")
            return
        }
        let fileSize = (try? FileIO.fileSize(fd, path)) ?? 0
        if fileSize < size || (sealed && fileSize != size) {
            finding(
                "pack-damaged", name, pack: name, "file is \(fileSize) bytes, the catalog says \(size)",
                action: "reported")
        }
        var trailer: [Int: PackEntry]? = nil
        do {
            let entries = try PackScanner.readTrailers(fd, path, size: min(size, fileSize), seal: seal)
            var map: [Int: PackEntry] = [:]
            for e in entries { map[e.offset] = e }
            trailer = map
            // Pack → index: trailer records nothing indexes here (GC garbage, not damage).
            let indexed = Set(rows.map(\.digest))
            report.unindexedRecords += entries.filter { !indexed.contains($0.digest) }.count
        } catch {
            finding("pack-damaged", name, pack: name, "trailers: \(error)", action: "reported")
        }
        // Records to verify, in offset order; the rest are reported here.
        var todo: [PackEntry] = []
        for r in rows {
            guard sampled() else { continue }
            report.chunksChecked += 1
            if let trailer, trailer[r.offset] != r {
                try mismatch(r, packID: id, pack: name, "no matching trailer entry at offset \(r.offset)")
                continue
            }
            let len = PackFormat.recordHeaderSize + r.storedLength
            guard r.storedLength <= PackFormat.maxRecordLength, r.offset + len <= fileSize else {
                try missingChunk(
                    r, packID: id, pack: name, "record at \(r.offset) runs past the end of the file")
                continue
            }
            todo.append(r)
        }
        // Batches of ~16 MiB: one pread each, records verified in parallel.
        var i = 0
        while i < todo.count {
            let first = todo[i].offset
            var j = i
            var end = first
            while j < todo.count && (j == i || end - first < Scrubber.batchBytes) {
                end = max(end, todo[j].offset + PackFormat.recordHeaderSize + todo[j].storedLength)
                j += 1
            }
            let batch = Array(todo[i..<j])
            let buffer: [UInt8]
            do { buffer = try FileIO.pread(fd, count: end - first, at: first, path) } catch {
                for r in batch { try missingChunk(r, packID: id, pack: name, "cannot read: \(error)") }
                i = j
                continue
            }
            throttle(end - first)
            let problems = verifier.verify(buffer, base: first, batch, seal: seal)
            for (k, problem) in problems.enumerated() {
                guard let problem else { continue }
                let r = batch[k]
                let s = r.offset - first + PackFormat.recordHeaderSize
                try corruptChunk(r, packID: id, pack: name, Array(buffer[s..<(s + r.storedLength)]), problem)
            }
            i = j
        }
    }

    mutating func corruptChunk(_ e: PackEntry, packID: Int64, pack: String, _ bytes: [UInt8], _ why: String)
        throws
    {
        finding("chunk-corrupt", e.digest.prefixed, pack: pack, offset: e.offset, why, action: "quarantined")
        report.damagedChunks.append(e.digest.prefixed)
        try store.quarantineChunk(
            e.digest, pack: packID, packName: pack, offset: e.offset, bytes: bytes, reason: why)
        report.quarantined += 1
        goneChunks.insert(e.digest)
    }

    mutating func missingChunk(_ e: PackEntry, packID: Int64, pack: String, _ why: String) throws {
        try unreadableChunk("chunk-missing", e, packID: packID, pack: pack, why)
    }

    mutating func mismatch(_ e: PackEntry, packID: Int64, pack: String, _ why: String) throws {
        try unreadableChunk("index-mismatch", e, packID: packID, pack: pack, why)
    }

    /// A chunk whose bytes cannot be trusted or found: reported, and with `--repair` its index
    /// row is dropped (quarantined without bytes).
    mutating func unreadableChunk(_ kind: String, _ e: PackEntry, packID: Int64, pack: String, _ why: String)
        throws
    {
        finding(
            kind, e.digest.prefixed, pack: pack, offset: e.offset, why,
            action: options.repair ? "index-row-dropped" : "reported")
        report.damagedChunks.append(e.digest.prefixed)
        if options.repair {
            try store.quarantineChunk(
                e.digest, pack: packID, packName: pack, offset: e.offset, bytes: nil, reason: why)
            report.quarantined += 1
            goneChunks.insert(e.digest)
        }
    }
}
