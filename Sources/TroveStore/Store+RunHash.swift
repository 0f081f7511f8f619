import TroveCore

extension Store {
    /// The SHA-256 of `chunks`' bytes in order (a blob digest), each chunk's own SHA-256 checked
    /// in the same pass (fused, as ``hashChunks(_:verifyEach:of:continuing:)`` with `verifyEach`),
    /// reading the records in runs (``visitStoredChunks(_:budget:checkCRC:_:)``: one direct read
    /// for neighbouring records, each passed in place; no CRC-32C, which the chunk's SHA-256
    /// covers). A raw chunk is hashed where it was read; a chunk that comes before its turn (the
    /// runs follow the packs' order) is decoded and held until then. CompleteMultipartUpload's
    /// pass over the parts: one read per run of records instead of one per record, and no copy.
    func hashChunksInRuns(_ chunks: [RecipeChunk]) throws(StoreError) -> Digest {
        let pair = SHA256Pair()
        let sha = pair.running
        let dec = decompressors.take { ChunkDecompressor(maxRawLength: options.maxChunkSize) }
        defer { decompressors.put(dec) }
        let digests = chunks.map(\.digest)
        var i = 0
        while i < chunks.count {
            let base = i
            var next = 0
            var held: [Int: [UInt8]] = [:]
            /// Hashes chunk `k` of this visit (its raw bytes) into the blob digest and checks it.
            func feed(_ k: Int, _ raw: UnsafeRawBufferPointer) throws(StoreError) {
                let c = chunks[base + k]
                guard raw.count == Int(c.length) else {
                    throw .corruptData(what: "chunk \(c.digest)", detail: "\(raw.count) bytes, the recipe says \(c.length)")
                }
                guard pair.digestAndAppend(raw, to: sha) == c.digest else {
                    throw .corruptData(what: "chunk \(c.digest)", detail: "content does not hash to its digest")
                }
                next += 1
            }
            func feedHeld() throws(StoreError) {
                while let h = held.removeValue(forKey: next) {
                    if let e = h.withUnsafeBytes({ b in Result { () throws(StoreError) in try feed(next, b) } }).failure {
                        throw e
                    }
                }
            }
            let (n, missing) = try visitStoredChunks(digests[i...], budget: 8 << 20, checkCRC: false) {
                (k: Int, v: StoredChunkView) throws(StoreError) in
                let raw: [UInt8]? = try v.codec == .raw ? nil : Self.decode(v, dec, digests[base + k])
                guard k == next else {
                    held[k] = raw ?? Array(v.bytes)
                    return
                }
                if let raw {
                    if let e = raw.withUnsafeBytes({ b in Result { () throws(StoreError) in try feed(k, b) } }).failure {
                        throw e
                    }
                } else {
                    try feed(k, v.bytes)
                }
                try feedHeld()
            }
            if let k = missing.first { throw .chunkNotFound(digests[base + k]) }
            try feedHeld()
            guard next == n else {
                throw .corruptData(what: "chunk \(digests[base + next])", detail: "it was not read with its neighbours")
            }
            i += n
        }
        return sha.finalize()
    }
}

extension Store {
    /// The raw bytes of a compressed chunk.
    fileprivate static func decode(_ v: StoredChunkView, _ dec: ChunkDecompressor, _ digest: Digest) throws(StoreError)
        -> [UInt8]
    {
        guard v.rawLength >= 0, v.rawLength <= dec.maxRawLength else {
            throw .corruptData(what: "chunk \(digest)", detail: "raw length \(v.rawLength) out of range")
        }
        var out = [UInt8](repeating: 0, count: v.rawLength)
        let result = out.withUnsafeMutableBytes { o in
            Result { () throws(CodecError) in try dec.decompress(v.bytes, codec: v.codec, into: o) }
        }
        if let e = result.failure { throw .corruptData(what: "chunk \(digest)", detail: "\(e)") }
        return out
    }
}

extension Result {
    /// The error, if this is a failure.
    fileprivate var failure: Failure? {
        if case .failure(let e) = self { return e }
        return nil
    }
}
