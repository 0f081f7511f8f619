import Logging
import NIOCore
import NIOPosix
import TroveCore
import TroveProtocol

/// One client connection: handshake (HELLO, AUTH), then requests answered strictly in order.
///
/// Backpressure: the channel does not auto-read. The session asks for more bytes only while
/// fewer than `maxInFlight` requests (and fewer than `maxQueuedBytes`) wait; multi-frame
/// responses build their next frame only once the socket is writable again. So a slow or
/// stalled client costs the daemon a bounded amount of memory.
final class Session: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Envelope

    enum State {
        case hello
        case auth(serverNonce: [UInt8])
        case ready
        case closing
    }

    static let maxQueuedBytes = 16 << 20

    private let shared: ServerShared
    private let codecState: FrameCodecState
    private var logger: Logger
    private var state = State.hello
    private var grant = Grant.open
    private var codecs: Set<Codec> = [.raw]
    private var queue = CircularBuffer<Frame>()
    private var queuedBytes = 0
    private var busy = false
    private var stalled = false
    private var draining = false
    private var pendingStream: (ResponseStream, UInt32)?
    private var handshakeTimer: Scheduled<Void>?
    private var idleTask: RepeatedTask?
    private var lastActivity = NIODeadline.now()
    private var context: ChannelHandlerContext?
    private var countedToken: String?
    private var registered = false

    init(shared: ServerShared, codecState: FrameCodecState, peer: String) {
        self.shared = shared
        self.codecState = codecState
        var l = shared.logger
        l[metadataKey: "peer"] = "\(peer)"
        self.logger = l
    }

    // MARK: Channel events

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func channelActive(context: ChannelHandlerContext) {
        registered = shared.register(self, eventLoop: context.eventLoop)
        let limits = shared.router.limits
        handshakeTimer = context.eventLoop.scheduleTask(
            in: .milliseconds(Int64(limits.handshakeTimeoutMillis))
        ) {
            [weak self] in
            guard let self, case .ready = self.state else {
                self?.closeWithError(
                    .timeout, "handshake not completed within \(limits.handshakeTimeoutMillis) ms")
                return
            }
        }
        let period = TimeAmount.milliseconds(Int64(max(250, limits.idleTimeoutMillis / 4)))
        idleTask = context.eventLoop.scheduleRepeatedTask(initialDelay: period, delay: period) {
            [weak self] _ in
            self?.checkIdle()
        }
        context.read()
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        handshakeTimer?.cancel()
        idleTask?.cancel()
        state = .closing
        pendingStream = nil
        queue.removeAll()
        if registered { shared.unregister(self, token: countedToken) }
        registered = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        lastActivity = .now()
        switch state {
        case .hello: handleHello(frame)
        case .auth(let nonce): handleAuth(frame, serverNonce: nonce)
        case .ready:
            queue.append(frame)
            queuedBytes += frame.payload.readableBytes
            pump()
        case .closing: break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
        guard case .ready = state, !draining else {
            if case .closing = state { return }
            if !draining { context.read() }
            return
        }
        if queue.count < Int(shared.router.limits.maxInFlight) && queuedBytes < Session.maxQueuedBytes {
            context.read()
        } else {
            stalled = true
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable, let (stream, id) = pendingStream {
            pendingStream = nil
            runStream(stream, requestID: id)
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        if let p = error as? ProtocolError {
            logger.warning("protocol violation, closing", metadata: ["error": "\(p)"])
            closeWithError(.protocolViolation, "\(p)")
        } else if error is ByteToMessageDecoderError || error is IOError {
            logger.debug("connection error", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        } else {
            logger.warning("connection error, closing", metadata: ["error": "\(error)"])
            context.close(promise: nil)
        }
    }

    // MARK: Handshake

    private func handleHello(_ frame: Frame) {
        guard let hello = (try? frame.message())?.as(Message.Hello.self) else {
            closeWithError(.protocolViolation, "the first frame must be HELLO, got \(frame.type)")
            return
        }
        if !registered {
            closeWithError(
                .busy, "troved has too many connections (\(shared.config.maxConnections)); retry later",
                requestID: frame.requestID)
            return
        }
        if draining {
            closeWithError(
                .shuttingDown, "troved is shutting down; retry shortly", requestID: frame.requestID)
            return
        }
        codecs = Set(hello.codecs).union([.raw])
        let nonce = SecureRandom.bytes(ProtocolLimits.nonceLength)
        let store = shared.router.store
        let c = store.config.chunking
        let authRequired = !shared.config.tokens.isEmpty
        logger[metadataKey: "client"] = "\(hello.client)"
        let ok = Message.HelloOK(
            server: "troved/\(TroveServer.version)", storeID: store.config.storeID, chunkMin: UInt32(c.min),
            chunkAvg: UInt32(c.avg), chunkMax: UInt32(c.max), normalization: UInt8(c.normalization),
            preferredCodec: store.config.codec, codecs: [.zstd, .lz4, .raw], limits: shared.router.limits,
            serverNonce: nonce, authRequired: authRequired, formats: store.config.formats)
        write(.helloOK(ok), requestID: frame.requestID, last: true)
        if authRequired {
            state = .auth(serverNonce: nonce)
        } else {
            logger.debug("open access (loopback, no tokens configured)")
            becomeReady(Grant.open)
        }
    }

    private func handleAuth(_ frame: Frame, serverNonce: [UInt8]) {
        guard let auth = (try? frame.message())?.as(Message.Auth.self) else {
            closeWithError(
                .authRequired, "authenticate with AUTH before \(frame.type); this server requires a token",
                requestID: frame.requestID)
            return
        }
        guard let token = shared.config.tokens.first(where: { $0.name == auth.tokenName }),
            HMACSHA256.equal(
                auth.proof,
                AuthProof.client(
                    key: token.key, serverNonce: serverNonce, clientNonce: auth.clientNonce, name: token.name)
            )
        else {
            logger.notice("authentication failed", metadata: ["token": "\(auth.tokenName)"])
            closeWithError(
                .authFailed, "unknown token or wrong secret; check --token-file / TROVE_TOKEN",
                requestID: frame.requestID)
            return
        }
        guard shared.countToken(token.name) else {
            closeWithError(
                .busy,
                "token '\(token.name)' already has \(shared.config.maxConnectionsPerToken) connections; retry later",
                requestID: frame.requestID)
            return
        }
        countedToken = token.name
        let proof = AuthProof.server(
            key: token.key, serverNonce: serverNonce, clientNonce: auth.clientNonce, name: token.name)
        write(
            .authOK(
                .init(tokenName: token.name, scope: token.scope, prefixes: token.prefixes, serverProof: proof)
            ),
            requestID: frame.requestID, last: true)
        logger[metadataKey: "token"] = "\(token.name)"
        becomeReady(Grant(tokenName: token.name, scope: token.scope, prefixes: token.prefixes))
    }

    private func becomeReady(_ grant: Grant) {
        self.grant = grant
        handshakeTimer?.cancel()
        handshakeTimer = nil
        codecState.maxPayload = Int(shared.router.limits.maxFramePayload)
        state = .ready
    }

    // MARK: Requests

    private func pump() {
        guard let context else { return }
        guard case .ready = state else { return }
        if busy { return }
        if draining {
            closeWithError(.shuttingDown, "troved is shutting down; retry shortly")
            return
        }
        guard let frame = queue.popFirst() else { return }
        queuedBytes -= frame.payload.readableBytes
        if stalled && !draining && queue.count < Int(shared.router.limits.maxInFlight)
            && queuedBytes < Session.maxQueuedBytes
        {
            stalled = false
            context.read()
        }
        let message: Message
        do {
            message = try frame.message()
        } catch {
            closeWithError(.protocolViolation, "\(error)")
            return
        }
        let id = frame.requestID
        switch message.body {
        case let p as Message.Ping:
            write(.pong(.init(nonce: p.nonce)), requestID: id, last: true)
            pump()
            return
        case is Message.Hello, is Message.Auth:
            closeWithError(.protocolViolation, "\(message.type) is only allowed once, at the start")
            return
        default:
            break
        }
        busy = true
        let router = shared.router
        let grant = self.grant
        let codecs = self.codecs
        shared.pool.runIfActive(eventLoop: context.eventLoop) { () throws -> Response in
            do { return try router.handle(message, grant: grant, codecs: codecs) } catch { throw error }
        }.whenComplete { [self] result in
            switch result {
            case .success(.single(let m)):
                write(m, requestID: id, last: true)
                finishRequest()
            case .success(.stream(let s)):
                runStream(s, requestID: id)
            case .failure(let error):
                fail(error, requestID: id, request: message.type)
            }
        }
    }

    private func runStream(_ stream: ResponseStream, requestID id: UInt32) {
        guard let context, case .ready = state else { return }
        shared.pool.runIfActive(eventLoop: context.eventLoop) { () throws -> (message: Message, last: Bool) in
            do { return try stream.next() } catch { throw error }
        }.whenComplete { [self] result in
            switch result {
            case .success(let (m, last)):
                write(m, requestID: id, last: last)
                if last {
                    finishRequest()
                } else if context.channel.isWritable {
                    runStream(stream, requestID: id)
                } else {
                    pendingStream = (stream, id)
                }
            case .failure(let error):
                fail(error, requestID: id, request: nil)
            }
        }
    }

    private func fail(_ error: Error, requestID: UInt32, request: MessageType?) {
        let e = (error as? ServerError) ?? ServerError(.internalError, "\(error)")
        if e.code == .internalError || e.code == .readOnly || e.code == .integrity {
            logger.error(
                "request failed",
                metadata: ["request": "\(request.map { "\($0)" } ?? "stream")", "error": "\(e)"])
        } else {
            logger.debug("request refused", metadata: ["error": "\(e)"])
        }
        if e.code == .protocolViolation {
            closeWithError(.protocolViolation, e.message, requestID: requestID)
            return
        }
        write(e.reply, requestID: requestID, last: true)
        finishRequest()
    }

    private func finishRequest() {
        busy = false
        lastActivity = .now()
        context?.flush()
        pump()
    }

    // MARK: Output and shutdown

    private func write(_ m: Message, requestID: UInt32, last: Bool) {
        guard let context else { return }
        context.writeAndFlush(
            wrapOutboundOut(Envelope(m, requestID: requestID, flags: last ? [] : .more)), promise: nil)
    }

    /// Sends an ERROR (request id 0 unless given) and closes the connection.
    private func closeWithError(_ code: ErrorCode, _ message: String, requestID: UInt32 = 0) {
        guard let context else { return }
        if case .closing = state { return }
        state = .closing
        let reply = Message.error(.init(code: code, retryable: code.isRetryable, message: message))
        context.writeAndFlush(wrapOutboundOut(Envelope(reply, requestID: requestID))).whenComplete { _ in
            context.close(promise: nil)
        }
    }

    private func checkIdle() {
        guard case .ready = state, !busy, queue.isEmpty, pendingStream == nil else { return }
        let idle = shared.router.limits.idleTimeoutMillis
        if NIODeadline.now() - lastActivity > .milliseconds(Int64(idle)) {
            logger.debug("idle timeout")
            closeWithError(.timeout, "no request for \(idle / 1000) s; reconnect when needed")
        }
    }

    /// Graceful shutdown: stop reading, finish the request in progress, then close with
    /// `shutting-down`. Runs on the channel's event loop.
    func drain() {
        draining = true
        switch state {
        case .ready where busy || pendingStream != nil: break
        case .closing: break
        default: closeWithError(.shuttingDown, "troved is shutting down; retry shortly")
        }
    }
}
