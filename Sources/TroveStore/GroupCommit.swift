import Dispatch
import Synchronization
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// A verified chunk waiting to be written.
struct VerifiedChunk: Sendable {
    var digest: Digest
    var codec: Codec
    var rawLength: Int
    /// The bytes as sent (a received frame's buffer is written to the pack without a copy).
    var stored: any SharedBytes
    /// CRC-32C of `stored`, computed by the caller (outside the serialised leader work).
    var crc: UInt32
}

/// Leader/follower group commit. Callers enqueue a batch; whoever finds no leader running
/// becomes the leader, takes every pending batch, writes them as one pack segment, fsyncs once,
/// indexes them in one SQLite transaction and wakes their callers. Batches that arrive while a
/// leader works wait; when it finishes it hands leadership to the oldest of them, which takes
/// them all, so one fsync pair covers many callers.
final class GroupCommit: Sendable {
    final class Batch: Sendable {
        let chunks: [VerifiedChunk]
        /// Chunks newly stored and the failure, set by the leader that flushed the batch.
        private let outcome = Mutex<(stored: Int, error: StoreError?)>((0, nil))
        /// Signalled once: the batch is done, or its caller is the next leader.
        fileprivate let wake = DispatchSemaphore(value: 0)
        fileprivate let done = Mutex(false)

        init(_ chunks: [VerifiedChunk]) { self.chunks = chunks }

        func fail(_ e: StoreError) { outcome.withLock { $0.error = e } }
        func addStored(_ n: Int) { outcome.withLock { $0.stored += n } }
        fileprivate var result: (stored: Int, error: StoreError?) { outcome.withLock { $0 } }
    }

    /// The pack currently being appended to (used by the leader only).
    struct Writer: Sendable {
        var id: Int64
        var name: String
        var path: String
        var fd: Int32
        var size: Int
    }

    private struct Queue {
        var pending: [Batch] = []
        var leaderActive = false
    }

    private let queue = Mutex(Queue())
    private let current = Mutex<Writer?>(nil)
    /// The aligned buffer segments are built in (used by the leader only, so never contended).
    let segments = Mutex(SegmentWriter())

    var writer: Writer? {
        get { current.withLock { $0 } }
        set { current.withLock { $0 = newValue } }
    }

    /// Runs `flush` as leader or waits for a leader to cover this batch. Returns how many of the
    /// batch's chunks were newly stored.
    func submit(_ chunks: [VerifiedChunk], flush: ([Batch]) -> Void) throws(StoreError) -> Int {
        let batch = Batch(chunks)
        let lead = queue.withLock { q in
            q.pending.append(batch)
            if q.leaderActive { return false }
            q.leaderActive = true
            return true
        }
        if !lead {
            batch.wake.wait()
        }
        if !batch.done.withLock({ $0 }) {
            // Leader: take everything pending (this batch included), flush, hand over.
            let work = queue.withLock { q in
                defer { q.pending = [] }
                return q.pending
            }
            flush(work)
            let next: Batch? = queue.withLock { q in
                if let first = q.pending.first { return first }
                q.leaderActive = false
                return nil
            }
            for b in work {
                b.done.withLock { $0 = true }
                if b !== batch { b.wake.signal() }
            }
            next?.wake.signal()
        }
        let r = batch.result
        if let e = r.error { throw e }
        return r.stored
    }

    func closeWriter() {
        current.withLock { w in
            if let fd = w?.fd { close(fd) }
            w = nil
        }
    }
}
