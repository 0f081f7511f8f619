import Foundation
import TroveCore

/// Object files: `objects/ab/<62 hex>` holding `"TOBJ"`, codec (u8), raw length (u64), then the
/// canonical bytes in that codec (zstd unless compression does not pay).
enum ObjectFile {
    static let magic: [UInt8] = Array("TOBJ".utf8)
    static let headerSize = 13

    /// The file's bytes; with `cipher`, sealed (`StoreCipher.sealObject`).
    static func encode(_ canonical: [UInt8], compressor: ChunkCompressor, cipher: StoreCipher?, digest: Digest)
        -> [UInt8]
    {
        let plain = canonical.withUnsafeBytes { raw in
            compressor.compress(raw) { codec, stored in
                var w = ByteBuffer(capacity: headerSize + stored.count)
                w.raw(magic)
                w.u8(codec.rawValue)
                w.u64(UInt64(canonical.count))
                w.raw(stored)
                return w.bytes
            }
        }
        return cipher?.sealObject(plain, digest: digest) ?? plain
    }
}

extension Store {
    /// Writes objects durably. Small recipes (`InlineObjects`) become catalog rows, all in one
    /// transaction; the others files (`writeObjectFiles`). Objects already present are kept.
    /// Returns the GC epoch the rows' transaction saw (nil: no rows), for `CommitHints.stagedRows`.
    @discardableResult
    func writeObjects(_ objects: [(Digest, [UInt8])]) throws(StoreError) -> Int64? {
        try checkWritable()
        try checkSpace(objects.reduce(0) { $0 + $1.1.count })
        let inline = objects.filter { InlineObjects.accepts($0.1) }
        try writeObjectFiles(objects.filter { !InlineObjects.accepts($0.1) })
        guard !inline.isEmpty else { return nil }
        let now = Clock.nowMillis()
        return try catalog.write { db in
            try Store.insertInlineObjects(db, inline, now: now, cipher: self.cipher, direct: self.options.directRows)
            return try Store.gcEpoch(db)
        }
    }

    /// Writes objects durably through the object storage (local files: tmp → fsync → rename →
    /// fsync of each touched directory; S3: one write-once PUT each), all before returning.
    /// Objects already present that read back intact are kept. The one place objects are encoded.
    func writeObjectFiles(_ objects: [(Digest, [UInt8])]) throws(StoreError) {
        guard !objects.isEmpty else { return }
        try checkWritable()
        let compressor = ChunkCompressor(codec: config.codec == .raw ? .raw : .zstd, level: config.level)
        let encoded = objects.map { (digest: $0.0, bytes: ObjectFile.encode($0.1, compressor: compressor, cipher: cipher, digest: $0.0)) }
        do {
            try objectStorage.store(encoded) { d, stored in (try? decodeObject(stored, d)) != nil }
        } catch .packStorage(let m) {
            // The object store failed (an outage): nothing acknowledged, and not a local
            // durability failure, so the store stays writable and the client retries.
            throw .packStorage(m)
        } catch {
            throw fail(error)
        }
    }

    /// The canonical bytes of an object, decompressed and verified against its digest (I6):
    /// from the catalog (small recipes), else from its file.
    public func readObject(_ digest: Digest) throws(StoreError) -> [UInt8] {
        if let stored = try inlineObjectBytes(digest) {
            do { return try decodeObject(stored, digest) } catch {
                // A damaged row with an intact file (written before the row) still reads.
                if let canonical = try? readObjectFile(digest) { return canonical }
                throw error
            }
        }
        guard let canonical = try readObjectFile(digest) else { throw .objectNotFound(digest) }
        return canonical
    }

    /// An object's canonical bytes from the object storage, verified; nil if it is not stored.
    /// The one place stored objects are read (a local copy that does not verify is fetched again).
    func readObjectFile(_ digest: Digest) throws(StoreError) -> [UInt8]? {
        let limit = options.maxObjectSize + 1024
        guard let stored = try objectStorage.read(digest, limit: limit) else { return nil }
        do { return try decodeObject(stored, digest) } catch {
            guard objectStorage.dropCopy(digest) else { throw error }
            guard let again = try objectStorage.read(digest, limit: limit) else { return nil }
            return try decodeObject(again, digest)
        }
    }

    /// Decodes an object file's bytes (or a catalog row's, the same form; sealed in an
    /// encrypted store) and checks the digest.
    func decodeObject(_ stored: [UInt8], _ digest: Digest) throws(StoreError) -> [UInt8] {
        let file = try cipher?.openObject(stored, digest: digest) ?? stored
        guard file.count >= ObjectFile.headerSize, Array(file[0..<4]) == ObjectFile.magic,
            let codec = Codec(rawValue: file[4])
        else { throw .corruptData(what: "object \(digest)", detail: "bad object header") }
        let rawLen = file.withUnsafeBytes { $0.beU64(5) }
        guard rawLen <= UInt64(options.maxObjectSize) else {
            throw .corruptData(what: "object \(digest)", detail: "declared size \(rawLen) too large")
        }
        let canonical: [UInt8]
        if codec == .raw {
            guard rawLen == UInt64(file.count - ObjectFile.headerSize) else {
                throw .corruptData(what: "object \(digest)", detail: "raw length mismatch")
            }
            canonical = Array(file[ObjectFile.headerSize...])
        } else {
            let dec = objectDecompressors.take { ChunkDecompressor(maxRawLength: options.maxObjectSize) }
            defer { objectDecompressors.put(dec) }
            do {
                canonical = try dec.decompress(
                    file[ObjectFile.headerSize...], codec: codec, rawLength: Int(rawLen))
            } catch {
                throw .corruptData(what: "object \(digest)", detail: "\(error)")
            }
        }
        guard SHA256.hash(canonical) == digest else {
            throw .corruptData(what: "object \(digest)", detail: "content does not hash to its name")
        }
        return canonical
    }

    /// A stored tree, decoded.
    public func readTree(_ digest: Digest) throws(StoreError) -> Tree {
        do { return try Tree(canonical: readObject(digest)) } catch let e as ObjectError {
            throw .invalidObject(e)
        } catch {
            throw error as! StoreError
        }
    }

    /// A stored recipe by its object digest, decoded.
    public func readRecipe(object digest: Digest) throws(StoreError) -> Recipe {
        do { return try Recipe(canonical: readObject(digest)) } catch let e as ObjectError {
            throw .invalidObject(e)
        } catch {
            throw error as! StoreError
        }
    }

    /// The recipe of a committed blob, or `nil` if no commit stored it.
    public func recipe(forBlob blob: Digest) throws(StoreError) -> Recipe? {
        guard let d = try recipeDigest(forBlob: blob) else { return nil }
        return try readRecipe(object: d)
    }

    /// The object digest of a committed blob's recipe.
    public func recipeDigest(forBlob blob: Digest) throws(StoreError) -> Digest? {
        try catalog.read { db in
            try Data.fetchOne(db, sql: "SELECT recipe FROM blobs WHERE blob = ?", arguments: [blob.data])
                .flatMap(Digest.init(data:))
        }
    }

    /// The recipe object digests of those of `blobs` that were committed, in one read.
    public func recipeDigests(forBlobs blobs: [Digest]) throws(StoreError) -> [Digest: Digest] {
        guard !blobs.isEmpty else { return [:] }
        return try catalog.read { db in
            let st = try db.cachedStatement(sql: "SELECT recipe FROM blobs WHERE blob = ?")
            var out: [Digest: Digest] = [:]
            for b in blobs {
                if let d = try Data.fetchOne(st, arguments: [b.data]).flatMap(Digest.init(data:)) { out[b] = d }
            }
            return out
        }
    }

    /// Whether a tree was committed.
    public func hasTree(_ digest: Digest) throws(StoreError) -> Bool {
        try catalog.read { db in
            try Bool.fetchOne(db, sql: "SELECT 1 FROM trees WHERE digest = ?", arguments: [digest.data])
                ?? false
        }
    }

    /// Commits recipes and a tree. Refused with `.missing` unless every chunk the new recipes
    /// reference is indexed (and so durable). Every file entry of the tree needs a recipe, given
    /// here or committed before, of the same size. Each new blob is verified by streaming its
    /// chunks from the packs (bounded memory) and hashing them. Then recipes and tree are
    /// written durably and registered; the tree digest is returned. Recipes the tree does not
    /// reference are ignored.
    public func commit(recipes: [Recipe], tree: Tree) throws(StoreError) -> CommitOutcome {
        try commit(recipes: recipes, tree: tree, streamed: nil)
    }

    /// `commit(recipes:tree:)`, continuing the blob digests `streamed` computed while the chunks
    /// arrived instead of reading every chunk back, and skipping the verification of the blobs in
    /// `verified`: the caller has just streamed their chunks from the packs and hashed them
    /// (`hashChunks`), so a second pass would read and hash the same bytes again, or a blob
    /// stream hashed all of them in order (`UploadSession.streamedBlobStates`). `resume`: blob
    /// digests a blob stream computed over a recipe's first chunks, to continue from there.
    func commit(
        recipes: [Recipe], tree: Tree, streamed: StreamedBlobs?, verified: Set<Digest> = [],
        resume: [Digest: (next: Int, hasher: SHA256Stream)] = [:], hints: CommitHints = CommitHints()
    ) throws(StoreError) -> CommitOutcome {
        try checkWritable()
        do {
            if hints.tree?.validated != true { try tree.validate() }
            for r in recipes { try r.validate() }
        } catch { throw .invalidObject(error) }
        // Read before any check: a GC delete after this makes the final transaction re-check.
        // Chunks the session checked earlier (`hints.checkedChunks`) count from that epoch.
        var epoch = min(try gcEpoch(), hints.checkedEpoch ?? .max)
        var given: [Digest: Recipe] = [:]
        given.reserveCapacity(recipes.count)
        for r in recipes { given[r.blobDigest] = r }
        let files = tree.entries.filter { $0.kind == .file }
        let known: [Digest: UInt64]
        if let sizes = hints.committedSizes {
            known = sizes
        } else {
            known = try committedBlobSizes(Array(Set(files.compactMap(\.blob))))
        }
        var newRecipes: [Digest: Recipe] = [:]
        newRecipes.reserveCapacity(recipes.count)
        for f in files {
            let blob = f.blob!
            if let size = known[blob] {
                guard size == f.size else {
                    throw .invalidCommit(
                        "\(f.path): size \(f.size) differs from the stored blob's size \(size)")
                }
            } else if let r = given[blob] {
                guard r.size == f.size else {
                    throw .invalidCommit("\(f.path): size \(f.size) differs from its recipe's size \(r.size)")
                }
                newRecipes[blob] = r
            } else if let i = hints.implied[blob] {
                guard i.size == f.size else {
                    throw .invalidCommit("\(f.path): size \(f.size) differs from its recipe's size \(i.size)")
                }
            } else {
                throw .invalidCommit("no recipe for \(f.path) (blob \(blob)); send its recipe")
            }
        }
        // Each distinct chunk once: checked already (looked up when the session staged its
        // one-chunk recipe, or stored by this session with the length the recipe gives: see
        // `CommitHints`), or looked up now, in one read (presence, the one-chunk blobs' lengths,
        // what to touch). Two hash operations per chunk: 16 000 chunks for a streamed GiB.
        let session = hints.sessionChunks
        var wanted = Set<Digest>(minimumCapacity: newRecipes.values.reduce(0) { $0 + $1.chunks.count })
        var checked: [(digest: Digest, entry: IndexedChunk)] = []
        var lookUp: [Digest] = []
        var fromSession = false
        for r in newRecipes.values {
            for c in r.chunks where wanted.insert(c.digest).inserted {
                if !hints.checkedChunks.isEmpty, let entry = hints.checkedChunks[c.digest] {
                    checked.append((c.digest, entry))
                } else if let entry = session?.entries[c.digest], entry.rawLength == Int(c.length) {
                    checked.append((c.digest, entry))
                    fromSession = true
                } else {
                    lookUp.append(c.digest)
                }
            }
        }
        let indexed = try indexedChunks(lookUp)
        let missingChunks = lookUp.filter { indexed[$0] == nil }
        if !missingChunks.isEmpty { return .missing(missingChunks.sorted()) }
        // Chunks taken from the session count from the epoch read before it stored the first.
        if fromSession, let stored = session?.epoch { epoch = min(epoch, stored) }

        // Blobs of several chunks in digest order (pack reads in a stable order); one-chunk
        // blobs are checked by their index entries alone, in any order.
        let unverified = newRecipes.values.filter { !verified.contains($0.blobDigest) }
        let ordered = unverified.filter { !$0.isSingleChunkBlob }.sorted(by: { $0.blobDigest < $1.blobDigest })
        do {
            try verifySingleChunkBlobs(unverified.filter(\.isSingleChunkBlob)) { d in
                indexed[d] ?? hints.checkedChunks[d] ?? session?.entries[d]
            }
            for r in ordered {
                let followed = streamed?.take(r.blobDigest)
                try verifyBlob(r, from: resume[r.blobDigest] ?? followed)
            }
        } catch {
            // A GC may have collected a chunk since the check above: answer with what is missing.
            guard case .chunkNotFound = error else { throw error }
            let gone = try missing(Array(wanted))
            if !gone.isEmpty { return .missing(gone.sorted()) }
            throw error
        }

        var objects: [(Digest, [UInt8])] = []
        var rows: [(blob: Digest, recipe: Digest, size: UInt64)] = []
        objects.reserveCapacity(newRecipes.count + hints.implied.count + 1)
        rows.reserveCapacity(newRecipes.count + hints.implied.count)
        // Implied one-chunk blobs: verified by their chunks' index entries (checked by the
        // caller: digest = blob digest, raw length = the file's size), committed as new.
        for (blob, i) in hints.implied {
            let bytes = Recipe(blobDigest: blob, size: i.size, chunks: [RecipeChunk(digest: blob, length: UInt32(i.size))])
                .canonicalBytes
            let d = SHA256.hash(bytes)
            objects.append((d, bytes))
            rows.append((blob, d, i.size))
        }
        // Recipes this session stored as object files ahead of the commit
        // (`CommitHints.stagedFiles`) are not encoded and written again while their files exist
        // (a streamed GiB's recipe is 488 KB); one a GC removed since is written again here, or
        // by the final transaction.
        func stagedFileIsThere(_ d: Digest) -> Bool {
            hints.stagedFiles.contains(d) && (try? objectStorage.exists(d)) == true
        }
        var staged: [(Digest, Recipe)] = []
        for r in newRecipes.values {
            if let d = hints.recipeObjects[r.blobDigest], stagedFileIsThere(d) {
                staged.append((d, r))
                rows.append((r.blobDigest, d, r.size))
                continue
            }
            let bytes = r.canonicalBytes
            let d = hints.recipeObjects[r.blobDigest] ?? SHA256.hash(bytes)
            objects.append((d, bytes))
            rows.append((r.blobDigest, d, r.size))
        }
        let treeBytes = hints.tree?.bytes ?? tree.canonicalBytes
        let treeDigest = SHA256.hash(treeBytes)
        objects.append((treeDigest, treeBytes))
        // Files first (durable before the rows that need them); small recipes go into the
        // final transaction itself, together with the rows that reference them. A file this
        // session staged durably stays as it is while it exists.
        try checkSpace(objects.reduce(0) { $0 + $1.1.count })
        let inline = objects.filter { InlineObjects.accepts($0.1) }
        try writeObjectFiles(
            objects.filter { !InlineObjects.accepts($0.1) && !stagedFileIsThere($0.0) })
        let now = Clock.nowMillis()
        let totalSize = tree.totalSize
        let fileCount = files.count
        var touched = Array(wanted)
        // Chunks touched within the last minute need no UPDATE (it would not change them):
        // most were stored, or found by HAS, in this push.
        var stale = checked.filter { $0.entry.touched < now - 60_000 }.map(\.digest)
        stale += lookUp.filter { (indexed[$0]?.touched ?? 0) < now - 60_000 }
        if !hints.implied.isEmpty {
            touched.reserveCapacity(touched.count + hints.implied.count)
            for (blob, i) in hints.implied where !wanted.contains(blob) {
                touched.append(blob)
                if i.chunk.touched < now - 60_000 { stale.append(blob) }
            }
        }
        let reused = Array(known.keys)
        let direct = options.directRows
        // In key order (see `insertInlineObjects`): the `blobs` B-tree takes them at its edge.
        if direct { rows.sort { $0.blob < $1.blob } }
        MaintenanceTestHooks.beforeCommitFinal?(self)
        let raced: [Digest]? = try catalog.write { db in
            if let missing = try self.gcRecheckCommit(
                db, epoch: epoch, chunks: touched, reusedBlobs: reused, objects: objects, staged: staged)
            {
                return missing
            }
            // A row this session staged stays as it is while no delete ran since (every delete
            // of a row moves the epoch): re-writing it would only write the same bytes again.
            let epochNow = hints.stagedRows.isEmpty ? nil : try Store.gcEpoch(db)
            try Store.insertInlineObjects(
                db, epochNow.map { e in inline.filter { hints.stagedRows[$0.0] != e } } ?? inline, now: now,
                cipher: self.cipher, direct: direct)
            let ins = try db.cachedStatement(
                sql: "INSERT INTO blobs (blob, recipe, size, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING")
            if direct {
                try ins.executeEach(count: rows.count) { i, w in
                    w.digest(rows[i].blob)
                    w.digest(rows[i].recipe)
                    w.integer(Int64(rows[i].size))
                    w.integer(now)
                }
            } else {
                for r in rows { try ins.execute(arguments: [r.blob.data, r.recipe.data, Int64(r.size), now]) }
            }
            try db.execute(
                sql: "INSERT INTO trees (digest, size, files, created) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                arguments: [treeDigest.data, Int64(totalSize), fileCount, now])
            let touch = try db.cachedStatement(
                sql: "UPDATE chunks SET touched = ? WHERE digest = ? AND touched < ?")
            for d in stale { try touch.execute(arguments: [now, d.data, now - 60_000]) }
            try Store.gcNoteRoot(db, tree: treeDigest)
            return nil
        }
        // The maps and rows of 20 000 files are freed on another thread: not before the answer.
        if direct {
            Store.releaseAside(
                (
                    given, files, newRecipes, wanted, checked, lookUp, indexed, unverified, objects, staged, rows,
                    inline, touched, stale
                ))
        }
        if let raced { return .missing(raced) }
        return .committed(tree: treeDigest)
    }

    /// Drops `value` on another thread: freeing what a large commit built (maps and arrays of
    /// 20 000 digests and recipes, ≈ 15 ms of `free` and `munmap`) need not delay its answer.
    static func releaseAside<T>(_ value: T) {
        let box = ReleasedAside(value)
        DispatchQueue.global(qos: .utility).async { withExtendedLifetime(box) {} }
    }

    /// Streams a recipe's chunks from the packs and checks lengths and the blob digest; with
    /// `start`, only the chunks from `start.next` on, continuing `start.hasher` (the digest of
    /// the chunks before them, computed as they arrived: see ``StreamedBlobs``).
    func verifyBlob(_ r: Recipe, from start: (next: Int, hasher: SHA256Stream)? = nil) throws(StoreError) {
        let actual = try hashChunks(
            r.chunks[(start?.next ?? 0)...], verifyEach: false, of: r.blobDigest, continuing: start?.hasher)
        guard actual == r.blobDigest else { throw .blobMismatch(expected: r.blobDigest, actual: actual) }
    }

    /// SHA-256 of the concatenated raw bytes of `chunks` (fed into `continuing` when given),
    /// streamed from the packs in windows of 1024 chunks (one catalog read each, bounded memory);
    /// each chunk's stored length must be the recipe's. With `verifyEach`, every record's CRC-32C
    /// and every chunk's digest are checked too, in the same pass as the running digest
    /// (``SHA256Pair``): for a blob digest that is computed here, not compared with a known one.
    /// `blob` names the blob in errors.
    func hashChunks(
        _ chunks: ArraySlice<RecipeChunk>, verifyEach: Bool, of blob: Digest?, continuing: SHA256Stream? = nil
    ) throws(StoreError) -> Digest {
        let pair = SHA256Pair()
        let sha = continuing ?? pair.running
        var start = chunks.startIndex
        while start < chunks.endIndex {
            // Locations in windows of 1024 chunks: one catalog read each, bounded memory.
            let window = chunks[start..<min(start + 1024, chunks.endIndex)]
            let locations = try locateMany(window.map(\.digest))
            for (c, location) in zip(window, locations) {
                guard let (pack, entry) = location else { throw .chunkNotFound(c.digest) }
                guard entry.rawLength == Int(c.length) else {
                    throw .invalidCommit(
                        "recipe for blob \(blob.map { "\($0)" } ?? "(new)") gives chunk \(c.digest) length \(c.length), "
                            + "stored \(entry.rawLength)")
                }
                let raw: [UInt8]
                do { raw = try rawBytes(pack: pack, entry: entry, checkCRC: verifyEach) } catch {
                    // GC may have moved the chunk to a new pack since it was located: look once more.
                    guard let (p2, e2) = try locate(c.digest) else { throw .chunkNotFound(c.digest) }
                    guard p2 != pack else { throw error }
                    raw = try rawBytes(pack: p2, entry: e2, checkCRC: verifyEach)
                }
                if verifyEach {
                    guard raw.withUnsafeBytes({ pair.digestAndAppend($0, to: sha) }) == c.digest else {
                        throw .corruptData(what: "chunk \(c.digest)", detail: "content does not hash to its digest")
                    }
                } else {
                    raw.withUnsafeBytes { sha.update($0) }
                }
            }
            start += window.count
        }
        return sha.finalize()
    }
}

extension Recipe {
    /// One chunk whose digest is the blob digest (see `Store.verifySingleChunkBlobs`).
    var isSingleChunkBlob: Bool { chunks.count == 1 && chunks[0].digest == blobDigest }
}

/// A value handed to another thread only to be freed there (`Store.releaseAside`): nothing reads it.
private final class ReleasedAside<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}
