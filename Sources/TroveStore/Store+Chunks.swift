import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

extension Store {
    /// The digests among `digests` that are not in the chunk index, in input order (duplicates
    /// in the input are reported once each time they appear).
    public func missing(_ digests: [Digest]) throws(StoreError) -> [Digest] {
        let present = try presentSet(digests)
        return digests.filter { !present.contains($0) }
    }

    /// Whether `digest` is indexed.
    public func contains(_ digest: Digest) throws(StoreError) -> Bool {
        try !presentSet([digest]).isEmpty
    }

    func presentSet(_ digests: [Digest]) throws(StoreError) -> Set<Digest> {
        guard !digests.isEmpty else { return [] }
        return try catalog.presentDigests(digests.sorted())
    }

    /// Index location of a chunk.
    func locate(_ digest: Digest) throws(StoreError) -> (pack: Int64, entry: PackEntry)? {
        try locateMany([digest])[0]
    }

    /// Index locations of many chunks in one read transaction (`nil` where absent).
    func locateMany(_ digests: [Digest]) throws(StoreError) -> [(pack: Int64, entry: PackEntry)?] {
        try catalog.read { db in
            let st = try db.cachedStatement(
                sql: "SELECT pack, \"offset\", stored_len, raw_len, codec FROM chunks WHERE digest = ?")
            return try digests.map { digest in
                guard let row = try Row.fetchOne(st, arguments: [digest.data]) else { return nil }
                let codecRaw: Int = row["codec"]
                guard let codec = Codec(rawValue: UInt8(clamping: codecRaw)) else {
                    throw StoreError.corruptData(
                        what: "index entry \(digest)", detail: "unknown codec \(codecRaw)")
                }
                return (
                    row["pack"],
                    PackEntry(
                        digest: digest, offset: row["offset"], rawLength: row["raw_len"], codec: codec,
                        storedLength: row["stored_len"])
                )
            }
        }
    }

    /// Verifies and stores chunks. Each chunk is decompressed and re-hashed; a chunk whose bytes
    /// do not match its digest is rejected (reported, not stored). The client's compressed bytes
    /// are kept as they are. On return every accepted chunk is durable in a sealed pack segment
    /// and indexed (I3, I5). Concurrent callers share fsyncs. Throws only for store failures.
    /// With `streamed`, chunks that a followed recipe needs next feed its blob digest in the same
    /// pass (see ``StreamedBlobs``).
    public func putChunks(_ chunks: [ChunkInput]) throws(StoreError) -> PutChunksResult {
        try putChunks(chunks, streamed: nil)
    }

    /// `indexed`, when given, gets every verified chunk of the call (digest and raw length): each
    /// is indexed on return, stored now or by a concurrent caller.
    func putChunks(
        _ chunks: [ChunkInput], streamed: StreamedBlobs?, indexed: ((_ verified: [VerifiedChunk]) -> Void)? = nil
    ) throws(StoreError) -> PutChunksResult {
        try checkWritable()
        var rejected: [RejectedChunk] = []
        var verified: [VerifiedChunk] = []
        verified.reserveCapacity(chunks.count)
        var seen = Set<Digest>()
        var duplicates = 0
        let present = try presentSet(chunks.map(\.digest))
        let dec = decompressors.take { ChunkDecompressor(maxRawLength: options.maxChunkSize) }
        defer { decompressors.put(dec) }
        let pair = SHA256Pair()
        // New, well-formed chunks with their raw bytes (decompressed when needed), verified in
        // groups: a few MiB of decompressed bytes at most.
        var group: [(input: ChunkInput, raw: [UInt8]?)] = []
        func verifyGroup() {
            guard !group.isEmpty else { return }
            let raws = group.map { g -> any SharedBytes in g.raw ?? g.input.data }
            let (digests, unfed) = Self.withRawBuffers(raws) { raws in
                let fed = streamed?.feed(Array(zip(group.map(\.input.digest), raws)))
                    ?? [Digest?](repeating: nil, count: raws.count)
                let rest = raws.indices.filter { fed[$0] == nil }
                var out = fed
                for (i, d) in zip(rest, Self.hashInPairs(rest.map { raws[$0] }, pair)) { out[i] = d }
                return (out.map { $0! }, rest)
            }
            if let streamed {
                // Verified chunks no blob needed yet: they may be next for one soon.
                streamed.hold(unfed.filter { digests[$0] == group[$0].input.digest }.map { (group[$0].input.digest, raws[$0]) })
            }
            for (g, actual) in zip(group, digests) {
                let c = g.input
                guard actual == c.digest else {
                    rejected.append(
                        RejectedChunk(digest: c.digest, reason: "content hashes to \(actual), not the claimed digest"))
                    continue
                }
                seen.insert(c.digest)
                verified.append(
                    VerifiedChunk(
                        digest: c.digest, codec: c.codec, rawLength: c.rawLength, stored: c.data))
            }
            group.removeAll(keepingCapacity: true)
        }
        for c in chunks {
            if present.contains(c.digest) || seen.contains(c.digest) {
                duplicates += 1
                continue
            }
            switch decode(c, dec) {
            case .success(let raw): group.append((c, raw))
            case .failure(let reason):
                rejected.append(RejectedChunk(digest: c.digest, reason: reason.reason))
                continue
            }
            if group.count == 16 { verifyGroup() }
        }
        verifyGroup()
        let stored = try storeVerified(verified)
        duplicates += verified.count - stored
        indexed?(verified)
        return PutChunksResult(stored: stored, duplicates: duplicates, rejected: rejected)
    }

    /// Why a sent chunk cannot be stored.
    struct ChunkRefusal: Error {
        let reason: String
    }

    /// A sent chunk's raw bytes: nil when it is sent raw (its bytes are the raw bytes), else
    /// decompressed to exactly `rawLength`; a refusal for out-of-range lengths or bad data.
    func decode(_ c: ChunkInput, _ dec: ChunkDecompressor) -> Result<[UInt8]?, ChunkRefusal> {
        guard c.rawLength > 0, c.rawLength <= options.maxChunkSize else {
            return .failure(ChunkRefusal(reason: "raw length \(c.rawLength) out of range"))
        }
        guard c.data.count <= PackFormat.maxRecordLength else {
            return .failure(ChunkRefusal(reason: "stored length too large"))
        }
        if c.codec == .raw {
            guard c.data.count == c.rawLength else { return .failure(ChunkRefusal(reason: "raw length mismatch")) }
            return .success(nil)
        }
        do {
            let raw = try c.data.withUnsafeBytes { (stored) throws(CodecError) -> [UInt8] in
                try dec.decompress(stored, codec: c.codec, rawLength: c.rawLength)
            }
            return .success(raw)
        } catch {
            return .failure(ChunkRefusal(reason: "\(error)"))
        }
    }

    /// Stores verified chunks durably (one group commit); returns how many were new.
    func storeVerified(_ verified: [VerifiedChunk]) throws(StoreError) -> Int {
        guard !verified.isEmpty else { return 0 }
        let perRecord = PackFormat.recordHeaderSize + (cipher == nil ? 0 : PackSeal.overhead)
        try checkSpace(verified.reduce(0) { $0 + $1.stored.count + perRecord })
        return try commit.submit(verified) { batches in self.flush(batches) }
    }

    /// Digests of `raws`, two at a time on two lanes (``SHA256Pair/digests(of:)``).
    static func hashInPairs(_ raws: [UnsafeRawBufferPointer], _ pair: SHA256Pair) -> [Digest] {
        pair.digests(of: raws)
    }

    /// Runs `body` with pointers to the bytes of every array (valid only during the call).
    static func withRawBuffers<R>(_ arrays: [any SharedBytes], _ body: ([UnsafeRawBufferPointer]) -> R) -> R {
        func nest(_ i: Int, _ acc: inout [UnsafeRawBufferPointer]) -> R {
            if i == arrays.count { return body(acc) }
            return arrays[i].withUnsafeBytes { raw in
                acc.append(raw)
                return nest(i + 1, &acc)
            }
        }
        var acc: [UnsafeRawBufferPointer] = []
        acc.reserveCapacity(arrays.count)
        return nest(0, &acc)
    }

    /// Indexes a durable segment's records and updates the pack's counters, in one transaction.
    func indexSegment(
        _ entries: [PackEntry], pack packID: Int64, size newSize: Int, seal: Bool, now: Int64
    )
        throws(StoreError)
    {
        var rows = [CatalogValue]()
        rows.reserveCapacity(entries.count * CatalogBulkInsert.chunks.columns.count)
        var raw = 0
        var st = 0
        for e in entries {
            rows.appendChunkRow(e, pack: packID, now: now)
            raw += e.rawLength
            st += e.storedLength
        }
        try catalog.write { db in
            try db.insertRows(.chunks, values: rows)
            try db.execute(
                sql: """
                    UPDATE packs SET size = ?, state = ?, chunks = chunks + ?, raw_bytes = raw_bytes + ?,
                      stored_bytes = stored_bytes + ? WHERE id = ?
                    """, arguments: [newSize, seal ? 1 : 0, entries.count, raw, st, packID])
        }
    }

    /// Creates a new, empty pack durably (header via tmp → fsync → rename → fsync dir) and
    /// registers it as open.
    func createPack() throws(StoreError) -> GroupCommit.Writer {
        let name = FileIO.randomHex(16)
        let path = packPath(name)
        try ensureDirectory(of: path)
        do {
            try FileIO.writeDurably(PackFormat.header(keyTag: cipher?.current.tag), to: path, tmpDir: tmpDir)
        } catch {
            throw fail(error)
        }
        let now = Clock.nowMillis()
        let id: Int64
        do {
            id = try catalog.write { db in
                try Int64.fetchOne(
                    db, sql: "INSERT INTO packs (name, state, size, created) VALUES (?, 0, ?, ?) RETURNING id",
                    arguments: [name, PackFormat.headerSize, now])!
            }
        } catch {
            if case .noSpace = error { unlink(path) }  // an empty pack nobody knows of
            throw error
        }
        state.withLock { $0.packNames[id] = name }
        let fd = try FileIO.openDirect(path, O_RDWR, direct: options.directIO).fd
        return GroupCommit.Writer(id: id, name: name, path: path, fd: fd, size: PackFormat.headerSize)
    }

    /// The stored bytes of a chunk (CRC-32C checked), for sending without recompressing.
    public func readStoredChunk(_ digest: Digest) throws(StoreError) -> StoredChunk {
        guard let (pack, entry) = try locate(digest) else { throw .chunkNotFound(digest) }
        do {
            let bytes = try readRecord(pack: pack, entry: entry)
            return StoredChunk(codec: entry.codec, rawLength: entry.rawLength, bytes: bytes)
        } catch {
            // GC may have moved the chunk to a new pack since it was located: look once more.
            guard let (p2, e2) = try locate(digest), p2 != pack else { throw error }
            return StoredChunk(
                codec: e2.codec, rawLength: e2.rawLength, bytes: try readRecord(pack: p2, entry: e2))
        }
    }

    /// The raw bytes of a chunk, decompressed and re-hashed (never returns bytes that fail).
    public func readChunk(_ digest: Digest) throws(StoreError) -> [UInt8] {
        guard let (pack, entry) = try locate(digest) else { throw .chunkNotFound(digest) }
        let raw: [UInt8]
        do { raw = try rawBytes(pack: pack, entry: entry) } catch {
            // GC may have moved the chunk to a new pack since it was located: look once more.
            guard let (p2, e2) = try locate(digest), p2 != pack else { throw error }
            raw = try rawBytes(pack: p2, entry: e2)
        }
        guard SHA256.hash(raw) == digest else {
            throw .corruptData(what: "chunk \(digest)", detail: "content does not hash to its digest")
        }
        return raw
    }

    /// Reads, CRC-checks (unless `checkCRC` is false because the caller hashes the result
    /// anyway) and decompresses a record (no hash check).
    func rawBytes(pack: Int64, entry: PackEntry, checkCRC: Bool = true) throws(StoreError) -> [UInt8] {
        let stored = try readRecord(pack: pack, entry: entry, checkCRC: checkCRC)
        if entry.codec == .raw {
            guard stored.count == entry.rawLength else {
                throw .corruptData(what: "chunk \(entry.digest)", detail: "raw length mismatch")
            }
            return stored
        }
        let dec = decompressors.take { ChunkDecompressor(maxRawLength: options.maxChunkSize) }
        defer { decompressors.put(dec) }
        do { return try dec.decompress(stored, codec: entry.codec, rawLength: entry.rawLength) } catch {
            throw .corruptData(what: "chunk \(entry.digest)", detail: "\(error)")
        }
    }

    /// Marks chunks as recently used (GC's grace period protects touched chunks).
    public func touch(_ digests: [Digest]) throws(StoreError) {
        try checkWritable()
        let now = Clock.nowMillis()
        try catalog.write { db in
            let st = try db.cachedStatement(
                sql: "UPDATE chunks SET touched = ? WHERE digest = ? AND touched < ?")
            for d in digests { try st.execute(arguments: [now, d.data, now - 60_000]) }
        }
    }
}
