/// The parallel ingest pass.
///
/// The calling thread reads the input into a small ring of segments (each `segmentSize` bytes)
/// and finds chunk boundaries; a chunk never spans segments (the unchunked tail of a segment is
/// copied to the front of the next one). Each published chunk creates two kinds of work:
/// its digest (independent, any thread) and its bytes' share of the blob digest, which must be
/// fed in order, so the blob digest is a single "lane" that one thread at a time may hold.
/// Worker threads prefer the blob lane, then chunk digests. The boundary thread helps with the
/// same work whenever it has no free segment, so `threads` threads stay busy without
/// oversubscribing the cores. A segment is recycled, in order, once all its work is done.
///
/// With the CPU's SHA extensions (``SHA256Pair/accelerated``) the blob lane also computes the
/// chunk digests, in the same pass over each chunk's bytes (two interleaved SHA-256 streams cost
/// about 1.3 × one): there are then no separate digest jobs, one thread hashes while the other
/// finds boundaries, and the hashing costs ~35 % less CPU than two separate passes.
///
/// A sink (``IngestSink``) sees each segment's chunks and bytes in input order before the buffer
/// is reused: a push uploads a large file's chunks from there while it still reads the file; with
/// an ``IngestBufferSource`` the segments' buffers are borrowed from it and each goes back after
/// the sink saw it (a fresh one taking its place), so the sink may keep references to the bytes
/// instead of copying them. With a sink, each chunk's CRC-32C is taken too, by the thread that
/// hashes it: in the SHA lanes' pass (digest jobs with the SHA extensions) at about no cost, else
/// in a pass of its own; the sink gets them with the chunks (a push's frame checksum), so the
/// reading thread does not read the bytes again for them.
///
/// Shared state is guarded by one mutex; chunks are published about 1 MiB at a time and claimed
/// up to 2 MiB of chunks (1 MiB of blob) at a time, so locking and wake-ups cost little per MiB.
final class IngestPipeline {
    /// A read buffer and the chunks found in it.
    final class Segment {
        /// The buffer: the segment's own, or borrowed from `source` (swapped for another one once
        /// the sink has seen it).
        var base: UnsafeMutablePointer<UInt8>
        let source: IngestBufferSource?
        let capacity: Int
        let slotCapacity: Int
        let starts: UnsafeMutablePointer<Int>
        let lengths: UnsafeMutablePointer<Int>
        let digests: UnsafeMutablePointer<Digest>
        /// Each chunk's CRC-32C, written only when a sink is listening (it gets them).
        let crcs: UnsafeMutablePointer<UInt32>
        var length = 0  // valid bytes (carried tail + reads); written only by the boundary thread
        var fileOffset: UInt64 = 0
        // Guarded by the pipeline lock:
        var published = 0  // chunks visible to workers
        var publishedEnd = 0  // byte end of the published chunks
        var sealed = false  // no more chunks will be added
        var digestNext = 0
        var digestsDone = 0
        var blobNext = 0
        var blobDone = 0

        init(capacity: Int, minChunk: Int, source: IngestBufferSource?) {
            self.capacity = capacity
            self.source = source
            base = source?.take(capacity: capacity) ?? .allocate(capacity: capacity)
            // Chunks are at least min - 1 bytes (odd min) except the input's last one.
            slotCapacity = capacity / Swift.max(1, minChunk - 1) + 2
            starts = .allocate(capacity: slotCapacity)
            lengths = .allocate(capacity: slotCapacity)
            digests = .allocate(capacity: slotCapacity)
            crcs = .allocate(capacity: slotCapacity)
        }

        deinit {
            if let source { source.recycle(base) } else { base.deallocate() }
            starts.deallocate()
            lengths.deallocate()
            digests.deallocate()
            crcs.deallocate()
        }

        func reset() {
            length = 0
            published = 0
            publishedEnd = 0
            sealed = false
            digestNext = 0
            digestsDone = 0
            blobNext = 0
            blobDone = 0
        }

        /// The next published chunks not yet claimed for digests, about `bytes` of them (at
        /// least one); nil if there are none. With `pairs`, a segment still being cut hands out
        /// an even number of chunks (a one-chunk claim waits for its partner, or for the seal):
        /// two chunks share one interleaved SHA-256 pass, about 1.3 × the cost of one, so an odd
        /// one out costs half again as much per byte. Pipeline lock held.
        func claimChunks(bytes limit: Int, pairs: Bool = false) -> (first: Int, end: Int)? {
            guard digestNext < published else { return nil }
            let first = digestNext
            var end = first + 1
            var bytes = lengths[first]
            while end < published && bytes < limit {
                bytes += lengths[end]
                end += 1
            }
            if pairs && !sealed && (end - first) % 2 == 1 {
                if end < published {
                    end += 1
                } else if end - first == 1 {
                    return nil
                } else {
                    end -= 1
                }
            }
            digestNext = end
            return (first, end)
        }

        func finished(blob: Bool) -> Bool {
            sealed && digestsDone == published && (!blob || blobDone == publishedEnd)
        }
    }

    enum Job {
        /// Digests of chunks `first..<end` of a segment.
        case digest(Segment, Int, Int)
        /// Blob digest of segment bytes `start..<end`.
        case blob(Segment, Int, Int)
        /// Digests of chunks `first..<end` and their bytes' share of the blob digest, in one pass.
        case fused(Segment, Int, Int)
    }

    private static let workCondition = 0
    private static let boundaryCondition = 1
    private static let blobGrab = 1 << 20
    /// Chunk digests claimed at once: up to this many bytes (at least one chunk). A claim's
    /// chunks run on two SHA lanes (`trove_sha256_many`) and its last bytes on one: the larger
    /// the claim, the smaller that share (256 KiB claims ran 19 % of the bytes on one lane).
    private static let digestGrab = 2 << 20
    /// The boundary thread publishes chunks in batches of about this many bytes, and at the end
    /// of each segment: a helper is woken once per batch, not once per chunk (per-chunk
    /// publishing woke the hashing thread ~16 000 times per GiB, two chunks at a time).
    private static let publishBatch = 1 << 20

    private let chunker: FastCDC
    private let segmentSize: Int
    private let threads: Int
    private let computeBlob: Bool
    /// Chunk digests computed with the blob digest (``Job/fused``) instead of as separate jobs.
    private let fused: Bool
    private let lock = ConditionLock(conditions: 2)

    // Guarded by `lock`:
    private var free: [Segment] = []
    private var inFlight: [Segment] = []  // in input order; index 0 is the oldest
    private var digestCursor = 0  // index into inFlight
    private var blobCursor = 0  // index into inFlight
    private var blobBusy = false
    private var shutdown = false
    private var idleWorkers = 0
    private var boundaryWaiting = false

    // Boundary thread only:
    private var chunks: [ChunkRef] = []
    private let blobHasher = SHA256()  // used only by the holder of the blob lane
    private let pairHasher = SHA256Pair()  // fused mode: used only by the holder of the blob lane
    private let localHasher = ChunkHasher()

    /// Called on the boundary thread with each segment's chunks, in input order, once they are
    /// hashed and before the segment's buffer is reused (nil: nobody listens).
    private let sink: IngestSink?

    init(
        chunker: FastCDC, segmentSize: Int, threads: Int, blobDigest: Bool, sink: IngestSink? = nil,
        buffers: IngestBufferSource? = nil
    ) {
        self.sink = sink
        self.chunker = chunker
        self.segmentSize = segmentSize
        self.threads = threads
        computeBlob = blobDigest
        fused = blobDigest && SHA256Pair.accelerated
        let count = Swift.max(3, threads + 2)
        for _ in 0..<count {
            free.append(Segment(capacity: segmentSize, minChunk: chunker.minSize, source: sink == nil ? nil : buffers))
        }
    }

    /// Chunks and hashes `source`. `cuts` are forced boundaries (strictly increasing offsets):
    /// FastCDC runs inside each segment between them as if it were a whole input; offsets at or
    /// past the end of the input are ignored.
    func run<Source: ByteSource>(source: Source, cuts: [UInt64] = []) throws(IngestError) -> IngestResult {
        var source = source
        var workers: [JoinableThread] = []
        for _ in 1..<threads {
            if let t = JoinableThread({ [self] in workerLoop() }) { workers.append(t) }
        }
        defer {
            lock.lock()
            shutdown = true
            lock.broadcast(Self.workCondition)
            lock.unlock()
            for w in workers { w.join() }
        }

        let maxChunk = chunker.maxSize
        var eof = false
        var current = acquireSegment(hasher: localHasher)
        current.fileOffset = 0
        try fill(current, from: &source, eof: &eof)
        var pos = 0
        var count = 0
        var unpublishedBytes = 0
        var cutIndex = 0
        var nextCut = cuts.first ?? .max
        while true {
            let available = current.length - pos
            if available == 0 && eof { break }
            // A forced cut within reach ends the input for this chunk (no chunk crosses it).
            var limit = available
            var forced = false
            if nextCut != .max {
                let here = current.fileOffset + UInt64(pos)
                while nextCut <= here {
                    cutIndex += 1
                    nextCut = cutIndex < cuts.count ? cuts[cutIndex] : .max
                }
                if nextCut - here <= UInt64(available) {
                    limit = Int(nextCut - here)
                    forced = true
                }
            }
            // Forced cuts can make chunks shorter than `min`: a full chunk table moves on to the
            // next segment (never happens without forced cuts).
            if (available >= maxChunk || eof || forced) && count < current.slotCapacity {
                let n = chunker.cut(current.base + pos, count: limit)
                current.starts[count] = pos
                current.lengths[count] = n
                count += 1
                pos += n
                unpublishedBytes += n
                if unpublishedBytes >= Self.publishBatch {
                    unpublishedBytes = 0
                    lock.lock()
                    current.published = count
                    current.publishedEnd = pos
                    if idleWorkers > 0 { lock.signal(Self.workCondition) }
                    lock.unlock()
                }
            } else {
                // Not enough bytes for a maximum chunk (or no free chunk slot): carry the tail over.
                let next = acquireSegment(hasher: localHasher)
                if available > 0 { next.base.update(from: current.base + pos, count: available) }
                next.length = available
                next.fileOffset = current.fileOffset + UInt64(pos)
                seal(current, count: count, end: pos)
                current = next
                pos = 0
                count = 0
                unpublishedBytes = 0
                try fill(current, from: &source, eof: &eof)
            }
        }
        seal(current, count: count, end: pos)
        let total = current.fileOffset + UInt64(pos)
        drain(hasher: localHasher)
        let blob = fused ? pairHasher.finalizeRunning() : computeBlob ? blobHasher.finalize() : .zero
        return IngestResult(size: total, blobDigest: blob, chunks: chunks)
    }

    private func fill<Source: ByteSource>(_ s: Segment, from source: inout Source, eof: inout Bool)
        throws(IngestError)
    {
        while s.length < s.capacity && !eof {
            let n = try source.read(
                into: UnsafeMutableRawBufferPointer(start: s.base + s.length, count: s.capacity - s.length))
            if n == 0 { eof = true } else { s.length += n }
        }
    }

    /// Publishes the segment's last chunks and marks it complete.
    private func seal(_ s: Segment, count: Int, end: Int) {
        lock.lock()
        s.published = count
        s.publishedEnd = end
        s.sealed = true
        if idleWorkers > 0 { lock.broadcast(Self.workCondition) }
        lock.unlock()
    }

    /// Moves finished segments at the head of `inFlight` to `free`, in order, collecting their
    /// chunks. Called with the lock held, on the boundary thread; with a ``sink``, the lock is
    /// released while the sink looks at the segments (their buffers are not reused meanwhile).
    private func collectFinished() {
        // Segments may finish while the sink runs unlocked: collect until none is left, so the
        // caller never waits for a wake-up that was already sent.
        while collectFinishedOnce() {}
    }

    /// One pass of ``collectFinished()``; false when no segment was finished.
    private func collectFinishedOnce() -> Bool {
        var removed = 0
        while removed < inFlight.count, inFlight[removed].finished(blob: computeBlob) {
            let s = inFlight[removed]
            for i in 0..<s.published {
                chunks.append(
                    ChunkRef(
                        offset: s.fileOffset + UInt64(s.starts[i]), length: s.lengths[i], digest: s.digests[i]
                    ))
            }
            removed += 1
        }
        guard removed > 0 else { return false }
        let done = Array(inFlight[0..<removed])
        inFlight.removeFirst(removed)
        digestCursor = Swift.max(0, digestCursor - removed)
        blobCursor = Swift.max(0, blobCursor - removed)
        if let sink {
            let first = chunks.count - done.reduce(0) { $0 + $1.published }
            lock.unlock()
            var at = first
            for s in done {
                chunks.withUnsafeBufferPointer { all in
                    sink(
                        UnsafeBufferPointer(rebasing: all[at..<at + s.published]),
                        UnsafeRawBufferPointer(start: s.base, count: s.publishedEnd), s.fileOffset,
                        UnsafeBufferPointer(start: s.crcs, count: s.published))
                }
                at += s.published
                // A borrowed buffer goes back (the sink may still hold on to its bytes) and the
                // segment takes another one, which nobody else holds.
                if let source = s.source {
                    source.recycle(s.base)
                    s.base = source.take(capacity: s.capacity)
                }
            }
            lock.lock()
        }
        for s in done {
            s.reset()
            free.append(s)
        }
        return sink != nil
    }

    /// A free segment appended to `inFlight`; helps with work (or waits) until one is free.
    private func acquireSegment(hasher: ChunkHasher) -> Segment {
        lock.lock()
        while true {
            collectFinished()
            if let s = free.popLast() {
                inFlight.append(s)
                lock.unlock()
                return s
            }
            if let job = claim() {
                lock.unlock()
                perform(job, hasher: hasher)
                lock.lock()
                complete(job)
            } else {
                boundaryWaiting = true
                lock.wait(Self.boundaryCondition)
                boundaryWaiting = false
            }
        }
    }

    /// Helps until every in-flight segment is finished and collected.
    private func drain(hasher: ChunkHasher) {
        lock.lock()
        while true {
            collectFinished()
            if inFlight.isEmpty { break }
            if let job = claim() {
                lock.unlock()
                perform(job, hasher: hasher)
                lock.lock()
                complete(job)
            } else {
                boundaryWaiting = true
                lock.wait(Self.boundaryCondition)
                boundaryWaiting = false
            }
        }
        lock.unlock()
    }

    /// Next piece of work, or nil if none is available now. Lock held.
    private func claim() -> Job? {
        if fused { return blobBusy ? nil : claimFused() }
        if computeBlob && !blobBusy {
            while blobCursor < inFlight.count {
                let s = inFlight[blobCursor]
                if s.blobNext < s.publishedEnd {
                    let start = s.blobNext
                    let end = Swift.min(s.publishedEnd, start + Self.blobGrab)
                    s.blobNext = end
                    blobBusy = true
                    return .blob(s, start, end)
                }
                if s.sealed && blobCursor + 1 < inFlight.count { blobCursor += 1 } else { break }
            }
        }
        while digestCursor < inFlight.count {
            let s = inFlight[digestCursor]
            if let (first, end) = s.claimChunks(bytes: Self.digestGrab, pairs: SHA256Pair.accelerated) {
                return .digest(s, first, end)
            }
            if s.sealed && digestCursor + 1 < inFlight.count { digestCursor += 1 } else { break }
        }
        return nil
    }

    /// Fused mode: the next published chunks (about `blobGrab` bytes), in input order. Lock held.
    private func claimFused() -> Job? {
        while blobCursor < inFlight.count {
            let s = inFlight[blobCursor]
            if let (first, end) = s.claimChunks(bytes: Self.blobGrab) {
                s.blobNext = s.starts[end - 1] + s.lengths[end - 1]
                blobBusy = true
                return .fused(s, first, end)
            }
            if s.sealed && blobCursor + 1 < inFlight.count { blobCursor += 1 } else { break }
        }
        return nil
    }

    /// Does the work, without the lock.
    private func perform(_ job: Job, hasher: ChunkHasher) {
        switch job {
        case .fused(let s, let first, let end):
            for i in first..<end {
                let chunk = UnsafeRawBufferPointer(start: s.base + s.starts[i], count: s.lengths[i])
                s.digests[i] = pairHasher.digestAndAppend(chunk)
                if sink != nil { s.crcs[i] = CRC32C.update(0, chunk) }
            }
        case .digest(let s, let first, let end):
            func bytes(_ i: Int) -> UnsafeRawBufferPointer { .init(start: s.base + s.starts[i], count: s.lengths[i]) }
            if let two = hasher.two {  // two chunks at a time on two lanes: about 0.6 × the cost of one
                let buffers = (first..<end).map(bytes)
                let digests = sink != nil ? two.digests(of: buffers, crcs: s.crcs + first) : two.digests(of: buffers)
                for (i, d) in zip(first..<end, digests) { s.digests[i] = d }
            } else {
                for i in first..<end {
                    s.digests[i] = hasher.one.hash(bytes(i))
                    if sink != nil { s.crcs[i] = CRC32C.update(0, bytes(i)) }
                }
            }
        case .blob(let s, let start, let end):
            blobHasher.update(UnsafeRawBufferPointer(start: s.base + start, count: end - start))
        }
    }

    /// Records finished work and wakes whoever may proceed. Lock held.
    private func complete(_ job: Job) {
        let s: Segment
        switch job {
        case .digest(let seg, let first, let end):
            s = seg
            s.digestsDone += end - first
        case .blob(let seg, _, let end):
            s = seg
            s.blobDone = end
            blobBusy = false
            if idleWorkers > 0 { lock.signal(Self.workCondition) }
        case .fused(let seg, let first, let end):
            s = seg
            s.digestsDone += end - first
            s.blobDone = s.starts[end - 1] + s.lengths[end - 1]
            blobBusy = false
            if idleWorkers > 0 { lock.signal(Self.workCondition) }
        }
        if boundaryWaiting && s.finished(blob: computeBlob) { lock.signal(Self.boundaryCondition) }
    }

    private func workerLoop() {
        let hasher = ChunkHasher()
        lock.lock()
        while !shutdown {
            if let job = claim() {
                lock.unlock()
                perform(job, hasher: hasher)
                lock.lock()
                complete(job)
            } else {
                idleWorkers += 1
                lock.wait(Self.workCondition)
                idleWorkers -= 1
            }
        }
        lock.unlock()
    }
}

/// One thread's chunk hashers: `two` digests two chunks in one interleaved pass (SHA extensions).
final class ChunkHasher {
    let one = SHA256()
    let two: SHA256Pair? = SHA256Pair.accelerated ? SHA256Pair() : nil
}
