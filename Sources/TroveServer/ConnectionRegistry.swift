import NIOCore
import Synchronization

/// Who is connected, counted in two separate budgets: connections still in their handshake
/// (`server.max_handshakes`, a small budget) and authenticated ones (`server.max_connections`,
/// `server.max_connections_per_token`). A flood of connections that never authenticate uses up
/// only the handshake budget, so an admin can still get in.
///
/// At accept: with the handshake budget full, the oldest handshake is closed to make room if it
/// has been pending for at least `evictAfter` (an honest client completes its handshake in a few
/// round trips); otherwise the new connection is closed at once.
final class ConnectionRegistry: Sendable {
    struct Limits: Sendable {
        var maxHandshakes: Int
        var maxConnections: Int
        var maxPerToken: Int
        var evictAfter: TimeAmount = .seconds(1)
    }

    /// The answer to a connection asking for an authenticated slot.
    enum Admission: Equatable {
        case admitted
        /// Refused: the message for the `busy` ERROR.
        case refused(String)
    }

    private enum Kind {
        case handshake
        case authenticated(token: String?)
        /// A handshake closed to make room; no longer counted.
        case evicted
    }

    private struct Entry {
        var channel: Channel
        var since: NIODeadline
        var kind: Kind
    }

    private struct State {
        var entries: [ObjectIdentifier: Entry] = [:]
        var handshakes = 0
        var authenticated = 0
        var perToken: [String: Int] = [:]
        var closedAll: [CheckedContinuation<Void, Never>] = []
        var refusedAtAccept = 0
    }

    let limits: Limits
    private let state = Mutex(State())

    init(limits: Limits) {
        self.limits = limits
    }

    /// Connections in their handshake, authenticated ones, and connections closed at accept so far.
    var counts: (handshakes: Int, authenticated: Int, refusedAtAccept: Int) {
        state.withLock { ($0.handshakes, $0.authenticated, $0.refusedAtAccept) }
    }

    /// Admits a new connection into the handshake budget. Returns false when it must be closed at
    /// once; `evict` is a pending handshake the caller closes to make room.
    func accept(_ channel: Channel, now: NIODeadline = .now()) -> (admitted: Bool, evict: Channel?) {
        state.withLock { s in
            var evict: Channel?
            if s.handshakes >= limits.maxHandshakes {
                let oldest = s.entries.filter {
                    if case .handshake = $0.value.kind { return true } else { return false }
                }.min { $0.value.since < $1.value.since }
                guard let oldest, now - oldest.value.since >= limits.evictAfter else {
                    s.refusedAtAccept += 1
                    return (false, nil)
                }
                s.entries[oldest.key]?.kind = .evicted
                s.handshakes -= 1
                evict = oldest.value.channel
            }
            s.handshakes += 1
            s.entries[ObjectIdentifier(channel)] = Entry(channel: channel, since: now, kind: .handshake)
            return (true, evict)
        }
    }

    /// Moves a connection from the handshake budget to an authenticated slot (`token` nil: open
    /// access), or refuses when the server or the token is at its limit.
    func authenticate(_ channel: Channel, token: String?) -> Admission {
        state.withLock { s in
            let key = ObjectIdentifier(channel)
            guard let e = s.entries[key], case .handshake = e.kind else {
                return .refused("the connection was closed to make room for others; reconnect")
            }
            guard s.authenticated < limits.maxConnections else {
                return .refused("troved has too many connections (\(limits.maxConnections)); retry later")
            }
            if let token {
                guard s.perToken[token, default: 0] < limits.maxPerToken else {
                    return .refused(
                        "token '\(token)' already has \(limits.maxPerToken) connections; retry later")
                }
                s.perToken[token, default: 0] += 1
            }
            s.handshakes -= 1
            s.authenticated += 1
            s.entries[key]?.kind = .authenticated(token: token)
            return .admitted
        }
    }

    /// Forgets a closed connection.
    func remove(_ channel: Channel) {
        let waiters: [CheckedContinuation<Void, Never>] = state.withLock { s in
            guard let e = s.entries.removeValue(forKey: ObjectIdentifier(channel)) else { return [] }
            switch e.kind {
            case .handshake: s.handshakes -= 1
            case .authenticated(let token):
                s.authenticated -= 1
                if let token { s.perToken[token, default: 1] -= 1 }
            case .evicted: break
            }
            guard s.entries.isEmpty else { return [] }
            defer { s.closedAll = [] }
            return s.closedAll
        }
        for w in waiters { w.resume() }
    }

    /// Asks every connection to finish its requests in progress and close; returns when all are gone.
    func drainAll() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let current: [Channel] = state.withLock { s in
                if s.entries.isEmpty { return [] }
                s.closedAll.append(c)
                return s.entries.values.map(\.channel)
            }
            if current.isEmpty {
                c.resume()
                return
            }
            for channel in current {
                channel.eventLoop.execute {
                    channel.pipeline.fireUserInboundEventTriggered(DrainRequested())
                }
            }
        }
    }
}
