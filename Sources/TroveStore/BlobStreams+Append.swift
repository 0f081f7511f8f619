import Dispatch
import TroveCore

/// Appending to and closing blob streams (see ``BlobStreams`` for the rules).
extension BlobStreams {
    /// A chunk of an append, ready to hash: its raw bytes (decompressed, not yet verified), or
    /// for a chunk the store holds, where it is (nil: look it up when it is read back).
    struct Ready: @unchecked Sendable {
        let digest: Digest
        let length: Int
        /// Raw bytes of a chunk that was sent (the received frame's, when sent uncompressed);
        /// nil for a stored chunk.
        let raw: (any SharedBytes)?
        /// Where a stored chunk is.
        let location: (pack: Int64, entry: PackEntry)?
    }

    private enum Decision {
        case feed, alone, failed(StoreError)
        case wait(DispatchSemaphore)
    }

    /// Verifies an append's chunks (`position` is the blob index of the first) and feeds them to
    /// the stream's blob digest in order: at once if the stream is there, after the running
    /// append before it, or later from the hold. Throws if a sent chunk does not hash to its
    /// digest or a stored one cannot be read back (the stream fails: later appends and the close
    /// are refused). On return every sent chunk has verified. `readBack` reads a stored chunk's
    /// raw bytes; `readAhead`, when given, reads an append's stored chunks ahead of the hashing
    /// instead (``StoredChunkReadAhead``).
    func append(
        _ id: UInt32, position: Int, _ chunks: [Ready], readBack: (Ready) throws(StoreError) -> [UInt8],
        readAhead: (([Ready]) -> StoredChunkReadAhead)? = nil
    ) throws(StoreError) {
        let end = position + chunks.count
        let st: Stream = try state.withLock { (s) throws(StoreError) -> Stream in
            guard let st = s.streams[id] else {
                throw .invalidArgument("blob stream \(id) is not open; send BLOB_OPEN first")
            }
            if let f = st.failure { throw f }
            guard position >= st.next else {
                throw .invalidArgument(
                    "blob stream \(id): chunk \(position) was streamed already (the stream is at chunk \(st.next))")
            }
            guard chunks.count > 0 else { return st }
            guard st.pending.count < Self.maxPending else {
                throw .invalidArgument(
                    "blob stream \(id) has \(Self.maxPending) appends outstanding; wait for answers before sending more")
            }
            for (start, p) in st.pending where start < end && position < p.end {
                throw .invalidArgument(
                    "blob stream \(id): chunks \(position)..<\(end) overlap chunks \(start)..<\(p.end) sent before")
            }
            st.pending[position] = .running(end: end)
            return st
        }
        guard !chunks.isEmpty else { return }
        var verified = false
        while true {
            let decision: Decision = state.withLock { _ in
                if let f = st.failure {
                    st.pending[position] = nil
                    return .failed(f)
                }
                if st.degraded { return .alone }
                if st.feeder == position { return .feed }
                if st.feeder == nil && st.next == position {
                    st.feeder = position
                    return .feed
                }
                if !verified, st.pending.contains(where: { $0.value.end == position && $0.value.inProgress }) {
                    let wake = DispatchSemaphore(value: 0)
                    st.pending[position] = .waiting(end: end, wake: wake)
                    return .wait(wake)
                }
                return .alone
            }
            switch decision {
            case .failed(let f):
                throw f
            case .wait(let wake):
                // The append before this one is running and signals when it is done.
                wake.wait()
                continue
            case .feed:
                let fed = feed(st, id, chunks, verified: verified, readBack: readBack, readAhead: readAhead)
                try finishFeeding(st, id, start: position, end: end, fed, readBack: readBack, readAhead: readAhead)
                return
            case .alone:
                if verified {
                    if hold(st, start: position, end: end, chunks) { return }
                    continue  // the stream reached this append while it verified: feed it
                }
                try verifyAlone(st, id, position, chunks)
                verified = true
                if state.withLock({ _ in st.degraded }) {
                    state.withLock { _ in
                        st.pending[position] = nil
                        keepUnfed(st, position, chunks)
                        wakeWaiter(st, at: end)
                    }
                    return
                }
            }
        }
    }

    /// Checks the sent chunks' digests on their own (the append cannot feed the blob now).
    private func verifyAlone(_ st: Stream, _ id: UInt32, _ position: Int, _ chunks: [Ready]) throws(StoreError) {
        let sent = chunks.filter { $0.raw != nil }
        let pair = SHA256Pair()
        let digests = Store.withRawBuffers(sent.map { $0.raw! }) { Store.hashInPairs($0, pair) }
        for (c, actual) in zip(sent, digests) where actual != c.digest {
            let f = StoreError.uploadCorrupt("chunk \(c.digest) of blob stream \(id) hashes to \(actual)")
            state.withLock { _ in
                st.pending[position] = nil
                fail(st, f)
            }
            throw f
        }
    }

    /// Keeps a verified early append until the stream reaches it, within the hold budgets;
    /// beyond them the stream stops hashing (COMMIT reads its blob back from where it stopped).
    /// Returns false, holding nothing, when the stream has reached `start` meanwhile (the append
    /// before finished while this one verified and found it still running): the caller now holds
    /// the feeder claim and feeds the chunks itself.
    private func hold(_ st: Stream, start: Int, end: Int, _ chunks: [Ready]) -> Bool {
        /// Claims the feeder when the stream is at `start` and nobody feeds it. Lock held.
        func claimIfReached() -> Bool {
            guard !st.degraded, st.failure == nil, st.feeder == nil, st.next == start else { return false }
            st.feeder = start
            return true
        }
        if state.withLock({ _ in claimIfReached() }) { return false }
        let bytes = chunks.reduce(0) { $0 + ($1.raw?.count ?? 0) }
        // Copies: a held chunk must not keep its whole received frame alive.
        let chunks = chunks.map { c in
            Ready(digest: c.digest, length: c.length, raw: c.raw?.array, location: c.location)
        }
        return state.withLock { _ in
            if claimIfReached() { return false }
            var fits = !st.degraded && st.heldBytes + bytes <= holdBudget
            if fits, Self.heldTotal.add(bytes, ordering: .relaxed).newValue > Self.globalHoldBudget {
                Self.heldTotal.subtract(bytes, ordering: .relaxed)
                fits = false
            }
            if fits {
                st.pending[start] = .held(end: end, chunks: chunks, bytes: bytes)
                st.heldBytes += bytes
            } else {
                st.pending[start] = nil
                keepUnfed(st, start, chunks)
                degrade(st)
            }
            wakeWaiter(st, at: end)
            return true
        }
    }

    /// Hashes `chunks` into the blob digest (the caller holds the feeder claim): fused with each
    /// sent chunk's own digest unless `verified`; stored chunks are read back. Returns the bytes
    /// fed, or why the stream fails.
    private func feed(
        _ st: Stream, _ id: UInt32, _ chunks: [Ready], verified: Bool,
        readBack: (Ready) throws(StoreError) -> [UInt8], readAhead: (([Ready]) -> StoredChunkReadAhead)?
    ) -> Result<UInt64, StoreError> {
        let ahead = chunks.contains { $0.raw == nil } ? readAhead?(chunks) : nil
        defer { ahead?.finish() }
        let pair = SHA256Pair()
        // With many sent chunks, verify them all first on the many lanes; the blob digest then
        // takes their bytes alone.
        let sent = verified || !manyLanes ? [] : chunks.filter { $0.raw != nil }
        if sent.count >= Self.manyLanesMinChunks {
            let digests = Store.withRawBuffers(sent.map { $0.raw! }) { pair.digests(of: $0) }
            for (c, actual) in zip(sent, digests) where actual != c.digest {
                return .failure(.uploadCorrupt("chunk \(c.digest) of blob stream \(id) hashes to \(actual)"))
            }
        }
        let checked = verified || sent.count >= Self.manyLanesMinChunks
        var size: UInt64 = 0
        for c in chunks {
            if let raw = c.raw {
                if checked {
                    raw.withUnsafeBytes { st.blob.update($0) }
                } else {
                    let actual = raw.withUnsafeBytes { pair.digestAndAppend($0, to: st.blob) }
                    guard actual == c.digest else {
                        return .failure(.uploadCorrupt("chunk \(c.digest) of blob stream \(id) hashes to \(actual)"))
                    }
                }
            } else {
                do throws(StoreError) {
                    if let ahead {
                        try ahead.withNext { st.blob.update($0) }
                    } else {
                        let raw = try readBack(c)
                        raw.withUnsafeBytes { st.blob.update($0) }
                    }
                } catch {
                    return .failure(error)
                }
            }
            Self.appendEntry(st.list, c.digest, c.length)
            size += UInt64(c.length)
        }
        return .success(size)
    }

    /// After an append fed its chunks: moves the stream on and feeds held appends that are next
    /// (or hands the claim to the append waiting there).
    private func finishFeeding(
        _ st: Stream, _ id: UInt32, start: Int, end: Int, _ fed: Result<UInt64, StoreError>,
        readBack: (Ready) throws(StoreError) -> [UInt8], readAhead: (([Ready]) -> StoredChunkReadAhead)?
    ) throws(StoreError) {
        var current = (start: start, end: end, fed: fed)
        while true {
            let heldNext: (start: Int, end: Int, chunks: [Ready])? = state.withLock { _ in
                st.pending[current.start] = nil
                switch current.fed {
                case .failure(let f):
                    fail(st, f)
                    return nil
                case .success(let n):
                    st.next = current.end
                    st.fedBytes += n
                }
                st.feeder = nil
                guard let p = st.pending[st.next] else { return nil }
                switch p {
                case .waiting(let e, let wake):
                    st.feeder = st.next
                    st.pending[st.next] = .running(end: e)
                    wake.signal()
                    return nil
                case .running:
                    // It finds the stream at its position when it is done verifying.
                    return nil
                case .held(let e, let chunks, let bytes):
                    st.pending[st.next] = .running(end: e)
                    st.heldBytes -= bytes
                    Self.heldTotal.subtract(bytes, ordering: .relaxed)
                    st.feeder = st.next
                    return (st.next, e, chunks)
                }
            }
            if case .failure(let f) = current.fed, current.start == start { throw f }
            guard let h = heldNext else { return }
            // Held chunks verified already: only the blob digest (and reads of stored chunks).
            current = (h.start, h.end, feed(st, id, h.chunks, verified: true, readBack: readBack, readAhead: readAhead))
        }
    }

    /// Marks the stream failed and wakes every waiting append. Lock held.
    private func fail(_ st: Stream, _ f: StoreError) {
        if st.failure == nil { st.failure = f }
        st.feeder = nil
        wakeAll(st)
    }

    /// Stops hashing: drops what is held and wakes every waiting append. Lock held.
    private func degrade(_ st: Stream) {
        st.degraded = true
        for (start, p) in st.pending {
            if case .held(_, let chunks, _) = p {
                st.pending[start] = nil
                keepUnfed(st, start, chunks)
            }
        }
        Self.heldTotal.subtract(st.heldBytes, ordering: .relaxed)
        st.heldBytes = 0
        wakeAll(st)
    }

    private func wakeAll(_ st: Stream) {
        for (start, p) in st.pending {
            if case .waiting(let e, let wake) = p {
                st.pending[start] = .running(end: e)
                wake.signal()
            }
        }
    }

    /// Wakes the append waiting at `position` (its predecessor is no longer running). Lock held.
    private func wakeWaiter(_ st: Stream, at position: Int) {
        if case .waiting(let e, let wake)? = st.pending[position] {
            st.pending[position] = .running(end: e)
            wake.signal()
        }
    }

    /// Marks stream `id` failed (an append whose chunks could not even be decoded).
    func fail(_ id: UInt32, _ f: StoreError) {
        state.withLock { s in
            if let st = s.streams[id] { fail(st, f) }
        }
    }

    /// Closes stream `id` as the blob `blob` of `size` bytes and `chunks` chunks. True: every
    /// chunk was hashed in order and the blob digest matched (COMMIT reads none of it back);
    /// false: the stream stopped hashing early and COMMIT continues from there. Throws (and
    /// forgets the stream) when a chunk is missing, the sizes disagree, the digest does not
    /// match, or an append failed.
    func close(_ id: UInt32, blob: Digest, size: UInt64, chunks: Int) throws(StoreError) -> Bool {
        try state.withLock { (s) throws(StoreError) -> Bool in
            let st = try takeForClosing(&s, id, "closed")
            if st.degraded {
                guard st.next <= chunks else {
                    throw .invalidArgument("blob stream \(id) carried \(st.next) chunks, closed as \(chunks)")
                }
                if s.results.count < Self.maxResults {
                    s.results[blob] = BlobStreamResult(
                        chunks: st.next, size: st.fedBytes, listDigest: st.list.finalize(), hasher: st.blob)
                }
                return false
            }
            try requireEveryChunkFed(st, id, "closed", chunks: chunks)
            guard st.fedBytes == size else {
                throw .invalidArgument("blob stream \(id) carried \(st.fedBytes) bytes, closed as \(size)")
            }
            let actual = st.blob.finalize()
            guard actual == blob else { throw .blobMismatch(expected: blob, actual: actual) }
            if s.results.count < Self.maxResults {
                s.results[blob] = BlobStreamResult(
                    chunks: chunks, size: size, listDigest: st.list.finalize(), hasher: nil)
            }
            return true
        }
    }
}
