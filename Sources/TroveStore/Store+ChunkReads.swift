import TroveCore

extension Store {
    /// Records at most this far apart in a pack are read in one go (the gap is read and dropped).
    static let readRunGap = 64 << 10
    /// Largest single read of a run of records.
    static let readRunBytes = DirectReadBuffer.pooledSize

    /// The stored bytes (CRC-32C checked; opened, in an encrypted store) of a prefix of `digests`: at least one chunk, and as
    /// many more as fit in `budget` stored bytes; nil for a chunk the index does not hold. With
    /// direct I/O, records lying close together in a pack (a pull asks for chunks in the order
    /// they were pushed) are read with one direct read of up to ``readRunBytes`` instead of one
    /// each: fewer, larger I/Os. A record that fails its check, or a run that cannot be read (GC
    /// may have moved it), is read again alone through ``readStoredChunk(_:)``, which throws what
    /// is really wrong.
    public func readStoredChunks(_ digests: ArraySlice<Digest>, budget: Int) throws(StoreError) -> [StoredChunk?] {
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
        var out = [StoredChunk?](repeating: nil, count: n)
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
                            guard PackFormat.recordMatches(header: header, stored: stored, e, field: field, checkCRC: true),
                                let bytes = seal == nil ? Array(stored) : seal!.open(stored, e)
                            else {
                                again.append(k)
                                continue
                            }
                            out[k] = StoredChunk(codec: e.codec, rawLength: e.rawLength, bytes: bytes)
                        }
                    }
                } catch {
                    again += run
                }
            }
        } else {
            again = (0..<n).filter { located[$0] != nil }
        }
        for k in again {
            do { out[k] = try readStoredChunk(probe[k]) } catch .chunkNotFound { out[k] = nil }
        }
        return out
    }
}
