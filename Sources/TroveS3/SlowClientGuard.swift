import Logging
import NIOCore
import NIOHTTP1

/// Deadlines against clients that hold a connection open by sending slowly (slowloris): a request
/// head must arrive within `headerTimeoutSeconds` of waiting for it, and a body must bring at
/// least `minBodyRate` bytes per second over each `headerTimeoutSeconds` stretch of waiting.
///
/// Only time troved spends waiting for the client counts: from the moment the pipeline asks the
/// socket for bytes until they arrive. While troved itself holds reads back (a body waits for the
/// store, backpressure), or before it has answered `Expect: 100-continue`, the clock stands
/// still. A client that misses a deadline gets `408 RequestTimeout` (unless a response is already
/// on its way) and the connection closes. A silent connection falls to the idle timeout instead.
struct SlowClientLimits: Sendable {
    /// Seconds of waiting a request head may take from its first byte (the first request's
    /// from the connection's start, TLS handshake included); also the body-rate window.
    var headerTimeoutSeconds: Int64
    /// Bytes per second a body must average over each window; 0: no body-rate limit.
    var minBodyRate: Int
}

/// Where the connection is in its current request and how long troved has waited for the
/// client in that phase. Shared by ``SlowClientGuard`` (raw bytes) and ``RequestPhaseWatcher``
/// (HTTP parts); both run on the channel's event loop, which is the only place it is touched.
final class RequestClock {
    enum Phase {
        /// Between requests of a kept-alive connection: no deadline (the idle timeout applies).
        case betweenRequests
        /// A request head is arriving.
        case head
        /// A body is arriving and troved is reading it.
        case body
        /// Neither: waiting for troved (100-continue not sent yet, or it answered early).
        case elsewhere
    }

    private(set) var phase = Phase.head
    /// A response is being written (a 408 would corrupt it: close only).
    var responding = false
    /// Nanoseconds waited in the current phase (or body-rate window), not counting the wait in
    /// progress since `pendingSince`.
    private var waited: Int64 = 0
    /// When the read troved is waiting on was asked for; nil: troved is not waiting.
    private var pendingSince: NIODeadline?
    /// Body bytes in the current window.
    private(set) var windowBytes = 0

    /// Moves to `phase`, starting its clock.
    func enter(_ phase: Phase) {
        self.phase = phase
        restart()
    }

    /// Starts the current phase's (or window's) clock over.
    func restart() {
        waited = 0
        windowBytes = 0
        if pendingSince != nil { pendingSince = .now() }
    }

    /// Troved asked the socket for bytes.
    func readRequested() {
        if pendingSince == nil { pendingSince = .now() }
    }

    /// `count` bytes arrived.
    func bytesArrived(_ count: Int) {
        if let since = pendingSince {
            waited += (NIODeadline.now() - since).nanoseconds
            pendingSince = nil
        }
        switch phase {
        case .betweenRequests: if count > 0 { enter(.head) }
        case .body: windowBytes += count
        case .head, .elsewhere: break
        }
    }

    /// Whether troved is waiting for the client's bytes (it asked the socket for more and none
    /// came yet). False while troved holds reads back because it has not consumed what arrived
    /// (backpressure): then troved, not the client, is the slow side.
    var awaitingClient: Bool { pendingSince != nil }

    /// Seconds waited in the current phase (or window) so far.
    var waitedNanos: Int64 {
        waited + (pendingSince.map { (NIODeadline.now() - $0).nanoseconds } ?? 0)
    }
}

/// The raw-bytes half (after TLS, before the HTTP decoder): sees every read troved asks for
/// and every byte that arrives, checks the deadlines a few times per window and enforces them.
final class SlowClientGuard: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = IOData
    typealias OutboundOut = IOData

    let clock: RequestClock
    private let limits: SlowClientLimits
    private let logger: Logger
    private var timer: RepeatedTask?

    init(clock: RequestClock, limits: SlowClientLimits, logger: Logger) {
        self.clock = clock
        self.limits = limits
        self.logger = logger
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let window = limits.headerTimeoutSeconds * 1_000_000_000
        let tick = TimeAmount.nanoseconds(min(1_000_000_000, max(50_000_000, window / 8)))
        let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timer = context.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in
            let (me, context) = bound.value
            me.check(context: context)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) { stop() }

    func channelInactive(context: ChannelHandlerContext) {
        stop()
        context.fireChannelInactive()
    }

    private func stop() {
        timer?.cancel()
        timer = nil
    }

    func read(context: ChannelHandlerContext) {
        clock.readRequested()
        context.read()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        clock.bytesArrived(unwrapInboundIn(data).readableBytes)
        context.fireChannelRead(data)
    }

    private func check(context: ChannelHandlerContext) {
        let window = limits.headerTimeoutSeconds * 1_000_000_000
        let waited = clock.waitedNanos
        guard waited >= window else { return }
        switch clock.phase {
        case .head:
            timeOut(context, "the request head did not arrive within \(limits.headerTimeoutSeconds) s ([s3] header_timeout)")
        case .body where limits.minBodyRate > 0:
            let needed = Int64(limits.minBodyRate) * limits.headerTimeoutSeconds
            if Int64(clock.windowBytes) < needed {
                timeOut(
                    context,
                    "the request body arrived slower than \(limits.minBodyRate) bytes/s over \(limits.headerTimeoutSeconds) s "
                        + "([s3] min_body_rate)")
            } else {
                clock.restart()
            }
        case .body, .betweenRequests, .elsewhere:
            break
        }
    }

    /// Answers 408 RequestTimeout (when no response is under way) and closes.
    private func timeOut(_ context: ChannelHandlerContext, _ message: String) {
        stop()
        logger.notice("dropping a slow S3 client", metadata: ["reason": "\(message)"])
        if !clock.responding {
            let xml = S3Error(.requestTimeout, "RequestTimeout", message + "; nothing of this request was stored")
                .xml(resource: "", requestID: "timeout")
            var out = context.channel.allocator.buffer(capacity: 256 + xml.utf8.count)
            out.writeString(
                "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/xml\r\nContent-Length: \(xml.utf8.count)\r\n"
                    + "Connection: close\r\n\r\n" + xml)
            context.writeAndFlush(wrapOutboundOut(.byteBuffer(out)), promise: nil)
        }
        context.close(promise: nil)
    }
}

/// The HTTP half (right after the request decoder, before the pipelining handler): moves the
/// shared ``RequestClock`` through a request's phases as heads, ends and responses pass.
final class RequestPhaseWatcher: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let clock: RequestClock

    init(clock: RequestClock) { self.clock = clock }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            let waitsForContinue = h.headers.first(name: "expect")?.lowercased() == "100-continue"
            clock.enter(waitsForContinue ? .elsewhere : .body)
        case .body: break
        case .end: clock.enter(.betweenRequests)
        }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let h) where h.status == .continue:
            if clock.phase == .elsewhere { clock.enter(.body) }
        case .head:
            clock.responding = true
            // Troved answered before reading the whole body: the rest is not the client's to hurry.
            if clock.phase == .body { clock.enter(.elsewhere) }
        case .body: break
        case .end: clock.responding = false
        }
        context.write(data, promise: promise)
    }
}
