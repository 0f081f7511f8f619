import TroveCore

/// Where a chunk's record is, from the index (``Store/locateStoredChunks(_:)``): what
/// ``Store/withStoredChunks(_:_:)`` will hand over for it.
public struct StoredChunkLocation: Sendable {
    let pack: Int64
    let entry: PackEntry
    /// How the stored bytes are encoded.
    public var codec: Codec { entry.codec }
    /// Length of the raw (decoded) bytes.
    public var rawLength: Int { entry.rawLength }
    /// Bytes ``Store/withStoredChunks(_:_:)`` hands over: the record's stored bytes, opened in an
    /// encrypted store.
    public let length: Int
}

/// One chunk's stored bytes as ``Store/withStoredChunks(_:_:)`` hands them over: valid only during
/// the call.
public struct StoredChunkView {
    /// How `bytes` are encoded.
    public var codec: Codec
    /// Length of the raw (decoded) bytes.
    public var rawLength: Int
    /// The stored bytes (opened, in an encrypted store).
    public var bytes: UnsafeRawBufferPointer
    /// The CRC-32C of exactly `bytes` when it was checked against the pack record (plaintext
    /// records read in a run); nil otherwise.
    public var crc32c: UInt32?
}

extension Store {
    /// Records at most this far apart in a pack are read in one go (the gap is read and dropped).
    static let readRunGap = 64 << 10
    /// Largest single read of a run of records.
    static let readRunBytes = DirectReadBuffer.pooledSize

    /// The index entries of `digests` (nil for a chunk the index does not hold), in order.
    public func locateStoredChunks(_ digests: ArraySlice<Digest>) throws(StoreError) -> [StoredChunkLocation?] {
        let overhead = cipher == nil ? 0 : PackSeal.overhead
        return try locateMany(Array(digests)).map {
            $0.map { StoredChunkLocation(pack: $0.pack, entry: $0.entry, length: $0.entry.storedLength - overhead) }
        }
    }

    /// The stored bytes (CRC-32C checked; opened, in an encrypted store) of a prefix of `digests`: at least one chunk, and as
    /// many more as fit in `budget` stored bytes; nil for a chunk the index does not hold.
    /// ``withStoredChunks(_:_:)`` reads them.
    public func readStoredChunks(_ digests: ArraySlice<Digest>, budget: Int) throws(StoreError) -> [StoredChunk?] {
        let located = try locateStoredChunks(digests.prefix(64))
        var n = 0
        var total = 0
        while n < located.count {
            let size = located[n]?.entry.storedLength ?? 0
            if n > 0 && total + size > budget { break }
            total += size
            n += 1
        }
        var out = [StoredChunk?](repeating: nil, count: n)
        _ = try withStoredChunks(Array(located[..<n])) { k, c in
            out[k] = StoredChunk(codec: c.codec, rawLength: c.rawLength, bytes: Array(c.bytes))
        }
        return out
    }

    /// Passes the stored bytes of each chunk of `chunks` to `body` (with its index in `chunks`),
    /// each once, in pack order rather than in the order of `chunks`; returns the indices of
    /// chunks that are no longer in the store (nil entries are skipped). Every record is checked
    /// (header against the index, CRC-32C) before `body` sees it. With direct I/O, records lying
    /// close together in a pack (a pull asks for chunks in the order they were pushed) are read
    /// with one direct read of up to ``readRunBytes`` instead of one each: fewer, larger I/Os. A
    /// record that fails its check, or a run that cannot be read (GC may have moved it), is read
    /// again alone through ``readStoredChunk(_:)``, which throws what is really wrong.
    public func withStoredChunks(
        _ chunks: [StoredChunkLocation?], _ body: (Int, StoredChunkView) -> Void
    ) throws(StoreError) -> [Int] {
        var again: [Int] = []
        if let local = packStorage as? LocalPackStorage, local.directIO {
            let h = PackFormat.recordHeaderSize
            let order = chunks.indices.filter { chunks[$0] != nil }.sorted {
                (chunks[$0]!.pack, chunks[$0]!.entry.offset) < (chunks[$1]!.pack, chunks[$1]!.entry.offset)
            }
            var i = 0
            while i < order.count {
                let first = chunks[order[i]]!
                let pack = first.pack
                let start = first.entry.offset
                var end = start + h + first.entry.storedLength
                var j = i + 1
                while j < order.count, let c = chunks[order[j]], c.pack == pack, c.entry.offset - end <= Self.readRunGap,
                    max(end, c.entry.offset + h + c.entry.storedLength) - start <= Self.readRunBytes
                {
                    end = max(end, c.entry.offset + h + c.entry.storedLength)
                    j += 1
                }
                let run = order[i..<j]
                i = j
                guard let name = state.withLock({ $0.packNames[pack] }) else {
                    again += run
                    continue
                }
                var delivered = 0
                do {
                    let seal = try packSeal(name: name) { () throws(StoreError) in
                        try local.read(name: name, offset: 0, count: PackFormat.headerSize)
                    }
                    try local.withBytes(name: name, offset: start, count: end - start) { all in
                        for k in run {
                            delivered += 1
                            let e = chunks[k]!.entry
                            let at = e.offset - start
                            let header = UnsafeRawBufferPointer(rebasing: all[at..<(at + h)])
                            let stored = UnsafeRawBufferPointer(rebasing: all[(at + h)..<(at + h + e.storedLength)])
                            let field = seal?.mask(e.digest, offset: e.offset) ?? e.digest
                            guard PackFormat.recordMatches(header: header, stored: stored, e, field: field, checkCRC: true)
                            else {
                                again.append(k)
                                continue
                            }
                            if let seal {
                                guard let opened = seal.open(stored, e) else {
                                    again.append(k)
                                    continue
                                }
                                opened.withUnsafeBytes {
                                    body(k, StoredChunkView(codec: e.codec, rawLength: e.rawLength, bytes: $0, crc32c: nil))
                                }
                            } else {
                                body(
                                    k,
                                    StoredChunkView(
                                        codec: e.codec, rawLength: e.rawLength, bytes: stored,
                                        crc32c: PackFormat.recordCRC(header: header)))
                            }
                        }
                    }
                } catch {
                    again += run.dropFirst(delivered)
                }
            }
        } else {
            again = chunks.indices.filter { chunks[$0] != nil }
        }
        var gone: [Int] = []
        for k in again {
            let stored: StoredChunk
            do { stored = try readStoredChunk(chunks[k]!.entry.digest) } catch .chunkNotFound {
                gone.append(k)
                continue
            }
            stored.bytes.withUnsafeBytes {
                body(k, StoredChunkView(codec: stored.codec, rawLength: stored.rawLength, bytes: $0, crc32c: nil))
            }
        }
        return gone
    }
}
