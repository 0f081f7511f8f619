import TroveCore

/// The chunks an upload session stored (`PUT_CHUNKS`, `BLOB_CHUNKS`): digest → raw length and
/// when. Each was verified (its bytes hash to its digest) and is indexed once its request is
/// answered, and the session's lease keeps it from GC (it was touched after the lease began). The
/// session's COMMIT takes the one-chunk recipes it implies (PROTOCOL.md §9, version 4: chunk
/// digest = blob digest, length = the file's size) from here instead of looking each chunk up in
/// the index — 20 000 lookups for a push of 20 000 small files — and the chunks of its other
/// recipes as checked (16 000 lookups for a streamed GiB). `epoch` is the GC epoch read before the first
/// of them was stored: the commit's final transaction re-checks every chunk if a GC or scrub
/// deleted anything since (as for chunks it looked up). Bounded (``maxEntries``); chunks past the
/// bound are looked up as before. Guarded by `Store.uploads`, inside the session's `UploadState`.
struct SessionChunks {
    /// Chunks remembered per session (≈ 80 bytes each in memory: ≈ 10 MiB at most).
    static let maxEntries = 131_072

    private(set) var entries: [Digest: IndexedChunk] = [:]
    /// GC epoch read before the first recorded chunk was stored (nil: none recorded yet).
    private(set) var epoch: Int64?

    /// Records `chunks`, stored (indexed) at `touched` (ms), with the epoch read before they
    /// were stored (nil: not read, one was recorded before).
    mutating func record(_ chunks: [VerifiedChunk], epoch: Int64?, touched: Int64) {
        guard let e = epoch ?? self.epoch else { return }  // no epoch known: record nothing
        self.epoch = min(self.epoch ?? e, e)
        if entries.isEmpty { entries.reserveCapacity(min(chunks.count * 8, Self.maxEntries)) }
        for c in chunks where entries.count < Self.maxEntries {
            entries[c.digest] = IndexedChunk(rawLength: c.rawLength, touched: touched)
        }
    }
}
