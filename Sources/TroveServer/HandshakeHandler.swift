import NIOCore
import TroveCore
import TroveProtocol

/// The handshake: HELLO → HELLO_OK, then AUTH → AUTH_OK when tokens are configured, within a hard
/// deadline from connect (`limits.handshake_timeout_ms`). On success it takes one authenticated
/// slot from the ``ConnectionRegistry``, raises the frame cap, announces ``SessionEstablished``
/// and removes itself from the pipeline; any failure sends an ERROR and closes.
final class HandshakeHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private enum Step {
        case hello
        case auth(serverNonce: [UInt8])
        case done
    }

    private let connection: ConnectionState
    private let registry: ConnectionRegistry
    /// HELLO_OK as this server sends it, nonce aside.
    private let helloOK: Message.HelloOK
    private let tokens: [TokenSpec]
    private let timeout: TimeAmount
    private let maxPayloadAfter: Int
    private var step = Step.hello
    private var deadline: Scheduled<Void>?

    init(
        connection: ConnectionState, registry: ConnectionRegistry, helloOK: Message.HelloOK,
        tokens: [TokenSpec]
    ) {
        self.connection = connection
        self.registry = registry
        self.helloOK = helloOK
        self.tokens = tokens
        self.timeout = .milliseconds(Int64(helloOK.limits.handshakeTimeoutMillis))
        self.maxPayloadAfter = Int(helloOK.limits.maxFramePayload)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { startDeadline(context: context) }
    }

    func channelActive(context: ChannelHandlerContext) {
        startDeadline(context: context)
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    private func startDeadline(context: ChannelHandlerContext) {
        guard deadline == nil else { return }
        let ms = helloOK.limits.handshakeTimeoutMillis
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        deadline = context.eventLoop.scheduleTask(in: timeout) {
            let (handler, context) = loopBound.value
            handler.connection.logger.debug("handshake timeout")
            handler.connection.closeWithError(
                context: context, .timeout, "handshake not completed within \(ms) ms")
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        connection.release(frame)
        guard !connection.closing else { return }
        switch step {
        case .hello: hello(frame, context: context)
        case .auth(let nonce): auth(frame, serverNonce: nonce, context: context)
        case .done: context.fireChannelRead(data)
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is DrainRequested:
            connection.closeWithError(
                context: context, .shuttingDown, "troved is shutting down; retry shortly")
        case is IdleStateHandler.IdleStateEvent:
            break  // the handshake deadline applies, not the idle timeout
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func hello(_ frame: Frame, context: ChannelHandlerContext) {
        guard let hello = (try? frame.message())?.as(Message.Hello.self) else {
            connection.closeWithError(
                context: context, .protocolViolation, "the first frame must be HELLO, got \(frame.type)")
            return
        }
        connection.logger[metadataKey: "client"] = "\(hello.client)"
        let codecs = Set(hello.codecs).union([.raw])
        self.codecs = codecs
        var ok = helloOK
        ok.serverNonce = SecureRandom.bytes(ProtocolLimits.nonceLength)
        ok.authRequired = !tokens.isEmpty
        if !ok.authRequired {
            // Open access: the slot must be there before HELLO_OK says the session is ready.
            guard take(slotFor: nil, requestID: frame.requestID, context: context) else { return }
        }
        write(.helloOK(ok), requestID: frame.requestID, context: context)
        if ok.authRequired {
            step = .auth(serverNonce: ok.serverNonce)
        } else {
            connection.logger.debug("open access (loopback, no tokens configured)")
            established(Grant.open, codecs: codecs, context: context)
        }
    }

    private var codecs: Set<Codec> = [.raw]

    private func auth(_ frame: Frame, serverNonce: [UInt8], context: ChannelHandlerContext) {
        guard let auth = (try? frame.message())?.as(Message.Auth.self) else {
            connection.closeWithError(
                context: context, .authRequired,
                "authenticate with AUTH before \(frame.type); this server requires a token",
                requestID: frame.requestID)
            return
        }
        guard let token = tokens.first(where: { $0.name == auth.tokenName }),
            HMACSHA256.equal(
                auth.proof,
                AuthProof.client(
                    key: token.key, serverNonce: serverNonce, clientNonce: auth.clientNonce, name: token.name)
            )
        else {
            connection.logger.notice("authentication failed", metadata: ["token": "\(auth.tokenName)"])
            connection.closeWithError(
                context: context, .authFailed,
                "unknown token or wrong secret; check --token-file / TROVE_TOKEN",
                requestID: frame.requestID)
            return
        }
        guard take(slotFor: token.name, requestID: frame.requestID, context: context) else { return }
        let proof = AuthProof.server(
            key: token.key, serverNonce: serverNonce, clientNonce: auth.clientNonce, name: token.name)
        write(
            .authOK(
                .init(tokenName: token.name, scope: token.scope, prefixes: token.prefixes, serverProof: proof)
            ),
            requestID: frame.requestID, context: context)
        connection.logger[metadataKey: "token"] = "\(token.name)"
        established(
            Grant(tokenName: token.name, scope: token.scope, prefixes: token.prefixes), codecs: codecs,
            context: context)
    }

    /// Takes an authenticated slot; on refusal sends `busy` and closes.
    private func take(slotFor token: String?, requestID: UInt32, context: ChannelHandlerContext) -> Bool {
        switch registry.authenticate(context.channel, token: token) {
        case .admitted:
            return true
        case .refused(let why):
            connection.closeWithError(context: context, .busy, why, requestID: requestID)
            return false
        }
    }

    private func established(_ grant: Grant, codecs: Set<Codec>, context: ChannelHandlerContext) {
        step = .done
        deadline?.cancel()
        deadline = nil
        connection.codec.maxPayload = maxPayloadAfter
        context.fireUserInboundEventTriggered(SessionEstablished(grant: grant, codecs: codecs))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func write(_ m: Message, requestID: UInt32, context: ChannelHandlerContext) {
        let bytes = connection.encode(Envelope(m, requestID: requestID), allocator: context.channel.allocator)
        context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
        context.triggerUserOutboundEvent(RequestFinished(), promise: nil)
    }
}
