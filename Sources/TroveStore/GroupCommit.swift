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
}

/// Leader/follower group commit in two stages. Callers enqueue a batch; whoever finds no leader
/// running becomes the leader, takes every pending batch and runs the flush's first stage (write
/// them as one pack segment). The flush returns its second stage (`fdatasync`, index): a large
/// segment's leader hands leadership on first, so the next flush writes while this one syncs and
/// indexes; a small one's keeps it until done (so small batches keep grouping behind it). Second
/// stages run strictly in the order of the writes, and a batch is answered only after its own.
/// Batches that arrive while a leader writes wait; the oldest of them leads next and takes them
/// all, so one fsync pair covers many callers.
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

    /// The pack currently being appended to.
    struct Writer: Sendable {
        var id: Int64
        var name: String
        var path: String
        var fd: Int32
        var size: Int
    }

    /// A flush's second stage, run after every earlier flush's, and whether the next flush may
    /// write while it runs.
    struct Staged {
        var overlap: Bool
        var finish: () -> Void

        /// Nothing left to do (the batches failed or needed no write).
        static var none: Staged { Staged(overlap: false, finish: {}) }
    }

    private struct Queue {
        var pending: [Batch] = []
        var leaderActive = false
        /// Tickets of second stages, handed out in the order of the writes.
        var nextTicket: UInt64 = 0
    }

    /// Second stages: the ticket whose turn it is and the callers waiting for theirs.
    private struct Turns {
        var serving: UInt64 = 0
        var waiting: [UInt64: DispatchSemaphore] = [:]
    }

    private let queue = Mutex(Queue())
    private let turns = Mutex(Turns())
    /// The pack being appended to. A flush's write holds `writeStage` throughout; so does the
    /// failure handling of a second stage that changes it (a write is never in progress then).
    let writeStage = Mutex<Writer?>(nil)
    /// The aligned buffer segments are built in (used by the writing leader only, never contended).
    let segments = Mutex(SegmentWriter())
    /// Digests written by flushes whose second stage has not finished, the writes begun and the
    /// pipeline's generation (bumped when a second stage fails while later writes are in flight:
    /// those fail too).
    let pipeline = Mutex(Pipeline())
    /// Pack descriptors still used by flushes in flight after they stopped being the writer.
    private let files = Mutex<[Int32: (users: Int, retired: Bool)]>([:])

    /// Tests' view of the stages: called with a flush's ticket (0, 1, …) after its write, and
    /// before its second stage (once every earlier one is done).
    struct TestHooks: Sendable {
        var written: (@Sendable (UInt64) -> Void)?
        var finishing: (@Sendable (UInt64) -> Void)?
    }
    let testHooks = Mutex(TestHooks())

    struct Pipeline {
        var inFlight: Set<Digest> = []
        var writes: UInt64 = 0
        var generation: UInt64 = 0
        var poison: StoreError?
    }

    /// Runs `flush` as leader or waits for a leader to cover this batch. Returns how many of the
    /// batch's chunks were newly stored.
    func submit(_ chunks: [VerifiedChunk], flush: ([Batch]) -> Staged) throws(StoreError) -> Int {
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
            // Leader: take everything pending (this batch included), write, hand over, finish.
            let work = queue.withLock { q in
                defer { q.pending = [] }
                return q.pending
            }
            let staged = flush(work)
            let ticket = queue.withLock { q in
                defer { q.nextTicket += 1 }
                return q.nextTicket
            }
            let hooks = testHooks.withLock { $0 }
            hooks.written?(ticket)
            if staged.overlap { handOver() }
            waitForTurn(ticket)
            hooks.finishing?(ticket)
            staged.finish()
            endTurn()
            if !staged.overlap { handOver() }
            for b in work where b !== batch {
                b.done.withLock { $0 = true }
                b.wake.signal()
            }
        }
        let r = batch.result
        if let e = r.error { throw e }
        return r.stored
    }

    /// Makes the oldest pending batch's caller the next leader, or none.
    private func handOver() {
        let next: Batch? = queue.withLock { q in
            if let first = q.pending.first { return first }
            q.leaderActive = false
            return nil
        }
        next?.wake.signal()
    }

    private func waitForTurn(_ ticket: UInt64) {
        let wake: DispatchSemaphore? = turns.withLock { t in
            if t.serving == ticket { return nil }
            let s = DispatchSemaphore(value: 0)
            t.waiting[ticket] = s
            return s
        }
        wake?.wait()
    }

    private func endTurn() {
        turns.withLock { t in
            t.serving += 1
            t.waiting.removeValue(forKey: t.serving)?.signal()
        }
    }

    // MARK: Pack descriptors

    /// A flush in flight uses `fd` (it stays open until ``release(_:)``).
    func hold(_ fd: Int32) {
        files.withLock { f in f[fd, default: (0, false)].users += 1 }
    }

    /// The flush is done with `fd`: closed if it is no longer the writer and nobody else uses it.
    func release(_ fd: Int32) {
        let shut = files.withLock { f -> Bool in
            guard var e = f[fd] else { return false }
            e.users -= 1
            if e.users == 0 {
                f[fd] = nil
                return e.retired
            }
            f[fd] = e
            return false
        }
        if shut { close(fd) }
    }

    /// `fd` is no longer the writer's: closed now, or by the last flush that uses it.
    func retire(_ fd: Int32) {
        let shut = files.withLock { f -> Bool in
            guard var e = f[fd] else { return true }
            e.retired = true
            f[fd] = e
            return false
        }
        if shut { close(fd) }
    }

    /// `fd` is the writer's again (a rollback reinstated its pack).
    func unretire(_ fd: Int32) {
        files.withLock { f in if f[fd] != nil { f[fd]!.retired = false } }
    }

    func closeWriter() {
        writeStage.withLock { w in
            if let fd = w?.fd { retire(fd) }
            w = nil
        }
    }
}
