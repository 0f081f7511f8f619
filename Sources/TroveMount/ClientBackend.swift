import TroveClient
import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ``MountBackend`` over troved: a few shared connections (requests from many FUSE threads are
/// pipelined on them), opened lazily and reopened when the daemon restarts.
///
/// A request that fails because the connection broke (or could not be made) is retried on a fresh
/// connection, with a growing pause, until `retryWindow` seconds have passed; then it fails with
/// ``MountError/unavailable(detail:)`` (EIO). Verification failures and server refusals are never
/// retried. All verification is the client's (``Remote``): trees and recipes by digest, chunks by
/// SHA-256 on arrival.
public final class ClientBackend: MountBackend, @unchecked Sendable {
    public let address: ServerAddress
    private let credentials: Credentials?
    private let retryWindow: Double
    private let monitor = Monitor()
    private var slots: [Connection?]
    private var opening: [Bool]
    private var nextSlot = 0

    /// - Parameters:
    ///   - connections: how many connections to spread requests over.
    ///   - retryWindow: seconds a request keeps retrying across reconnects before EIO.
    public init(
        address: ServerAddress, credentials: Credentials?, connections: Int = 3, retryWindow: Double = 30
    ) {
        self.address = address
        self.credentials = credentials
        self.retryWindow = retryWindow
        slots = Array(repeating: nil, count: max(1, connections))
        opening = Array(repeating: false, count: max(1, connections))
    }

    deinit { closeAll() }

    /// Closes every connection (they reopen on the next request).
    public func closeAll() {
        let all: [Connection] = monitor.withLock {
            let c = slots.compactMap { $0 }
            for i in slots.indices { slots[i] = nil }
            return c
        }
        for c in all { c.close() }
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

    /// A connection from the next slot, opening it when the slot is empty.
    private func connection() throws(ClientError) -> Connection {
        let i: Int = monitor.withLock {
            let i = nextSlot
            nextSlot = (nextSlot + 1) % slots.count
            return i
        }
        let existing: Connection? = monitor.withLock {
            while slots[i] == nil && opening[i] { monitor.wait() }
            if let c = slots[i] { return c }
            opening[i] = true
            return nil
        }
        if let existing { return existing }
        do throws(ClientError) {
            let c = try Connection.open(
                to: address, credentials: credentials, clientName: "trove-mount/0.1.0")
            monitor.withLock {
                slots[i] = c
                opening[i] = false
                monitor.broadcast()
            }
            return c
        } catch {
            monitor.withLock {
                opening[i] = false
                monitor.broadcast()
            }
            throw error
        }
    }

    /// Drops a broken connection from its slot (if still there) and closes it.
    private func discard(_ conn: Connection) {
        let removed: Bool = monitor.withLock {
            var removed = false
            for i in slots.indices where slots[i] === conn {
                slots[i] = nil
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
        case .authentication: return .refused(detail: e.description, permission: true)
        case .server(let code, _, _):
            return .refused(detail: e.description, permission: e.exitCode == 6 || code == .permissionDenied)
        default: return .refused(detail: e.description, permission: false)
        }
    }
}
