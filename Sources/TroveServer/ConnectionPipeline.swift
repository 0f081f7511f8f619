import Logging
import NIOCore
import TroveProtocol
import TroveStore
import TroveTLS

/// Builds each connection's channel pipeline, one handler per job (inbound order):
///
/// 0. With TLS on, `TLSGate` puts TLS 1.3 in front of everything (or answers a plaintext client
///    with a connection-level ERROR saying TLS is required).
/// 1. ``PreambleWriter`` sends troved's preamble, then leaves.
/// 2. ``FrameReader`` turns bytes into frames, charging each frame's memory to the connection's
///    account with the server-wide ``ReceiveBudget``; frame buffers come from the server-wide
///    ``ByteBufferPool``.
/// 3. NIO's `IdleStateHandler` reports a connection with no frame in or out for
///    `limits.idle_timeout_ms`.
/// 4. ``ErrorHandler`` ends the connection on a decoding error (ERROR protocol-violation first).
/// 5. ``BackpressureHandler`` issues every socket read (the channel does not auto-read).
/// 6. ``HandshakeHandler`` runs HELLO/AUTH under a hard deadline, then leaves.
/// 7. ``RequestDispatcher`` runs requests on the worker pool and writes responses in order.
///
/// Connections are admitted by the ``ConnectionRegistry`` first; one refused is closed at once.
struct ConnectionPipeline: Sendable {
    let config: ServerConfig
    let helloOK: Message.HelloOK
    let executor: RequestExecutor
    let runner: BlockingWorkRunner
    let logger: Logger
    let registry: ConnectionRegistry
    let budget: ReceiveBudget
    let tls: ServerCertificates?
    /// Frame buffers reused by every connection, in both directions (frames received, CHUNKS
    /// frames sent); kept within a quarter of `server.receive_memory`.
    let buffers: ByteBufferPool

    init(
        config: ServerConfig, helloOK: Message.HelloOK, executor: RequestExecutor, runner: BlockingWorkRunner,
        logger: Logger, tls: ServerCertificates? = nil
    ) {
        self.tls = tls
        self.config = config
        self.helloOK = helloOK
        self.executor = executor
        self.runner = runner
        self.logger = logger
        self.registry = ConnectionRegistry(
            limits: .init(
                maxHandshakes: config.maxHandshakes, maxConnections: config.maxConnections,
                maxPerToken: config.maxConnectionsPerToken))
        self.budget = ReceiveBudget(
            limit: config.receiveMemory, stall: .milliseconds(Int64(config.frameStallMillis)))
        self.buffers = ByteBufferPool(maxBuffers: 16, maxBytes: config.receiveMemory / 4)
    }

    /// HELLO_OK for `store` (nonce and authRequired are set per connection).
    static func helloOK(store: Store, limits: SessionLimits) -> Message.HelloOK {
        let c = store.config.chunking
        return Message.HelloOK(
            server: "troved/\(TroveServer.version)", storeID: store.config.storeID, chunkMin: UInt32(c.min),
            chunkAvg: UInt32(c.avg), chunkMax: UInt32(c.max), normalization: UInt8(c.normalization),
            preferredCodec: store.config.codec, codecs: [.zstd, .lz4, .raw], limits: limits,
            serverNonce: [], authRequired: false, formats: store.config.formats)
    }

    /// Admits `channel` and adds its handlers, or arranges for it to be closed at once.
    func configure(_ channel: Channel) throws {
        let (admitted, evict) = registry.accept(channel)
        if let evict {
            logger.debug("handshake budget full: closing the oldest pending handshake")
            evict.close(promise: nil)
        }
        guard admitted else {
            logger.debug("handshake budget full: connection closed at accept")
            try channel.pipeline.syncOperations.addHandler(CloseAtAccept())
            return
        }
        let registry = self.registry
        channel.closeFuture.whenComplete { _ in registry.remove(channel) }
        var logger = self.logger
        logger[metadataKey: "peer"] = "\(channel.remoteAddress?.description ?? "?")"
        let connectionLogger = logger
        let memory = ConnectionMemory(
            budget: budget,
            wake: {
                channel.eventLoop.execute {
                    channel.pipeline.fireUserInboundEventTriggered(FrameMemoryGranted())
                }
            },
            evict: {
                connectionLogger.notice(
                    "closing a connection whose partly sent frame stalled while others wait for memory")
                channel.close(promise: nil)
            })
        let codec = FrameCodecState(memory: memory)
        let connection = ConnectionState(logger: logger, codec: codec, buffers: buffers)
        let ops = channel.pipeline.syncOperations
        try ops.addHandler(TrafficCounter())
        if let tls { try ops.addHandler(TLSGate(certificates: tls, plaintextReply: Self.tlsRequired)) }
        try ops.addHandler(PreambleWriter(codec.local))
        try ops.addHandler(FrameReader(state: codec, buffers: buffers))
        try ops.addHandler(
            IdleStateHandler(allTimeout: .milliseconds(Int64(config.limits.idleTimeoutMillis))))
        try ops.addHandler(ErrorHandler(connection: connection))
        try ops.addHandler(BackpressureHandler(codec: codec, maxInFlight: Int(config.limits.maxInFlight)))
        try ops.addHandler(
            HandshakeHandler(
                connection: connection, registry: registry, helloOK: helloOK, tokens: config.tokens))
        try ops.addHandler(
            RequestDispatcher(
                connection: connection, executor: executor, runner: runner,
                concurrency: config.requestsPerConnection, idleTimeoutMillis: config.limits.idleTimeoutMillis)
        )
    }
}

extension ConnectionPipeline {
    /// What a plaintext client of the TLS listener gets: troved's preamble and a connection-level
    /// ERROR saying how to connect.
    @Sendable static func tlsRequired(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        var out = allocator.buffer(capacity: 256)
        Preamble.current.write(into: &out)
        let reply = Message.error(
            .init(
                code: .badRequest, retryable: false,
                message: "this troved accepts TLS connections only: connect with `trove --tls` (or TROVE_TLS=1, "
                    + "or a tls://HOST:PORT server address), with --tls-ca FILE when its certificate is from a "
                    + "private CA"))
        Envelope(reply, requestID: 0).write(into: &out)
        return out
    }
}

/// Closes a connection refused at accept as soon as it is active, reading nothing.
final class CloseAtAccept: ChannelInboundHandler {
    typealias InboundIn = NIOAny

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { context.close(promise: nil) }
    }

    func channelActive(context: ChannelHandlerContext) {
        context.close(promise: nil)
    }
}

/// Ends the connection on a decoding or I/O error: a protocol violation gets an ERROR first.
final class ErrorHandler: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let connection: ConnectionState

    init(connection: ConnectionState) {
        self.connection = connection
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let p = error as? ProtocolError {
            connection.logger.warning("protocol violation, closing", metadata: ["error": "\(p)"])
            connection.closeWithError(context: context, .protocolViolation, "\(p)")
        } else if error is IOError {
            connection.logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        } else {
            connection.logger.warning("connection error, closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }
}
