import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import TroveStore

/// The metrics listener (`--metrics-listen`, `[metrics] listen`): plain HTTP/1.1 with three paths.
///
/// - `GET /metrics`: the Prometheus text exposition that `render` produces, after the store's
///   gauges are refreshed (one catalog read, on a worker thread).
/// - `GET /healthz`: 200 while troved answers.
/// - `GET /readyz`: 200 when `readiness` returns nil (serving, store writable), else 503 with
///   the reason it returns.
public final class MetricsListener: Service, Sendable {
    private let host: String
    private let port: Int
    private let store: Store
    private let logger: Logger
    private let render: @Sendable () -> [UInt8]
    private let readiness: @Sendable () -> String?
    private let onReady: @Sendable (String, Int) -> Void

    /// A listener on `host`:`port` (0: any free port, reported to `onReady`).
    public init(
        host: String, port: Int, store: Store, logger: Logger, render: @escaping @Sendable () -> [UInt8],
        readiness: @escaping @Sendable () -> String?, onReady: @escaping @Sendable (String, Int) -> Void = { _, _ in }
    ) {
        self.host = host
        self.port = port
        self.store = store
        self.logger = logger
        self.render = render
        self.readiness = readiness
        self.onReady = onReady
    }

    public func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let pool = NIOThreadPool(numberOfThreads: 1)
        pool.start()
        let store = self.store
        let render = self.render
        let routes = MetricsRoutes(
            scrape: { loop in pool.runIfActive(eventLoop: loop) { ServerMetrics.recordStore(store); return render() } },
            readiness: readiness)
        let channel: Channel
        do {
            channel = try await ServerBootstrap(group: group)
                .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
                .childChannelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                        try channel.pipeline.syncOperations.addHandler(MetricsHTTPHandler(routes: routes))
                    }
                }
                .bind(host: host, port: port).get()
        } catch {
            try? await pool.shutdownGracefully()
            try? await group.shutdownGracefully()
            throw ServerStartError(description: "cannot listen for metrics on \(host):\(port): \(error)")
        }
        let bound = channel.localAddress?.port ?? port
        logger.info("metrics listening", metadata: ["address": "\(host):\(bound)", "paths": "/metrics /healthz /readyz"])
        onReady(host, bound)
        await withGracefulShutdownHandler {
            try? await channel.closeFuture.get()
        } onGracefulShutdown: {
            channel.close(promise: nil)
        }
        try? await pool.shutdownGracefully()
        try? await group.shutdownGracefully()
    }
}

/// What the metrics listener answers on each path.
struct MetricsRoutes: Sendable {
    let scrape: @Sendable (EventLoop) -> EventLoopFuture<[UInt8]>
    let readiness: @Sendable () -> String?
}

/// Answers one request at a time on a metrics connection (GET only; bodies are ignored).
final class MetricsHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let routes: MetricsRoutes
    private var head: HTTPRequestHead?

    init(routes: MetricsRoutes) {
        self.routes = routes
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            answer(h, context: context)
        }
    }

    private func answer(_ request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard request.method == .GET || request.method == .HEAD else {
            return respond(context, request, .methodNotAllowed, "only GET\n")
        }
        let path = request.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.uri
        switch path {
        case "/metrics":
            routes.scrape(context.eventLoop).hop(to: context.eventLoop).assumeIsolated().whenComplete { result in
                switch result {
                case .success(let bytes):
                    self.respond(
                        context, request, .ok, bytes, contentType: "text/plain; version=0.0.4; charset=utf-8")
                case .failure(let error):
                    self.respond(context, request, .serviceUnavailable, Array("cannot scrape: \(error)\n".utf8))
                }
            }
        case "/healthz":
            respond(context, request, .ok, "ok\n")
        case "/readyz":
            if let reason = routes.readiness() {
                respond(context, request, .serviceUnavailable, "not ready: \(reason)\n")
            } else {
                respond(context, request, .ok, "ready\n")
            }
        default:
            respond(context, request, .notFound, "not found: try /metrics, /healthz or /readyz\n")
        }
    }

    private func respond(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ text: String
    ) {
        respond(context, request, status, Array(text.utf8))
    }

    private func respond(
        _ context: ChannelHandlerContext, _ request: HTTPRequestHead, _ status: HTTPResponseStatus, _ body: [UInt8],
        contentType: String = "text/plain; charset=utf-8"
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: contentType)
        headers.add(name: "Content-Length", value: "\(body.count)")
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: request.version, status: status, headers: headers))), promise: nil)
        if request.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
    }
}
