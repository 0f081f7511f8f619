import NIOCore
import Synchronization
import TroveProtocol

/// The memory all connections together may hold in frames they receive (`server.receive_memory`):
/// a frame is charged from the moment its header arrives until its request has run.
///
/// A connection that finds no room stops reading and queues; memory returned goes to the queue in
/// arrival order. While connections wait, one whose partly received frame has not advanced for
/// `stall` is closed to make room (a client that sends most of a large frame and stops).
final class ReceiveBudget: Sendable {
    /// Frames up to this size are not charged: they are bounded per connection by `max_in_flight`,
    /// and a handshake must never wait for memory.
    static let freeFrameSize = 64 << 10

    let limit: Int
    let stall: TimeAmount

    private struct Waiter {
        var id: Int
        var bytes: Int
        var wake: @Sendable () -> Void
    }

    private struct Holder {
        /// Bytes charged and not yet returned.
        var held = 0
        /// When the frame now arriving last advanced; nil when no frame is partly received.
        var partialSince: NIODeadline?
        var evict: @Sendable () -> Void
    }

    private struct State {
        var used = 0
        var nextID = 0
        var waiters: [Waiter] = []
        /// Bytes granted to a waiter, taken by its next `charge`.
        var granted: [Int: Int] = [:]
        var holders: [Int: Holder] = [:]
        var peak = 0
    }

    private let state = Mutex(State())

    init(limit: Int, stall: TimeAmount) {
        self.limit = limit
        self.stall = stall
    }

    /// Bytes charged now, and the most ever charged at once.
    var usage: (used: Int, peak: Int) { state.withLock { ($0.used, $0.peak) } }

    /// Registers a connection; `evict` closes it (called from any thread).
    func open(evict: @escaping @Sendable () -> Void) -> Int {
        state.withLock { s in
            s.nextID += 1
            s.holders[s.nextID] = Holder(evict: evict)
            return s.nextID
        }
    }

    /// Charges `bytes` to connection `id`, or queues it (calling `wake` once the bytes are set
    /// aside for it) and returns false.
    func charge(_ id: Int, _ bytes: Int, wake: @escaping @Sendable () -> Void) -> Bool {
        let (charged, toEvict): (Bool, [@Sendable () -> Void]) = state.withLock { s in
            if let g = s.granted[id], g >= bytes {
                s.granted[id] = nil
                s.used -= g - bytes
                s.holders[id]?.held += bytes
                s.holders[id]?.partialSince = .now()
                return (true, [])
            }
            if s.waiters.isEmpty, s.used + bytes <= limit {
                s.used += bytes
                s.peak = max(s.peak, s.used)
                s.holders[id]?.held += bytes
                s.holders[id]?.partialSince = .now()
                return (true, [])
            }
            if !s.waiters.contains(where: { $0.id == id }) {
                s.waiters.append(Waiter(id: id, bytes: min(bytes, limit), wake: wake))
            }
            return (false, stalled(&s, now: .now()))
        }
        for e in toEvict { e() }
        return charged
    }

    /// The partly received frame of `id` advanced.
    func progress(_ id: Int) {
        state.withLock { $0.holders[id]?.partialSince = .now() }
    }

    /// The frame of `id` is complete, or the server stopped reading it: its stall clock stops.
    func stopStallClock(_ id: Int) {
        state.withLock { $0.holders[id]?.partialSince = nil }
    }

    /// Returns `bytes` charged to `id`.
    func release(_ id: Int, _ bytes: Int) {
        let wakes: [@Sendable () -> Void] = state.withLock { s in
            guard var h = s.holders[id] else { return [] }
            let n = min(bytes, h.held)
            h.held -= n
            s.holders[id] = h
            s.used -= n
            return grant(&s)
        }
        for w in wakes { w() }
    }

    /// Connection `id` is gone: returns all it held, grants and queue places included.
    func close(_ id: Int) {
        let wakes: [@Sendable () -> Void] = state.withLock { s in
            if let h = s.holders.removeValue(forKey: id) { s.used -= h.held }
            if let g = s.granted.removeValue(forKey: id) { s.used -= g }
            s.waiters.removeAll { $0.id == id }
            return grant(&s)
        }
        for w in wakes { w() }
    }

    /// Closes connections whose partly received frame has stalled while others wait for memory.
    /// The server calls it periodically.
    func evictStalled(now: NIODeadline = .now()) {
        let toEvict = state.withLock { s in stalled(&s, now: now) }
        for e in toEvict { e() }
    }

    /// Hands freed memory to waiters, in order; returns their wake-up calls.
    private func grant(_ s: inout State) -> [@Sendable () -> Void] {
        var wakes: [@Sendable () -> Void] = []
        while let w = s.waiters.first, s.used + w.bytes <= limit {
            s.waiters.removeFirst()
            s.used += w.bytes
            s.peak = max(s.peak, s.used)
            s.granted[w.id, default: 0] += w.bytes
            wakes.append(w.wake)
        }
        return wakes
    }

    /// The holders to close: while someone waits, those whose partial frame made no progress for
    /// `stall`. Marks them so each is closed once.
    private func stalled(_ s: inout State, now: NIODeadline) -> [@Sendable () -> Void] {
        guard !s.waiters.isEmpty else { return [] }
        var out: [@Sendable () -> Void] = []
        for (id, h) in s.holders {
            guard let since = h.partialSince, now - since >= stall else { continue }
            s.holders[id]?.partialSince = nil
            out.append(h.evict)
        }
        return out
    }
}

/// One connection's account with the ``ReceiveBudget``: what the frame decoder charges and the
/// request handlers release. Lives on the connection's event loop.
final class ConnectionMemory: FrameMemoryAccount {
    private let budget: ReceiveBudget
    private let id: Int
    private let wake: @Sendable () -> Void
    private var closed = false

    /// An account for a connection; `wake` runs (on any thread) when memory it waited for is
    /// granted, `evict` closes the connection.
    init(
        budget: ReceiveBudget, wake: @escaping @Sendable () -> Void, evict: @escaping @Sendable () -> Void
    ) {
        self.budget = budget
        self.wake = wake
        self.id = budget.open(evict: evict)
    }

    func charge(_ bytes: Int) -> Bool {
        if closed || bytes <= ReceiveBudget.freeFrameSize { return true }
        return budget.charge(id, bytes, wake: wake)
    }

    func progress() {
        if !closed { budget.progress(id) }
    }

    func completed() {
        if !closed { budget.stopStallClock(id) }
    }

    func paused() {
        if !closed { budget.stopStallClock(id) }
    }

    func release(frameOf payloadLength: Int) {
        let bytes = payloadLength + Frame.overhead
        if closed || bytes <= ReceiveBudget.freeFrameSize { return }
        budget.release(id, bytes)
    }

    func close() {
        guard !closed else { return }
        closed = true
        budget.close(id)
    }
}
