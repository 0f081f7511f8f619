import Foundation
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import TroveCore
import TroveProtocol
import TroveStore
import TroveTLS

/// The Trove daemon's network service: listens, runs sessions, shuts down gracefully (no new
/// connections, in-flight requests finish, then connections close with `shutting-down`).
public final class TroveServer: Service, Sendable {
    /// Reported in HELLO_OK.
    public static let version = "0.1.0"

    private let config: ServerConfig
    private let store: Store
    private let logger: Logger
    private let onReady: @Sendable (String, Int) -> Void
    private let onStopping: @Sendable () -> Void
    private let tls: ServerCertificates?

    /// A server for `store`, speaking TLS 1.3 only when `tls` is given. `onReady` gets the bound
    /// host and port once listening; `onStopping` is called when graceful shutdown begins.
    public init(
        config: ServerConfig, store: Store, logger: Logger, tls: ServerCertificates? = nil,
        onReady: @escaping @Sendable (String, Int) -> Void = { _, _ in },
        onStopping: @escaping @Sendable () -> Void = {}
    ) {
        self.config = config
        self.store = store
        self.logger = logger
        self.onReady = onReady
        self.onStopping = onStopping
        self.tls = tls
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let pool = NIOThreadPool(numberOfThreads: config.workerThreads)
        pool.start()
        let router = RequestRouter(store: store, config: config, logger: logger)
        let logger = self.logger
        let connections = ConnectionPipeline(
            config: config, helloOK: ConnectionPipeline.helloOK(store: store, limits: config.limits),
            executor: router, runner: pool, logger: logger, tls: tls)
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
                    try connections.configure(channel)
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
                "address": "\(config.host):\(port)", "root": "\(store.root)", "tls": "\(tls == nil ? "off" : "TLS 1.3")",
                "auth":
                    "\(config.tokens.isEmpty ? "open (no tokens configured)" : "\(config.tokens.count) token(s)")",
            ])
        onReady(config.host, port)
        let evictions = group.next().scheduleRepeatedTask(
            initialDelay: .seconds(1), delay: .milliseconds(500)
        ) {
            _ in connections.budget.evictStalled()
        }
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
        evictions.cancel()
        let grace = config.shutdownGraceSeconds
        await withTaskGroup(of: Void.self) { g in
            g.addTask { await connections.registry.drainAll() }
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
