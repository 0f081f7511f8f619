import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TroveStore

/// The S3 listener: HTTP/1.1 on SwiftNIO (NIOHTTP1 with async channels), path-style
/// addressing. One task per connection; requests on a connection are served in order; store work
/// runs on a thread pool; bodies stream in and out with backpressure (docs/S3.md).
public final class S3Server: Service, Sendable {
    private let config: S3Config
    private let store: Store
    private let logger: Logger
    private let onReady: @Sendable (String, Int) -> Void

    /// A listener for `store`; `onReady` gets the bound host and port.
    public init(
        config: S3Config, store: Store, logger: Logger, onReady: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) {
        self.config = config
        self.store = store
        self.logger = logger
        self.onReady = onReady
    }

    public func run() async throws {
        for name in config.writeOnceBuckets where (try? store.bucket(name)) == nil {
            do { _ = try store.createBucket(name, writeOnce: true) } catch {
                throw S3StartError(description: "cannot create write-once bucket \(name): \(error)")
            }
        }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: max(1, System.coreCount))
        let pool = NIOThreadPool(numberOfThreads: config.workerThreads)
        pool.start()
        let handler = S3Handler(store: store, config: config, pool: pool, logger: logger)
        let idle = config.idleTimeoutSeconds
        let server: NIOAsyncChannel<NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                .bind(host: config.host, port: config.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        try ops.configureHTTPServerPipeline(withErrorHandling: true)
                        try ops.addHandler(IdleStateHandler(readTimeout: .seconds(idle)))
                        try ops.addHandler(IdleCloser())
                        return try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                            wrappingChannelSynchronously: channel,
                            configuration: .init(backPressureStrategy: .init(lowWatermark: 2, highWatermark: 8)))
                    }
                }
        } catch {
            try? await pool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw S3StartError(description: "cannot listen for S3 on \(config.host):\(config.port): \(error)")
        }
        let port = server.channel.localAddress?.port ?? config.port
        logger.info(
            "S3 listening",
            metadata: [
                "address": "\(config.host):\(port)",
                "auth": "\(config.openAccess ? "open (no tokens configured)" : "\(config.credentials.count) credential(s)")",
            ])
        onReady(config.host, port)
        let active = Atomic<Int>(0)
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { tasks in
                try? await server.executeThenClose { inbound in
                    for try await connection in inbound {
                        active.add(1, ordering: .relaxed)
                        tasks.addTask {
                            await handler.serve(connection)
                            active.subtract(1, ordering: .relaxed)
                        }
                    }
                }
                // No new connections: give requests in flight a few seconds, then cancel.
                for _ in 0..<100 where active.load(ordering: .relaxed) > 0 {
                    try? await Task.sleep(nanoseconds: 50_000_000)
                }
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.info("S3 listener stopped")
    }
}

/// The S3 listener could not start.
public struct S3StartError: Error, CustomStringConvertible {
    public var description: String
}

/// Closes a connection whose client sent nothing for the idle timeout (slow or stuck clients).
final class IdleCloser: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .read {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
