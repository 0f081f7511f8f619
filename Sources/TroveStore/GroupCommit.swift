import Foundation
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// A verified chunk waiting to be written.
struct VerifiedChunk {
    var digest: Digest
    var codec: Codec
    var rawLength: Int
    var stored: [UInt8]
    /// CRC-32C of `stored`, computed by the caller (outside the serialised leader work).
    var crc: UInt32
}

/// Leader/follower group commit. Callers enqueue a batch; whoever finds no leader running
/// becomes the leader, takes every pending batch, writes them as one pack segment, fsyncs once,
/// indexes them in one SQLite transaction and wakes the followers. Batches that arrive while a
/// leader works are taken by the next leader, so one fsync pair covers many callers.
final class GroupCommit: @unchecked Sendable {
    final class Batch {
        let chunks: [VerifiedChunk]
        var done = false
        var error: StoreError?
        var stored = 0
        init(_ chunks: [VerifiedChunk]) { self.chunks = chunks }
    }

    /// The pack currently being appended to (touched only by the leader).
    struct Writer {
        var id: Int64
        var name: String
        var path: String
        var fd: Int32
        var size: Int
    }

    private let cond = NSCondition()
    private var pending: [Batch] = []
    private var leaderActive = false
    var writer: Writer?

    /// Runs `flush` as leader or waits for a leader to cover this batch. Returns how many of the
    /// batch's chunks were newly stored.
    func submit(_ chunks: [VerifiedChunk], flush: ([Batch]) -> Void) throws(StoreError) -> Int {
        let batch = Batch(chunks)
        cond.lock()
        pending.append(batch)
        while !batch.done {
            if !leaderActive {
                leaderActive = true
                let work = pending
                pending = []
                cond.unlock()
                flush(work)
                cond.lock()
                for b in work { b.done = true }
                leaderActive = false
                cond.broadcast()
            } else {
                cond.wait()
            }
        }
        cond.unlock()
        if let e = batch.error { throw e }
        return batch.stored
    }

    func closeWriter() {
        if let w = writer { close(w.fd) }
        writer = nil
    }
}
