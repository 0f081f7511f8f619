import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import Synchronization
import TroveCore
import TroveStore
import TroveTLS

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
        let limits = SlowClientLimits(headerTimeoutSeconds: config.headerTimeoutSeconds, minBodyRate: config.minBodyRate)
        let logger = self.logger
        let tls = config.tls
        let server: NIOAsyncChannel<(NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>, ConnectionActivity), Never>
        do {
            server = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.backlog, value: 256)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
                .childChannelOption(ChannelOptions.allowRemoteHalfClosure, value: true)
                // A GetObject batch (4 MiB) is written whole, and the next one queued behind it
                // before the writer waits: the socket stays fed while the task that serves the
                // connection waits for its turn to run (NIO's default, 32-64 KiB, made it wait
                // for each batch to drain first).
                .childChannelOption(
                    ChannelOptions.writeBufferWaterMark, value: .init(low: 1 << 20, high: ObjectStream.batchBytes))
                .bind(host: config.host, port: config.port) { channel in
                    channel.eventLoop.makeCompletedFuture {
                        let ops = channel.pipeline.syncOperations
                        if let tls { try ops.addHandler(TLSGate(certificates: tls, plaintextReply: TLSGate.httpsRequired)) }
                        let clock = RequestClock()
                        let slow = SlowClientGuard(clock: clock, limits: limits, logger: logger)
                        try ops.addHandler(slow)
                        try ops.configureHTTPServerPipeline(position: .after(slow), withErrorHandling: true)
                        try ops.addHandler(
                            RequestPhaseWatcher(clock: clock),
                            position: .after(ops.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)))
                        let activity = ConnectionActivity()
                        try ops.addHandler(IdleStateHandler(allTimeout: .seconds(idle)))
                        try ops.addHandler(IdleCloser(activity: activity, clock: clock))
                        return (
                            try NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>(
                                wrappingChannelSynchronously: channel,
                                configuration: .init(backPressureStrategy: .init(lowWatermark: 4, highWatermark: 16))),
                            activity
                        )
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
        let store = self.store
        let maxAge = config.multipartMaxAgeSeconds
        let loop = group.next()
        let expiry = loop.scheduleRepeatedAsyncTask(initialDelay: .seconds(0), delay: .hours(1)) { _ in
            pool.runIfActive(eventLoop: loop) {
                let n = try store.expireMultipartUploads(startedBefore: Clock.nowMillis() - maxAge * 1000)
                if n > 0 { logger.notice("aborted abandoned multipart uploads", metadata: ["count": "\(n)"]) }
            }
        }
        let active = ActiveConnections()
        await withGracefulShutdownHandler {
            await withDiscardingTaskGroup { tasks in
                try? await server.executeThenClose { inbound in
                    for try await (connection, activity) in inbound {
                        active.count.add(1, ordering: .relaxed)
                        tasks.addTask {
                            await ConnectionActivity.$current.withValue(activity) { await handler.serve(connection) }
                            active.count.subtract(1, ordering: .relaxed)
                        }
                    }
                }
                // No new connections: give requests in flight a few seconds, then cancel.
                for _ in 0..<100 where active.count.load(ordering: .relaxed) > 0 {
                    try? await Task.sleep(nanoseconds: 50_000_000)
                }
                tasks.cancelAll()
            }
        } onGracefulShutdown: {
            server.channel.close(promise: nil)
        }
        expiry.cancel()
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
        logger.info("S3 listener stopped")
    }
}

/// Connections being served, shared by the tasks that serve them.
final class ActiveConnections: Sendable {
    let count = Atomic<Int>(0)
}

/// The S3 listener could not start.
public struct S3StartError: Error, CustomStringConvertible {
    public var description: String
}

/// Counts the store work in progress for one connection: while troved itself is busy (ingesting a
/// large body, completing a multipart upload), a quiet connection is not idle.
final class ConnectionActivity: Sendable {
    @TaskLocal static var current: ConnectionActivity?
    let busy = Atomic<Int>(0)
}

/// Closes a connection on which nothing was read or written for the idle timeout while troved
/// was waiting for the client: for its bytes (a slow or stuck client) or for it to take a
/// response (a stalled download, writes backed up). Not while troved is the slow side: store
/// work in progress (``ConnectionActivity``), or bytes that arrived and wait for troved to take
/// them (reads held back, writes flowing: on a loaded machine the task serving the connection
/// may not run for seconds, which is no fault of the client's).
final class IdleCloser: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    let activity: ConnectionActivity
    /// The connection's clock (``SlowClientGuard``); read on the channel's event loop only.
    let clock: RequestClock

    init(activity: ConnectionActivity, clock: RequestClock) {
        self.activity = activity
        self.clock = clock
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let e = event as? IdleStateHandler.IdleStateEvent, e == .all {
            // Waiting for the client: for its bytes, or for it to take ours (writes backed up).
            let waiting = clock.awaitingClient || !context.channel.isWritable
            if activity.busy.load(ordering: .relaxed) > 0 || !waiting { return }
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
