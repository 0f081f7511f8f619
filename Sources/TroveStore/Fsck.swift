import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// One problem `fsck` found.
public struct FsckViolation: Sendable, Hashable, CustomStringConvertible {
    public enum Kind: String, Sendable, Hashable {
        /// A pack the catalog lists is missing.
        case packMissing
        /// A pack's header, trailers or size do not verify.
        case packDamaged
        /// An index entry does not match a sealed record in its pack (I3).
        case indexMismatch
        /// A chunk's bytes fail CRC, decompression or re-hash (I3, deep only).
        case chunkCorrupt
        /// An object file is unreadable, truncated or does not hash to its name.
        case objectCorrupt
        /// An object the catalog relies on is missing.
        case objectMissing
        /// A recipe references a chunk that is not indexed, or with the wrong length (I2).
        case danglingChunk
        /// A tree references a blob with no committed recipe (I2).
        case danglingBlob
        /// A version's tree is not committed or unreadable (I1), or a parent is missing.
        case danglingVersion
        /// An alias points at a missing, retired or other-name version.
        case danglingAlias
        /// The ref log's hash chain is broken.
        case refLogBroken
    }

    public var kind: Kind
    public var subject: String
    public var detail: String

    public var description: String { "\(kind.rawValue): \(subject): \(detail)" }
}

/// What `fsck` checked and found.
public struct FsckReport: Sendable {
    public var violations: [FsckViolation] = []
    /// Harmless findings (e.g. records no index entry points at, orphan objects after a crash).
    public var warnings: [String] = []
    public var packs = 0
    public var chunks = 0
    public var objects = 0
    public var versions = 0
    public var refLogRecords = 0
    public var deep = false

    /// No violations.
    public var isClean: Bool { violations.isEmpty }
}

extension Store {
    /// Checks invariants I1–I3 and the ref-log chain. `deep` also re-reads every chunk
    /// (CRC-32C, decompress, SHA-256). Read-only; safe while the store is in use (it may then
    /// report records written after it listed the packs as warnings).
    public func fsck(deep: Bool = false) throws(StoreError) -> FsckReport {
        var report = FsckReport()
        report.deep = deep
        try checkPacksAndIndex(&report, deep: deep)
        let objects = try checkObjects(&report)
        try checkRefs(&report, trees: objects.trees)
        return report
    }

    func checkPacksAndIndex(_ report: inout FsckReport, deep: Bool) throws(StoreError) {
        let packs: [(id: Int64, name: String, state: Int, size: Int)] = try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT id, name, state, size FROM packs ORDER BY id").map {
                ($0["id"], $0["name"], $0["state"], $0["size"])
            }
        }
        let packIDs = Set(packs.map(\.id))
        let sha = SHA256()
        for p in packs {
            report.packs += 1
            // The pack itself, or a local copy of a remote one (missing: reported below).
            let path = (try? packStorage.localFile(name: p.name)) ?? packPath(p.name)
            let rows: [PackEntry] = try catalog.read { db in
                try Row.fetchAll(
                    db,
                    sql:
                        "SELECT digest, \"offset\", stored_len, raw_len, codec FROM chunks WHERE pack = ? ORDER BY \"offset\"",
                    arguments: [p.id]
                ).map {
                    PackEntry(
                        digest: Digest(data: $0["digest"]) ?? .zero, offset: $0["offset"],
                        rawLength: $0["raw_len"],
                        codec: Codec(rawValue: UInt8(clamping: $0["codec"] as Int)) ?? .raw,
                        storedLength: $0["stored_len"])
                }
            }
            report.chunks += rows.count
            let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC)
            if fd < 0 && packStorage.isRemote && p.state == 0 && rows.isEmpty {
                // A pack an instance opened and had not stored yet: with remote storage nothing
                // in it is acknowledged before it is stored. The instance is still writing it, or
                // it was lost (SIGKILL, its disk gone) and the row is all that is left.
                report.warnings.append(
                    "pack \(p.name) is open with nothing indexed and stored nowhere (an instance writing it, "
                        + "or one lost before storing it: nothing acknowledged is missing)")
                continue
            }
            guard fd >= 0 else {
                report.violations.append(
                    .init(kind: .packMissing, subject: p.name, detail: "\(path) cannot be opened"))
                for r in rows {
                    report.violations.append(
                        .init(
                            kind: .indexMismatch, subject: r.digest.prefixed,
                            detail: "its pack \(p.name) is missing"))
                }
                continue
            }
            defer { close(fd) }
            var trailer: [PackEntry]
            let fileSize = (try? FileIO.fileSize(fd, path)) ?? 0
            if fileSize < p.size || (p.state == 1 && fileSize != p.size) {
                report.violations.append(
                    .init(
                        kind: .packDamaged, subject: p.name,
                        detail: "file is \(fileSize) bytes, catalog says \(p.size)"))
            }
            var seal: PackSeal? = nil
            do {
                seal = try packSeal(name: p.name, fd: fd, path: path)
                trailer = try PackScanner.readTrailers(fd, path, size: min(p.size, fileSize), seal: seal)
            } catch {
                report.violations.append(.init(kind: .packDamaged, subject: p.name, detail: "\(error)"))
                trailer = (try? PackScanner.scanForward(fd, path, seal: seal).entries) ?? []
            }
            var byOffset: [Int: PackEntry] = [:]
            for e in trailer { byOffset[e.offset] = e }
            var indexed = Set<Digest>()
            for r in rows {
                indexed.insert(r.digest)
                guard let t = byOffset[r.offset], t == r else {
                    report.violations.append(
                        .init(
                            kind: .indexMismatch, subject: r.digest.prefixed,
                            detail: "no matching sealed record at \(p.name) offset \(r.offset)"))
                    continue
                }
                if deep {
                    do {
                        let raw = try rawBytes(pack: p.id, entry: r)
                        let h = raw.withUnsafeBytes { sha.hash($0) }
                        if h != r.digest {
                            report.violations.append(
                                .init(
                                    kind: .chunkCorrupt, subject: r.digest.prefixed,
                                    detail: "content hashes to \(h)"))
                        }
                    } catch {
                        report.violations.append(
                            .init(kind: .chunkCorrupt, subject: r.digest.prefixed, detail: "\(error)"))
                    }
                }
            }
            let unindexed = trailer.filter { !indexed.contains($0.digest) }.map(\.digest)
            if !unindexed.isEmpty {
                let elsewhere = (try? presentSet(unindexed)) ?? []
                let orphans = unindexed.filter { !elsewhere.contains($0) }
                if !orphans.isEmpty {
                    report.warnings.append("\(orphans.count) record(s) in pack \(p.name) are not indexed")
                }
            }
        }
        let strays: Int = try catalog.read { db in
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE pack NOT IN (SELECT id FROM packs)")
                ?? 0
        }
        if strays > 0 {
            report.violations.append(
                .init(
                    kind: .indexMismatch, subject: "chunk index",
                    detail: "\(strays) entries point at unknown packs"))
        }
        _ = packIDs
    }

    func checkObjects(_ report: inout FsckReport) throws(StoreError) -> (
        trees: Set<Digest>, recipes: Set<Digest>
    ) {
        var trees = Set<Digest>()
        var recipes = Set<Digest>()
        var blobsInTrees: [(Digest, String, Digest)] = []
        var chunkRefs: [(chunk: RecipeChunk, recipe: Digest)] = []
        func check(_ d: Digest, _ read: (Digest) throws(StoreError) -> [UInt8]?) {
            report.objects += 1
            let bytes: [UInt8]
            do {
                guard let b = try read(d) else { return }
                bytes = b
            } catch {
                report.violations.append(.init(kind: .objectCorrupt, subject: d.prefixed, detail: "\(error)"))
                return
            }
            if let r = try? Recipe(canonical: bytes) {
                recipes.insert(d)
                for c in r.chunks { chunkRefs.append((c, d)) }
            } else if let t = try? Tree(canonical: bytes) {
                trees.insert(d)
                for e in t.entries where e.kind == .file { blobsInTrees.append((e.blob!, e.path, d)) }
            } else {
                report.violations.append(
                    .init(kind: .objectCorrupt, subject: d.prefixed, detail: "neither a valid recipe nor a tree"))
            }
        }
        let listing = try objectStorage.list(shard: nil)
        for stray in listing.strays {
            report.objects += 1
            report.warnings.append("stray file \(stray)")
        }
        for d in listing.digests {
            check(d) { (d) throws(StoreError) -> [UInt8]? in try readObjectFile(d) }
        }
        // Small recipes kept in the catalog (Store+InlineObjects.swift).
        for d in try inlineObjectDigests() {
            check(d) { (d) throws(StoreError) -> [UInt8]? in
                guard let stored = try inlineObjectBytes(d) else { return nil }
                return try decodeObject(stored, d)
            }
        }
        // I2: recipes reference indexed chunks of the right length.
        let lengths: [Digest: Int] = try catalog.read { db in
            var out: [Digest: Int] = [:]
            let st = try db.cachedStatement(sql: "SELECT raw_len FROM chunks WHERE digest = ?")
            for (c, _) in chunkRefs where out[c.digest] == nil {
                if let l = try Int.fetchOne(st, arguments: [c.digest.data]) { out[c.digest] = l }
            }
            return out
        }
        // Catalog blobs → recipe objects; tree entries → blobs.
        let blobRows: [(Digest, Digest)] = try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT blob, recipe FROM blobs").map {
                (Digest(data: $0["blob"]) ?? .zero, Digest(data: $0["recipe"]) ?? .zero)
            }
        }
        let committedRecipes = Set(blobRows.map(\.1))
        var orphanRefs = 0
        for (c, r) in chunkRefs {
            // Recipes stored ahead of a commit (never committed) may reference chunks that were
            // never sent; only committed recipes must satisfy I2.
            guard committedRecipes.contains(r) else {
                if lengths[c.digest] != Int(c.length) { orphanRefs += 1 }
                continue
            }
            guard let l = lengths[c.digest] else {
                report.violations.append(
                    .init(
                        kind: .danglingChunk, subject: c.digest.prefixed,
                        detail: "referenced by recipe \(r), not indexed"))
                continue
            }
            if l != Int(c.length) {
                report.violations.append(
                    .init(
                        kind: .danglingChunk, subject: c.digest.prefixed,
                        detail: "recipe \(r) says \(c.length) bytes, index \(l)"))
            }
        }
        if orphanRefs > 0 {
            report.warnings.append("\(orphanRefs) chunk reference(s) of uncommitted recipes are not indexed")
        }
        var blobs = Set<Digest>()
        for (b, r) in blobRows {
            blobs.insert(b)
            if !recipes.contains(r) {
                report.violations.append(
                    .init(
                        kind: .objectMissing, subject: r.prefixed,
                        detail: "recipe of blob \(b) is missing or corrupt"))
            }
        }
        let treeRows: [Digest] = try catalog.read { db in
            try Data.fetchAll(db, sql: "SELECT digest FROM trees").compactMap(Digest.init(data:))
        }
        let committedTrees = Set(treeRows)
        for (b, path, tree) in blobsInTrees where !blobs.contains(b) && committedTrees.contains(tree) {
            report.violations.append(
                .init(
                    kind: .danglingBlob, subject: b.prefixed, detail: "file \(path) has no committed recipe"))
        }
        for t in treeRows where !trees.contains(t) {
            report.violations.append(
                .init(
                    kind: .objectMissing, subject: t.prefixed, detail: "committed tree is missing or corrupt")
            )
        }
        return (trees.intersection(treeRows), recipes)
    }

    func checkRefs(_ report: inout FsckReport, trees: Set<Digest>) throws(StoreError) {
        let versions = try listVersions(includeRetired: true)
        var live = Set<VersionKey>()
        var all = Set<VersionKey>()
        for v in versions {
            report.versions += 1
            all.insert(v.key)
            if v.retired == nil { live.insert(v.key) }
        }
        for v in versions {
            if v.retired == nil && !trees.contains(v.tree) {
                report.violations.append(
                    .init(
                        kind: .danglingVersion, subject: v.key.description,
                        detail: "tree \(v.tree) is not committed or unreadable"))
            }
            for p in v.parents where !all.contains(p) {
                report.violations.append(
                    .init(
                        kind: .danglingVersion, subject: v.key.description, detail: "parent \(p) is missing"))
            }
        }
        let aliasRows: [(String, String, String)] = try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT name, alias, version FROM aliases").map {
                ($0["name"], $0["alias"], $0["version"])
            }
        }
        for (n, a, v) in aliasRows where !live.contains(VersionKey(name: n, version: v)) {
            report.violations.append(
                .init(
                    kind: .danglingAlias, subject: "\(n):\(a)", detail: "points at \(v), not a live version"))
        }
        var previous = Digest.zero
        var expectedSeq: Int64 = 1
        for e in try refLog() {
            report.refLogRecords += 1
            let h = Store.refLogHash(
                previous: e.previousHash, seq: e.seq, at: e.at, actor: e.actor, op: e.op, name: e.name,
                tag: e.tag,
                from: e.from, to: e.to, detail: e.detail)
            if e.seq != expectedSeq || e.previousHash != previous || h != e.hash {
                report.violations.append(
                    .init(
                        kind: .refLogBroken, subject: "ref log #\(e.seq)",
                        detail: "sequence or hash chain does not verify"))
            }
            previous = e.hash
            expectedSeq = e.seq + 1
        }
    }
}
