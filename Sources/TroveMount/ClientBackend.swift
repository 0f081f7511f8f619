import Dispatch
import Glibc
import Synchronization
import TroveClient
import TroveCore
import TroveProtocol

/// ``MountBackend`` over troved: a few shared connections (requests from many FUSE threads are
/// pipelined on them), opened lazily and reopened when the daemon restarts.
///
/// A request that fails because the connection broke (or could not be made) is retried on a fresh
/// connection, with a growing pause, until `retryWindow` seconds have passed; then it fails with
/// ``MountError/unavailable(detail:)`` (EIO). Verification failures and server refusals are never
/// retried. All verification is the client's (``Remote``): trees and recipes by digest, chunks by
/// SHA-256 on arrival.
///
/// Concurrency: the connection slots live in one `Mutex`; a connection is opened outside it, and
/// callers that want the same slot meanwhile wait on the opener's `DispatchGroup`.
public final class ClientBackend: MountBackend, Sendable {
    public let address: ServerAddress
    private let credentials: Credentials?
    private let retryWindow: Double
    private let slots: Mutex<Slots>

    /// What the lock guards: one entry per connection, and where the next request goes.
    private struct Slots {
        enum Slot {
            case empty
            /// Being opened; the group is left when that attempt ends.
            case opening(DispatchGroup)
            case open(Connection)
        }
        var all: [Slot]
        var next = 0
    }

    /// - Parameters:
    ///   - connections: how many connections to spread requests over.
    ///   - retryWindow: seconds a request keeps retrying across reconnects before EIO.
    public init(
        address: ServerAddress, credentials: Credentials?, connections: Int = 3, retryWindow: Double = 30
    ) {
        self.address = address
        self.credentials = credentials
        self.retryWindow = retryWindow
        slots = Mutex(Slots(all: Array(repeating: .empty, count: max(1, connections))))
    }

    deinit { closeAll() }

    /// Closes every connection (they reopen on the next request).
    public func closeAll() {
        let open: [Connection] = slots.withLock {
            var open: [Connection] = []
            for i in $0.all.indices {
                guard case .open(let c) = $0.all[i] else { continue }
                open.append(c)
                $0.all[i] = .empty
            }
            return open
        }
        for c in open { c.close() }
    }

    public var maxChunksPerRequest: Int { 256 }

    /// A listing retries for at most 2 s: while troved is away the mount keeps its previous
    /// listing rather than blocking lookups.
    public func listVersions() throws(MountError) -> [MountedVersion] {
        try withRemote(retryWindow: min(2, retryWindow)) { (r) throws(ClientError) in
            try r.listVersions(prefix: "").filter { !$0.retired }.map {
                MountedVersion(
                    name: $0.name, version: $0.version, tree: $0.tree, createdAt: $0.createdAt,
                    aliases: $0.aliases)
            }
        }
    }

    public func tree(_ digest: Digest) throws(MountError) -> Tree {
        try withRemote { (r) throws(ClientError) in try r.tree(digest) }
    }

    public func recipe(blob: Digest, size: UInt64) throws(MountError) -> Recipe {
        try withRemote { (r) throws(ClientError) in
            guard let recipe = try r.recipes([blob], sizes: [blob: size])[blob] else {
                throw .integrity(detail: "the server sent no recipe for blob \(blob)")
            }
            return recipe
        }
    }

    public func chunks(_ wanted: [RecipeChunk]) throws(MountError) -> [[UInt8]] {
        try withRemote { (r) throws(ClientError) in try r.fetchChunks(wanted) }
    }

    // MARK: connections and retries

    /// Runs `body` on a connection, reconnecting and retrying while the failure is a broken or
    /// refused connection (or a retryable server error) and the retry window is open.
    private func withRemote<T>(retryWindow: Double? = nil, _ body: (Remote) throws(ClientError) -> T)
        throws(MountError) -> T
    {
        let deadline = monotonicSeconds() + (retryWindow ?? self.retryWindow)
        var pause = 0.05
        while true {
            var conn: Connection? = nil
            do throws(ClientError) {
                let c = try connection()
                conn = c
                return try body(Remote(connection: c))
            } catch {
                if let conn { discard(conn) }
                let retry: Bool
                switch error {
                case .cannotConnect, .connectionClosed: retry = true
                case .server(let code, _, _): retry = code.isRetryable
                default: retry = false
                }
                guard retry, monotonicSeconds() + pause < deadline else { throw Self.mountError(error) }
                usleep(UInt32(pause * 1e6))
                pause = min(pause * 2, 1)
            }
        }
    }

    /// A connection from the next slot, opening it when the slot is empty (or waiting for the
    /// caller already opening it).
    private func connection() throws(ClientError) -> Connection {
        let i = slots.withLock {
            let i = $0.next
            $0.next = ($0.next + 1) % $0.all.count
            return i
        }
        while true {
            enum Next {
                case use(Connection)
                case wait(DispatchGroup)
                case open(DispatchGroup)
            }
            let next: Next = slots.withLock {
                switch $0.all[i] {
                case .open(let c): return .use(c)
                case .opening(let g): return .wait(g)
                case .empty:
                    let g = DispatchGroup()
                    g.enter()
                    $0.all[i] = .opening(g)
                    return .open(g)
                }
            }
            switch next {
            case .use(let c): return c
            case .wait(let g): g.wait()
            case .open(let g):
                defer { g.leave() }
                do throws(ClientError) {
                    let c = try Connection.open(
                        to: address, credentials: credentials, clientName: "trove-mount/0.1.0")
                    slots.withLock { $0.all[i] = .open(c) }
                    return c
                } catch {
                    slots.withLock { $0.all[i] = .empty }
                    throw error
                }
            }
        }
    }

    /// Drops a broken connection from its slot (if still there) and closes it.
    private func discard(_ conn: Connection) {
        let removed: Bool = slots.withLock {
            var removed = false
            for i in $0.all.indices {
                guard case .open(let c) = $0.all[i], c === conn else { continue }
                $0.all[i] = .empty
                removed = true
            }
            return removed
        }
        if removed { conn.close() }
    }

    static func mountError(_ e: ClientError) -> MountError {
        switch e {
        case .cannotConnect, .connectionClosed: return .unavailable(detail: e.description)
        case .integrity, .protocolViolation, .unsafeTree: return .integrity(detail: e.description)
        case .notFound: return .refused(detail: e.description, permission: false)
        case .authentication, .tls: return .refused(detail: e.description, permission: true)
        case .server(let code, _, _):
            return .refused(detail: e.description, permission: e.exitCode == 6 || code == .permissionDenied)
        default: return .refused(detail: e.description, permission: false)
        }
    }
}
