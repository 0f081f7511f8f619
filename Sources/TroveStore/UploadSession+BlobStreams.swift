import TroveCore

/// Blob streams of a push (PROTOCOL.md §9a, ``BlobStreams``): a file's chunks sent in order
/// while the client still reads it, hashed into its blob digest as they arrive; the recipe
/// follows with the other objects and COMMIT holds it against what the stream hashed.
extension UploadSession {
    /// The session's blob streams (tests look inside).
    var blobStreams: BlobStreams {
        get throws(StoreError) { try store.withLiveUpload(id) { s in s.blobStreams } }
    }

    /// Opens blob stream `stream` (a number the client picks, unique among its open streams).
    public func openBlobStream(_ stream: UInt32) throws(StoreError) {
        try store.checkWritable()
        try blobStreams.open(stream)
    }

    /// Verifies the chunks of one append to `stream` (`position` is the blob index of the first),
    /// hashes them into the stream's blob digest in order, and stores the sent ones the store
    /// lacks durably. Stored chunks are read back from the packs for the blob digest (they must
    /// be there, with the length given). Throws, storing nothing, if a chunk fails; the stream
    /// then fails too.
    public func appendBlobStream(_ stream: UInt32, position: UInt64, _ entries: [BlobStreamEntry])
        throws(StoreError) -> PutChunksResult
    {
        try store.checkWritable()
        let streams = try blobStreams
        guard position <= UInt64(Int.max / 2) else {
            throw .invalidArgument("blob stream \(stream): position \(position) is out of range")
        }
        let ready: [BlobStreams.Ready]
        do { ready = try prepare(entries) } catch {
            streams.fail(stream, error)
            throw error
        }
        let store = self.store
        try streams.append(
            stream, position: Int(position), ready,
            readBack: { (c) throws(StoreError) -> [UInt8] in try store.readBack(c.digest, c.length, at: c.location) },
            readAhead: { StoredChunkReadAhead(store: store, $0) })
        var seen = Set<Digest>()
        var sent: [VerifiedChunk] = []
        var duplicates = entries.count
        let epoch = try epochBeforeStoring()
        let present = try store.presentSet(entries.compactMap { if case .data(let c) = $0 { c.digest } else { nil } })
        for case .data(let c) in entries where !present.contains(c.digest) && seen.insert(c.digest).inserted {
            sent.append(
                VerifiedChunk(
                    digest: c.digest, codec: c.codec, rawLength: c.rawLength, stored: c.data))
        }
        let stored = try store.storeVerified(sent)
        try remember(sent, epoch: epoch)
        duplicates -= stored
        return PutChunksResult(stored: stored, duplicates: duplicates, rejected: [])
    }

    /// Closes `stream` as blob `blob` (`size` bytes, `chunks` chunks); see ``BlobStreams/close``.
    public func closeBlobStream(_ stream: UInt32, blob: Digest, size: UInt64, chunks: UInt64)
        throws(StoreError) -> Bool
    {
        guard chunks <= UInt64(Int.max / 2) else {
            throw .invalidArgument("blob stream \(stream): \(chunks) chunks is out of range")
        }
        return try blobStreams.close(stream, blob: blob, size: size, chunks: Int(chunks))
    }

    /// Closes `stream` as a blob of `size` bytes and `chunks` chunks and returns the blob digest
    /// the server computed (`BLOB_SEAL`); see ``BlobStreams/seal(_:size:chunks:hashRest:)``.
    /// Chunks a degraded stream did not hash are read back here, ahead of the hashing.
    public func sealBlobStream(_ stream: UInt32, size: UInt64, chunks: UInt64) throws(StoreError) -> Digest {
        guard chunks <= UInt64(Int.max / 2) else {
            throw .invalidArgument("blob stream \(stream): \(chunks) chunks is out of range")
        }
        let store = self.store
        return try blobStreams.seal(stream, size: size, chunks: Int(chunks)) { (rest, hasher) throws(StoreError) in
            var start = 0
            while start < rest.count {
                let part = rest[start..<min(start + 16_384, rest.count)]
                let places = try store.locateMany(part.map { $0.digest })
                var ready: [BlobStreams.Ready] = []
                for (c, place) in zip(part, places) {
                    guard let place else { throw .chunkNotFound(c.digest) }
                    guard place.entry.rawLength == c.length else {
                        throw .invalidArgument(
                            "chunk \(c.digest) is \(place.entry.rawLength) bytes in the store, not \(c.length)")
                    }
                    ready.append(.init(digest: c.digest, length: c.length, raw: nil, location: place))
                }
                let ahead = StoredChunkReadAhead(store: store, ready)
                defer { ahead.finish() }
                for _ in ready { try ahead.withNext { hasher.update($0) } }
                start += part.count
            }
        }
    }

    /// Raw bytes of the sent entries (decompressed, lengths checked) and the places of the stored
    /// ones, looked up in one catalog read.
    private func prepare(_ entries: [BlobStreamEntry]) throws(StoreError) -> [BlobStreams.Ready] {
        let dec = store.decompressors.take { ChunkDecompressor(maxRawLength: store.options.maxChunkSize) }
        defer { store.decompressors.put(dec) }
        let storedDigests = entries.compactMap { if case .stored(let d, _) = $0 { d } else { nil } }
        var located = try store.locateMany(storedDigests).makeIterator()
        var out: [BlobStreams.Ready] = []
        out.reserveCapacity(entries.count)
        // A reference may name a chunk sent as bytes earlier in the same request (a repeat).
        var sent: [Digest: any SharedBytes] = [:]
        for e in entries {
            switch e {
            case .data(let c):
                switch store.decode(c, dec) {
                case .success(let decoded):
                    let raw: any SharedBytes = decoded ?? c.data
                    out.append(.init(digest: c.digest, length: c.rawLength, raw: raw, location: nil))
                    sent[c.digest] = raw
                case .failure(let refusal):
                    throw .uploadCorrupt("chunk \(c.digest) refused: \(refusal.reason)")
                }
            case .stored(let d, let n):
                let place = located.next() ?? nil
                if let raw = sent[d], raw.count == n {
                    // Verified with the chunk it repeats, in the same pass.
                    out.append(.init(digest: d, length: n, raw: raw, location: nil))
                    continue
                }
                guard let place else { throw .chunkNotFound(d) }
                guard place.entry.rawLength == n else {
                    throw .invalidArgument("chunk \(d) is \(place.entry.rawLength) bytes in the store, not \(n)")
                }
                out.append(.init(digest: d, length: n, raw: nil, location: place))
            }
        }
        return out
    }

    /// For COMMIT: which new blobs closed streams verified entirely, and where to continue the
    /// others. A stream counts only for a recipe whose first chunks are exactly the ones it
    /// hashed (same digests and lengths, in order); otherwise COMMIT reads the blob back whole.
    func streamedBlobStates(_ recipes: [Recipe]) throws(StoreError)
        -> (verified: Set<Digest>, resume: [Digest: (next: Int, hasher: SHA256Stream)])
    {
        let streams = try blobStreams
        var verified = Set<Digest>()
        var resume: [Digest: (next: Int, hasher: SHA256Stream)] = [:]
        for r in recipes where !r.isSingleChunkBlob {
            guard let res = streams.takeResult(r.blobDigest), res.chunks <= r.chunks.count,
                BlobStreams.listDigest(r.chunks[0..<res.chunks]) == res.listDigest
            else { continue }
            if let hasher = res.hasher {
                resume[r.blobDigest] = (res.chunks, hasher)
            } else if res.chunks == r.chunks.count, res.size == r.size {
                verified.insert(r.blobDigest)
            }
        }
        return (verified, resume)
    }
}

extension Store {
    /// A stored chunk's raw bytes for a blob stream (no digest check: the blob digest covers it),
    /// from `place` when known; the index is asked again if a GC moved it since.
    func readBack(_ digest: Digest, _ length: Int, at place: (pack: Int64, entry: PackEntry)?)
        throws(StoreError) -> [UInt8]
    {
        if let place, let raw = try? rawBytes(pack: place.pack, entry: place.entry, checkCRC: false) {
            return raw
        }
        guard let (pack, entry) = try locate(digest) else { throw .chunkNotFound(digest) }
        guard entry.rawLength == length else {
            throw .invalidArgument("chunk \(digest) is \(entry.rawLength) bytes in the store, not \(length)")
        }
        return try rawBytes(pack: pack, entry: entry, checkCRC: false)
    }
}
