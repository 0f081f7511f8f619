import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// One HTTP/1.1 answer, body collected in memory (objects this client handles are packs and
/// records: bounded by the caller's `maxBody`).
public struct S3HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: ByteBuffer
}

/// A request written into a connection's pipeline together with the promise of its answer.
struct HTTPExchange: Sendable {
    var head: HTTPRequestHead
    var body: ByteBuffer?
    var maxBody: Int
    var promise: EventLoopPromise<S3HTTPResponse>
}

/// Why an exchange failed below HTTP (mapped to `S3ClientError` by the client).
enum ExchangeFailure: Error {
    case closed
    case bodyTooLarge(Int)
    case timedOut
    case busy
}

/// Writes one request at a time and collects its answer; a keep-alive connection carries many
/// in turn. State lives on the channel's event loop only.
final class ExchangeHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPExchange
    typealias OutboundOut = HTTPClientRequestPart

    private var pending: HTTPExchange?
    private var head: HTTPResponseHead?
    private var body: ByteBuffer?

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let exchange = unwrapOutboundIn(data)
        guard pending == nil else {
            exchange.promise.fail(ExchangeFailure.busy)
            promise?.fail(ExchangeFailure.busy)
            return
        }
        pending = exchange
        head = nil
        body = nil
        context.write(wrapOutboundOut(.head(exchange.head)), promise: nil)
        if let b = exchange.body, b.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
        }
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: promise)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
        case .body(var part):
            if body == nil {
                body = part
            } else {
                body!.writeBuffer(&part)
            }
            // Error documents may be longer than the bytes a small ranged GET asks for.
            let limit = (head?.status.code ?? 200) < 300 ? pending?.maxBody ?? 0 : max(pending?.maxBody ?? 0, 1 << 16)
            if let p = pending, body!.readableBytes > limit {
                pending = nil
                p.promise.fail(ExchangeFailure.bodyTooLarge(limit))
                context.close(promise: nil)
            }
        case .end:
            guard let p = pending, let h = head else { return }
            pending = nil
            p.promise.succeed(
                S3HTTPResponse(status: Int(h.status.code), headers: h.headers, body: body ?? ByteBuffer()))
            head = nil
            body = nil
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        pending?.promise.fail(ExchangeFailure.closed)
        pending = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        pending?.promise.fail(error)
        pending = nil
        context.close(promise: nil)
    }
}

/// Keep-alive connections to one endpoint, reused one request at a time each.
final class ConnectionPool: Sendable {
    let host: String
    let port: Int
    let group: any EventLoopGroup
    /// Idle connections, guarded by this Mutex.
    private let idle = Mutex<[any Channel]>([])
    private let maxIdle = 16

    init(host: String, port: Int, group: any EventLoopGroup) {
        self.host = host
        self.port = port
        self.group = group
    }

    /// Sends one request and waits (blocking the calling thread, never an event loop) for the
    /// whole answer or `timeout`.
    func exchange(head: HTTPRequestHead, body: ByteBuffer?, maxBody: Int, timeout: TimeAmount) throws
        -> S3HTTPResponse
    {
        let channel = try take(timeout: timeout)
        let promise = channel.eventLoop.makePromise(of: S3HTTPResponse.self)
        let timer = channel.eventLoop.scheduleTask(in: timeout) {
            promise.fail(ExchangeFailure.timedOut)
            channel.close(promise: nil)
        }
        channel.writeAndFlush(HTTPExchange(head: head, body: body, maxBody: maxBody, promise: promise), promise: nil)
        let response: S3HTTPResponse
        do {
            response = try promise.futureResult.wait()
        } catch {
            timer.cancel()
            channel.close(promise: nil)
            throw error
        }
        timer.cancel()
        let closing = response.headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        if closing || head.method == .HEAD && response.status >= 400 {
            channel.close(promise: nil)
        } else {
            give(channel)
        }
        return response
    }

    private func take(timeout: TimeAmount) throws -> any Channel {
        while let c = idle.withLock({ $0.popLast() }) {
            if c.isActive { return c }
        }
        return try ClientBootstrap(group: group)
            .connectTimeout(min(timeout, .seconds(10)))
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ExchangeHandler())
                }
            }
            .connect(host: host, port: port).wait()
    }

    private func give(_ channel: any Channel) {
        let keep = idle.withLock { list -> Bool in
            guard list.count < maxIdle else { return false }
            list.append(channel)
            return true
        }
        if !keep { channel.close(promise: nil) }
    }

    /// Closes every idle connection.
    func shutdown() {
        for c in idle.withLock({ l -> [any Channel] in
            defer { l.removeAll() }
            return l
        }) {
            c.close(promise: nil)
        }
    }
}
