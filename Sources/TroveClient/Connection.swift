import NIOCore
import NIOPosix
import TroveCore
import TroveProtocol

/// One authenticated connection to troved, used from ordinary (non-event-loop) threads.
///
/// Requests are sent with ``send(_:)``, which returns at once with a ``PendingResponse``; several
/// may be outstanding (pipelining, up to ``SessionLimits/maxInFlight``); responses arrive in
/// request order. ``call(_:)`` sends and waits. Multi-frame responses are collected until the
/// frame without the `MORE` flag; an `ERROR` frame fails the request with ``ClientError/server``.
public final class Connection {
    /// What the server announced in `HELLO_OK`.
    public let hello: Message.HelloOK
    /// What the server granted in `AUTH_OK` (nil for open access).
    public let grant: Message.AuthOK?
    /// The address connected to.
    public let address: ServerAddress

    private let group: MultiThreadedEventLoopGroup
    private let channel: Channel
    private let handler: ResponseHandler
    private var nextID: UInt32 = 1
    private let idLock = Lock()

    /// The store's chunker parameters, as announced in HELLO_OK.
    public var chunkerParameters: ChunkerParameters {
        ChunkerParameters(
            min: Int(hello.chunkMin), avg: Int(hello.chunkAvg), max: Int(hello.chunkMax),
            normalization: Int(hello.normalization))
    }

    /// The store's format policy (forced boundaries for containers), as announced in HELLO_OK.
    public var formatPolicy: FormatPolicy { hello.formats }

    /// The negotiated limits.
    public var limits: SessionLimits { hello.limits }

    /// The largest payload this connection may send (the frame cap after authentication).
    public var maxPayload: Int {
        min(Int(hello.limits.maxFramePayload), ProtocolLimits.absoluteMaxPayload)
    }

    /// Connects, exchanges preambles, sends HELLO and, when the server requires it (or
    /// `credentials` are given and the server asks for them), authenticates.
    public static func open(
        to address: ServerAddress, credentials: Credentials?, clientName: String = "trove/0.1.0"
    ) throws(ClientError) -> Connection {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let state = FrameCodecState()
        let handler = ResponseHandler()
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addTroveFrameCodec(state: state)
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        let channel: Channel
        do {
            channel = try bootstrap.connect(host: address.host, port: address.port).wait()
        } catch {
            try? group.syncShutdownGracefully()
            throw .cannotConnect(address: address.description, detail: Self.describe(error))
        }
        do {
            let conn = try Connection.handshake(
                channel: channel, group: group, handler: handler, state: state, address: address,
                credentials: credentials, clientName: clientName)
            return conn
        } catch {
            channel.close(promise: nil)
            try? group.syncShutdownGracefully()
            throw error
        }
    }

    private init(
        hello: Message.HelloOK, grant: Message.AuthOK?, address: ServerAddress,
        group: MultiThreadedEventLoopGroup, channel: Channel, handler: ResponseHandler, nextID: UInt32
    ) {
        self.hello = hello
        self.grant = grant
        self.address = address
        self.group = group
        self.channel = channel
        self.handler = handler
        self.nextID = nextID
    }

    private static func handshake(
        channel: Channel, group: MultiThreadedEventLoopGroup, handler: ResponseHandler,
        state: FrameCodecState,
        address: ServerAddress, credentials: Credentials?, clientName: String
    ) throws(ClientError) -> Connection {
        func exchange(_ m: Message, id: UInt32) throws(ClientError) -> Message {
            let p = ResponseHandler.submit(channel: channel, handler: handler, message: m, id: id)
            let frames = try PendingResponse(future: p, request: m.type.description).wait()
            guard let first = frames.first, frames.count == 1 else {
                throw .protocolViolation(detail: "a handshake response spanned several frames")
            }
            return first
        }
        // A server that accepts the connection but never answers must not hang the client.
        let watchdog = channel.eventLoop.scheduleTask(in: .seconds(30)) {
            handler.abandon(
                .connectionClosed(detail: "troved at \(address) did not complete the handshake within 30 s"),
                channel: channel)
        }
        defer { watchdog.cancel() }
        let helloReply = try exchange(.hello(.init(client: clientName, codecs: [.zstd, .lz4, .raw])), id: 1)
        guard case .helloOK(let hello) = helloReply else {
            throw .protocolViolation(detail: "expected HELLO_OK, got \(helloReply.type)")
        }
        var grant: Message.AuthOK? = nil
        var nextID: UInt32 = 2
        if hello.authRequired {
            guard let credentials else {
                throw .server(
                    code: .authRequired,
                    message:
                        "troved at \(address) requires a token: pass --token-file FILE or set TROVE_TOKEN "
                        + "(NAME:SECRET)", request: "HELLO")
            }
            let key = AuthProof.key(secret: credentials.secret)
            let clientNonce = SecureRandom.bytes(ProtocolLimits.nonceLength)
            let proof = AuthProof.client(
                key: key, serverNonce: hello.serverNonce, clientNonce: clientNonce, name: credentials.name)
            let reply = try exchange(
                .auth(.init(tokenName: credentials.name, clientNonce: clientNonce, proof: proof)), id: 2)
            nextID = 3
            guard case .authOK(let ok) = reply else {
                throw .protocolViolation(detail: "expected AUTH_OK, got \(reply.type)")
            }
            let expected = AuthProof.server(
                key: key, serverNonce: hello.serverNonce, clientNonce: clientNonce, name: credentials.name)
            guard HMACSHA256.equal(expected, ok.serverProof) else {
                throw .authentication(
                    detail: "troved at \(address) could not prove it knows token \(credentials.name); "
                        + "it may not be the server you meant")
            }
            grant = ok
        }
        let cap = min(Int(hello.limits.maxFramePayload), ProtocolLimits.absoluteMaxPayload)
        do {
            try channel.eventLoop.submit { state.maxPayload = max(cap, ProtocolLimits.preAuthMaxPayload) }
                .wait()
        } catch {
            throw .connectionClosed(detail: describe(error))
        }
        return Connection(
            hello: hello, grant: grant, address: address, group: group, channel: channel, handler: handler,
            nextID: nextID)
    }

    /// Sends a request without waiting for its answer. Thread-safe; requests are sent in call order.
    ///
    /// - Parameter transform: run on the connection's event loop on each response message as it
    ///   arrives (e.g. to verify chunks off the caller's thread); an error it throws fails the
    ///   request and closes the connection.
    public func send(_ message: Message, transform: ResponseTransform? = nil) -> PendingResponse {
        // The id is taken and the request queued under one lock so ids go out in order.
        let future: EventLoopFuture<[Message]> = idLock.withLock {
            let id = nextID
            nextID = nextID == UInt32.max ? 1 : nextID + 1
            return ResponseHandler.submit(
                channel: channel, handler: handler, message: message, id: id, transform: transform)
        }
        return PendingResponse(future: future, request: message.type.description)
    }

    /// Sends a request and waits for all frames of its response.
    public func call(_ message: Message) throws(ClientError) -> [Message] {
        try send(message).wait()
    }

    /// Closes the connection and stops its event loop.
    public func close() {
        _ = try? channel.close().wait()
        try? group.syncShutdownGracefully()
    }

    static func describe(_ error: any Error) -> String {
        if let e = error as? ClientError { return e.description }
        if let e = error as? IOError { return e.description }
        if let e = error as? NIOConnectionError {
            if let first = e.connectionErrors.first { return "\(first.error)" }
            return "\(e)"
        }
        if let e = error as? ChannelError {
            switch e {
            case .connectTimeout: return "connection timed out"
            default: return "\(e)"
            }
        }
        return "\(error)"
    }
}

/// Runs on the event loop on each response message of one request (see ``Connection/send(_:transform:)``).
public typealias ResponseTransform = (Message) throws(ClientError) -> Message

/// A request that was sent; ``wait()`` blocks until its response has fully arrived.
public struct PendingResponse {
    let future: EventLoopFuture<[Message]>
    let request: String

    /// Waits for the response frames (decoded messages, in order).
    public func wait() throws(ClientError) -> [Message] {
        do {
            return try future.wait()
        } catch let e as ClientError {
            if case .server(let code, let message, let r) = e, r.isEmpty {
                throw .server(code: code, message: message, request: request)
            }
            throw e
        } catch {
            throw .connectionClosed(detail: Connection.describe(error))
        }
    }
}

/// Matches response frames to outstanding requests (in order) on the event loop.
final class ResponseHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = Envelope

    private struct Outstanding {
        var id: UInt32
        var promise: EventLoopPromise<[Message]>
        var messages: [Message]
        var transform: ResponseTransform?
    }

    private var queue = CircularBuffer<Outstanding>()
    private var failure: ClientError?

    static func submit(
        channel: Channel, handler: ResponseHandler, message: Message, id: UInt32,
        transform: ResponseTransform? = nil
    ) -> EventLoopFuture<[Message]> {
        let loop = channel.eventLoop
        let promise = loop.makePromise(of: [Message].self)
        loop.execute {
            if let failure = handler.failure {
                promise.fail(failure)
                return
            }
            handler.queue.append(Outstanding(id: id, promise: promise, messages: [], transform: transform))
            channel.writeAndFlush(Envelope(message, requestID: id), promise: nil)
        }
        return promise.futureResult
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.requestID == 0 {
            var reason = "the server sent a connection-level frame of type \(frame.type)"
            if case .error(let e)? = try? frame.message() {
                fail(.server(code: e.code, message: e.message, request: ""), context: context)
                return
            }
            reason += " it could not decode"
            fail(.protocolViolation(detail: reason), context: context)
            return
        }
        guard var head = queue.first else {
            fail(
                .protocolViolation(
                    detail: "a response (id \(frame.requestID)) arrived with nothing outstanding"),
                context: context)
            return
        }
        guard head.id == frame.requestID else {
            fail(
                .protocolViolation(
                    detail: "response id \(frame.requestID) does not match the oldest request \(head.id)"),
                context: context)
            return
        }
        var message: Message
        do {
            message = try frame.message()
        } catch {
            fail(.protocolViolation(detail: "\(error)"), context: context)
            return
        }
        if let transform = head.transform {
            if case .error = message {
            } else {
                do throws(ClientError) {
                    message = try transform(message)
                } catch {
                    fail(error, context: context)
                    return
                }
            }
        }
        if case .error(let e) = message {
            queue.removeFirst()
            head.promise.fail(ClientError.server(code: e.code, message: e.message, request: ""))
            return
        }
        if frame.flags.contains(.more) {
            queue[queue.startIndex].messages.append(message)
            return
        }
        queue.removeFirst()
        head.messages.append(message)
        head.promise.succeed(head.messages)
    }

    /// Fails everything outstanding with `error` and closes the channel (on the event loop).
    func abandon(_ error: ClientError, channel: Channel) {
        if failure == nil { failure = error }
        while let o = queue.popFirst() { o.promise.fail(failure!) }
        channel.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let p = error as? ProtocolError {
            fail(.protocolViolation(detail: p.description), context: context)
        } else {
            fail(.connectionClosed(detail: Connection.describe(error)), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed(detail: "troved closed the connection"), context: nil)
        context.fireChannelInactive()
    }

    private func fail(_ error: ClientError, context: ChannelHandlerContext?) {
        if failure == nil { failure = error }
        while let o = queue.popFirst() { o.promise.fail(failure!) }
        context?.close(promise: nil)
    }
}
