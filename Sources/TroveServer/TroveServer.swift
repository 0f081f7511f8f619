import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TroveCore
import TroveProtocol
import TroveStore

/// State shared by every session of one server: the router, the worker pool, connection counts.
final class ServerShared: @unchecked Sendable {
    let router: RequestRouter
    let config: ServerConfig
    let pool: NIOThreadPool
    let logger: Logger
    private let lock = NSLock()
    private var sessions: [ObjectIdentifier: (Session, EventLoop)] = [:]
    private var perToken: [String: Int] = [:]
    private var closedAll: [CheckedContinuation<Void, Never>] = []

    init(router: RequestRouter, config: ServerConfig, pool: NIOThreadPool, logger: Logger) {
        self.router = router
        self.config = config
        self.pool = pool
        self.logger = logger
    }

    /// Registers a session; false when the server is at its connection limit.
    func register(_ s: Session, eventLoop: EventLoop) -> Bool {
        lock.withLock {
            guard sessions.count < config.maxConnections else { return false }
            sessions[ObjectIdentifier(s)] = (s, eventLoop)
            return true
        }
    }

    func unregister(_ s: Session, token: String?) {
        let waiters: [CheckedContinuation<Void, Never>] = lock.withLock {
            sessions[ObjectIdentifier(s)] = nil
            if let token { perToken[token, default: 1] -= 1 }
            guard sessions.isEmpty else { return [] }
            defer { closedAll = [] }
            return closedAll
        }
        for w in waiters { w.resume() }
    }

    /// Counts a connection for `token`; false when it is at its limit.
    func countToken(_ token: String) -> Bool {
        lock.withLock {
            guard perToken[token, default: 0] < config.maxConnectionsPerToken else { return false }
            perToken[token, default: 0] += 1
            return true
        }
    }

    /// Asks every session to finish its current request and close; waits until all are gone.
    func drainAll() async {
        await withCheckedContinuation { (c: CheckedContinuation<Void, Never>) in
            let current: [(Session, EventLoop)] = lock.withLock {
                if sessions.isEmpty { return [] }
                closedAll.append(c)
                return Array(sessions.values)
            }
            if current.isEmpty {
                c.resume()
                return
            }
            for (s, loop) in current { loop.execute { s.drain() } }
        }
    }
}

/// The Trove daemon's network service: listens, runs sessions, shuts down gracefully (no new
/// connections, in-flight requests finish, then connections close with `shutting-down`).
public final class TroveServer: Service, @unchecked Sendable {
    /// Reported in HELLO_OK.
    public static let version = "0.1.0"

    private let config: ServerConfig
    private let store: Store
    private let logger: Logger
    private let onReady: @Sendable (String, Int) -> Void
    private let onStopping: @Sendable () -> Void

    /// A server for `store`. `onReady` gets the bound host and port once listening; `onStopping`
    /// is called when graceful shutdown begins.
    public init(
        config: ServerConfig, store: Store, logger: Logger,
        onReady: @escaping @Sendable (String, Int) -> Void = { _, _ in },
        onStopping: @escaping @Sendable () -> Void = {}
    ) {
        self.config = config
        self.store = store
        self.logger = logger
        self.onReady = onReady
        self.onStopping = onStopping
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let pool = NIOThreadPool(numberOfThreads: config.workerThreads)
        pool.start()
        let router = RequestRouter(store: store, config: config, logger: logger)
        let shared = ServerShared(router: router, config: config, pool: pool, logger: logger)
        let logger = self.logger
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 256)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.autoRead, value: false)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(
                ChannelOptions.writeBufferWaterMark, value: .init(low: 512 << 10, high: 2 << 20)
            )
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let state = FrameCodecState()
                    let peer = channel.remoteAddress?.description ?? "?"
                    try channel.pipeline.syncOperations.addTroveFrameCodec(state: state)
                    try channel.pipeline.syncOperations.addHandler(
                        Session(shared: shared, codecState: state, peer: peer))
                }
            }
        let channel: Channel
        do {
            channel = try await bootstrap.bind(host: config.host, port: config.port).get()
        } catch {
            try? await pool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw ServerStartError(description: "cannot listen on \(config.host):\(config.port): \(error)")
        }
        let port = channel.localAddress?.port ?? config.port
        logger.info(
            "listening",
            metadata: [
                "address": "\(config.host):\(port)", "root": "\(store.root)",
                "auth":
                    "\(config.tokens.isEmpty ? "open (no tokens configured)" : "\(config.tokens.count) token(s)")",
            ])
        onReady(config.host, port)
        let sweeper = group.next().scheduleRepeatedTask(initialDelay: .seconds(60), delay: .seconds(60)) {
            [store] _ in
            // Ends expired upload sessions (staging files, lease rows) on a worker, off the loop.
            pool.submit { state in if case .active = state { _ = try? store.expireUploads() } }
        }
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: { [onStopping] in
            onStopping()
            logger.info("shutting down: no new connections; finishing in-flight requests")
            channel.close(promise: nil)
        }
        sweeper.cancel()
        let grace = config.shutdownGraceSeconds
        await withTaskGroup(of: Void.self) { g in
            g.addTask { await shared.drainAll() }
            g.addTask { try? await Task.sleep(nanoseconds: UInt64(grace) * 1_000_000_000) }
            await g.next()
            g.cancelAll()
        }
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.info("stopped")
    }
}

/// The server could not start (bind failure and the like).
public struct ServerStartError: Error, CustomStringConvertible {
    public var description: String
}
