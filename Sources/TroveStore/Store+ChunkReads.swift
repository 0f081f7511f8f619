import TroveCore

/// Where a chunk's record is, from the index (``Store/locateStoredChunks(_:)``): what
/// ``Store/withStoredChunks(_:checkCRC:_:)`` will pass for it.
public struct StoredChunkLocation: Sendable {
    let pack: Int64
    let entry: PackEntry
    /// How the stored bytes are encoded.
    public var codec: Codec { entry.codec }
    /// Length of the raw (decoded) bytes.
    public var rawLength: Int { entry.rawLength }
    /// Bytes passed for it: the record's stored bytes, opened in an encrypted store.
    public let length: Int
}

/// One chunk's stored bytes as ``Store/withStoredChunks(_:checkCRC:_:)`` and
/// ``Store/visitStoredChunks(_:budget:checkCRC:_:)`` pass them: valid only during the call (they
/// lie in a reused read buffer).
public struct StoredChunkView {
    public var codec: Codec
    public var rawLength: Int
    /// The stored (possibly compressed; opened, in an encrypted store) bytes.
    public var bytes: UnsafeRawBufferPointer
    /// The CRC-32C of exactly `bytes` when it was checked against the pack record (plaintext
    /// records read in a run with `checkCRC`); nil otherwise.
    public var crc32c: UInt32? = nil
    /// The CRC-32C the pack record gives for `bytes`, not checked: plaintext records read in a
    /// run with `checkCRC: false`, for a caller that reads the bytes anyway to check it in the
    /// same pass (``CRC32C/copy(_:from:to:)``); nil otherwise (bytes checked as usual, or sealed).
    public var uncheckedCRC32C: UInt32? = nil
}

extension Store {
    /// Records at most this far apart in a pack are read in one go (the gap is read and dropped).
    static let readRunGap = 64 << 10
    /// Largest single read of a run of records: with the pages around it (a direct read is
    /// page-aligned at both ends) it still fits a pooled read buffer (a run of up to the whole
    /// buffer size spilled into a fresh buffer about one time in ten).
    static let readRunBytes = DirectReadBuffer.pooledSize - 2 * PackFormat.alignment

    /// The index entries of `digests` (nil for a chunk the index does not hold), in order.
    public func locateStoredChunks(_ digests: ArraySlice<Digest>) throws(StoreError) -> [StoredChunkLocation?] {
        let overhead = cipher == nil ? 0 : PackSeal.overhead
        return try locateMany(Array(digests)).map {
            $0.map { StoredChunkLocation(pack: $0.pack, entry: $0.entry, length: $0.entry.storedLength - overhead) }
        }
    }

    /// The stored bytes (CRC-32C checked; opened, in an encrypted store) of a prefix of `digests`: at least one chunk, and as
    /// many more as fit in `budget` stored bytes; nil for a chunk the index does not hold.
    public func readStoredChunks(_ digests: ArraySlice<Digest>, budget: Int) throws(StoreError) -> [StoredChunk?] {
        var found: [Int: StoredChunk] = [:]
        let (n, _) = try visitStoredChunks(digests, budget: budget) {
            (k: Int, c: StoredChunkView) throws(StoreError) in
            found[k] = StoredChunk(codec: c.codec, rawLength: c.rawLength, bytes: Array(c.bytes))
        }
        return (0..<n).map { found[$0] }
    }

    /// ``readStoredChunks(_:budget:)`` without copying: passes each found chunk of the prefix it
    /// covers to `body` with its index in that prefix (0 is `digests.first`), its bytes in place
    /// in the read buffer, in the order they lie in the packs (not the order of `digests`).
    /// Returns how many of `digests` the prefix holds and which of them the store does not hold.
    /// `checkCRC: false` skips the CRC-32C of each record, for callers that check each chunk's
    /// SHA-256 anyway (which also covers what the CRC covers); the record header is checked
    /// either way. An error `body` throws ends the visit and is rethrown as it is.
    public func visitStoredChunks(
        _ digests: ArraySlice<Digest>, budget: Int, checkCRC: Bool = true,
        _ body: (Int, StoredChunkView) throws(StoreError) -> Void
    ) throws(StoreError) -> (count: Int, missing: [Int]) {
        let located = try locateStoredChunks(digests.prefix(64))
        var n = 0
        var total = 0
        while n < located.count {
            let size = located[n]?.entry.storedLength ?? 0
            if n > 0 && total + size > budget { break }
            total += size
            n += 1
        }
        let gone = try withStoredChunks(Array(located[..<n]), checkCRC: checkCRC, body)
        return (n, ((0..<n).filter { located[$0] == nil } + gone).sorted())
    }

    /// Passes the stored bytes of each chunk of `chunks` (from ``locateStoredChunks(_:)``) to
    /// `body` with its index in `chunks`, each once, in the order they lie in the packs; returns
    /// the indices of chunks no longer in the store (nil entries are skipped). Every record is
    /// checked first (header against the index; CRC-32C unless `checkCRC` is false). With direct
    /// I/O, records lying close together in a pack (a pull asks for chunks in the order they were
    /// pushed) are read with one direct read of up to ``readRunBytes`` instead of one each: fewer,
    /// larger I/Os. A record that fails its check, or a run that cannot be read (GC may have moved
    /// it), is read again alone through ``readStoredChunk(_:)``, which throws what is really
    /// wrong. An error `body` throws ends the visit and is rethrown as it is.
    public func withStoredChunks(
        _ chunks: [StoredChunkLocation?], checkCRC: Bool = true, _ body: (Int, StoredChunkView) throws(StoreError) -> Void
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
                var failure: StoreError?
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
                            guard PackFormat.recordMatches(header: header, stored: stored, e, field: field, checkCRC: checkCRC)
                            else {
                                again.append(k)
                                continue
                            }
                            if let seal {
                                guard let opened = seal.open(stored, e) else {
                                    again.append(k)
                                    continue
                                }
                                failure = Self.pass(opened, e.codec, e.rawLength, as: k, to: body)
                            } else {
                                do throws(StoreError) {
                                    let crc = PackFormat.recordCRC(header: header)
                                    try body(
                                        k,
                                        StoredChunkView(
                                            codec: e.codec, rawLength: e.rawLength, bytes: stored,
                                            crc32c: checkCRC ? crc : nil, uncheckedCRC32C: checkCRC ? nil : crc))
                                } catch { failure = error }
                            }
                            if failure != nil { return }
                        }
                    }
                } catch {
                    again += run.dropFirst(delivered)
                }
                if let failure { throw failure }
            }
        } else {
            again = chunks.indices.filter { chunks[$0] != nil }
        }
        var gone: [Int] = []
        for k in again {
            let c: StoredChunk
            do { c = try readStoredChunk(chunks[k]!.entry.digest) } catch .chunkNotFound {
                gone.append(k)
                continue
            }
            if let failure = Self.pass(c.bytes, c.codec, c.rawLength, as: k, to: body) { throw failure }
        }
        return gone
    }

    /// Calls `body` with a view of `bytes`; returns what it threw.
    private static func pass(
        _ bytes: [UInt8], _ codec: Codec, _ rawLength: Int, as k: Int,
        to body: (Int, StoredChunkView) throws(StoreError) -> Void
    ) -> StoreError? {
        bytes.withUnsafeBytes { b -> StoreError? in
            do throws(StoreError) {
                try body(k, StoredChunkView(codec: codec, rawLength: rawLength, bytes: b))
                return nil
            } catch { return error }
        }
    }
}
