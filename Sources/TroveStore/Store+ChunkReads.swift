import TroveCore

/// One chunk's stored bytes as ``Store/visitStoredChunks(_:budget:checkCRC:_:)`` passes them:
/// valid only during the call (they lie in a reused read buffer).
public struct StoredChunkView {
    public var codec: Codec
    public var rawLength: Int
    /// The stored (possibly compressed; opened, in an encrypted store) bytes.
    public var bytes: UnsafeRawBufferPointer
}

extension Store {
    /// Records at most this far apart in a pack are read in one go (the gap is read and dropped).
    static let readRunGap = 64 << 10
    /// Largest single read of a run of records: with the pages around it (a direct read is
    /// page-aligned at both ends) it still fits a pooled read buffer (a run of up to the whole
    /// buffer size spilled into a fresh buffer about one time in ten).
    static let readRunBytes = DirectReadBuffer.pooledSize - 2 * PackFormat.alignment

    /// The stored bytes (CRC-32C checked; opened, in an encrypted store) of a prefix of `digests`: at least one chunk, and as
    /// many more as fit in `budget` stored bytes; nil for a chunk the index does not hold. With
    /// direct I/O, records lying close together in a pack (a pull asks for chunks in the order
    /// they were pushed) are read with one direct read of up to ``readRunBytes`` instead of one
    /// each: fewer, larger I/Os. A record that fails its check, or a run that cannot be read (GC
    /// may have moved it), is read again alone through ``readStoredChunk(_:)``, which throws what
    /// is really wrong.
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
    /// Returns how many of `digests` the prefix holds and which of them the index does not hold.
    /// `checkCRC: false` skips the CRC-32C of each record, for callers that check each chunk's
    /// SHA-256 anyway (which also covers what the CRC covers); the record header is checked
    /// either way. An error `body` throws ends the visit and is rethrown as it is.
    public func visitStoredChunks(
        _ digests: ArraySlice<Digest>, budget: Int, checkCRC: Bool = true,
        _ body: (Int, StoredChunkView) throws(StoreError) -> Void
    ) throws(StoreError) -> (count: Int, missing: [Int]) {
        let probe = Array(digests.prefix(64))
        let located = try locateMany(probe)
        var n = 0
        var total = 0
        while n < probe.count {
            let size = located[n]?.entry.storedLength ?? 0
            if n > 0 && total + size > budget { break }
            total += size
            n += 1
        }
        var again: [Int] = []
        if let local = packStorage as? LocalPackStorage, local.directIO {
            let h = PackFormat.recordHeaderSize
            let order = (0..<n).filter { located[$0] != nil }.sorted {
                (located[$0]!.pack, located[$0]!.entry.offset) < (located[$1]!.pack, located[$1]!.entry.offset)
            }
            var i = 0
            while i < order.count {
                let (pack, first) = located[order[i]]!
                let start = first.offset
                var end = start + h + first.storedLength
                var j = i + 1
                while j < order.count, let (p, e) = located[order[j]], p == pack, e.offset - end <= Self.readRunGap,
                    max(end, e.offset + h + e.storedLength) - start <= Self.readRunBytes
                {
                    end = max(end, e.offset + h + e.storedLength)
                    j += 1
                }
                let run = order[i..<j]
                i = j
                guard let name = state.withLock({ $0.packNames[pack] }) else {
                    again += run
                    continue
                }
                var failure: StoreError?
                do {
                    let seal = try packSeal(name: name) { () throws(StoreError) in
                        try local.read(name: name, offset: 0, count: PackFormat.headerSize)
                    }
                    try local.withBytes(name: name, offset: start, count: end - start) { all in
                        for k in run {
                            let e = located[k]!.entry
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
                                    try body(k, StoredChunkView(codec: e.codec, rawLength: e.rawLength, bytes: stored))
                                } catch { failure = error }
                            }
                            if failure != nil { return }
                        }
                    }
                } catch {
                    again += run
                }
                if let failure { throw failure }
            }
        } else {
            again = (0..<n).filter { located[$0] != nil }
        }
        var missing = (0..<n).filter { located[$0] == nil }
        for k in again {
            let c: StoredChunk
            do { c = try readStoredChunk(probe[k]) } catch .chunkNotFound {
                missing.append(k)
                continue
            }
            if let failure = Self.pass(c.bytes, c.codec, c.rawLength, as: k, to: body) { throw failure }
        }
        return (n, missing.sorted())
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
