import TroveCore

/// Sealing blob streams (PROTOCOL.md §9a, `BLOB_SEAL`, protocol version 3): the client names no
/// blob digest; the server finishes the one it hashed as the chunks arrived and answers with it.
extension BlobStreams {
    /// Remembers the chunks of an append a degraded stream did not feed, for its seal. Lock held.
    func keepUnfed(_ st: Stream, _ start: Int, _ chunks: [Ready]) {
        guard !st.unfedOverflow, !chunks.isEmpty else { return }
        guard st.unfedCount + chunks.count <= Self.maxUnfed else {
            st.unfedOverflow = true
            st.unfed = [:]
            st.unfedCount = 0
            return
        }
        st.unfed[start] = chunks.map { ($0.digest, $0.length) }
        st.unfedCount += chunks.count
    }

    /// Removes stream `id` for its close or seal (`verb`): it must be open, not failed, and have
    /// no append in progress; what it held goes back to the budget. Lock held.
    func takeForClosing(_ s: inout State, _ id: UInt32, _ verb: String) throws(StoreError) -> Stream {
        guard let st = s.streams.removeValue(forKey: id) else {
            throw .invalidArgument("blob stream \(id) is not open")
        }
        if st.heldBytes > 0 {
            Self.heldTotal.subtract(st.heldBytes, ordering: .relaxed)
            st.heldBytes = 0
        }
        if let f = st.failure { throw f }
        guard st.feeder == nil, !st.pending.values.contains(where: \.inProgress) else {
            throw .invalidArgument(
                "blob stream \(id) was \(verb) while chunks were still being stored; send it once every "
                    + "BLOB_CHUNKS is answered")
        }
        return st
    }

    /// Throws unless a stream that did not degrade fed exactly `chunks` chunks and holds no later
    /// run (`verb`: how it was ended, for the message).
    func requireEveryChunkFed(_ st: Stream, _ id: UInt32, _ verb: String, chunks: Int) throws(StoreError) {
        guard st.pending.isEmpty, st.next == chunks else {
            throw .invalidArgument(
                "blob stream \(id) was \(verb) as \(chunks) chunks but carried chunks 0..<\(st.next)"
                    + (st.pending.isEmpty ? "" : " and \(st.pending.count) later runs")
                    + ": send every chunk of the blob, in order")
        }
    }

    /// Closes stream `id` as a blob of `size` bytes and `chunks` chunks and returns its digest:
    /// SHA-256 of every chunk's bytes in order, hashed as they arrived from bytes that verified
    /// against their chunk digests (or that the store holds under them). A degraded stream's
    /// chunks past the point where it stopped hashing are read back from the store through
    /// `hashRest` (their digests and lengths, in order, and the blob hasher to feed). COMMIT then
    /// needs no read-back for a recipe of exactly these chunks under that digest. Throws (and
    /// forgets the stream) when a chunk is missing, the size disagrees, or an append failed.
    func seal(
        _ id: UInt32, size: UInt64, chunks: Int,
        hashRest: ([(digest: Digest, length: Int)], SHA256Stream) throws(StoreError) -> Void
    ) throws(StoreError) -> Digest {
        let st: Stream = try state.withLock { (s) throws(StoreError) -> Stream in
            try takeForClosing(&s, id, "sealed")
        }
        // The stream is no longer reachable by any append: its hashers are this call's alone.
        var rest: [(digest: Digest, length: Int)] = []
        if st.degraded {
            guard !st.unfedOverflow else {
                throw .invalidArgument(
                    "blob stream \(id) fell more than \(Self.maxUnfed) chunks behind its hashing (the server was "
                        + "short of memory); push the file again")
            }
            var at = st.next
            while at < chunks, let run = st.unfed[at] {
                rest += run
                at += run.count
            }
            guard at == chunks, st.unfed.keys.allSatisfy({ $0 < chunks }) else {
                throw .invalidArgument(
                    "blob stream \(id) was sealed as \(chunks) chunks but did not carry chunks \(min(at, chunks))..<\(chunks) "
                        + "exactly once: send every chunk of the blob, in order")
            }
        } else {
            try requireEveryChunkFed(st, id, "sealed", chunks: chunks)
        }
        let carried = rest.reduce(st.fedBytes) { $0 + UInt64($1.length) }
        guard carried == size else {
            throw .invalidArgument("blob stream \(id) carried \(carried) bytes, sealed as \(size)")
        }
        if !rest.isEmpty {
            try hashRest(rest, st.blob)
            for c in rest { Self.appendEntry(st.list, c.digest, c.length) }
        }
        let blob = st.blob.finalize()
        let list = st.list.finalize()
        state.withLock { s in
            if s.results.count < Self.maxResults {
                s.results[blob] = BlobStreamResult(chunks: chunks, size: size, listDigest: list, hasher: nil)
            }
        }
        return blob
    }
}
