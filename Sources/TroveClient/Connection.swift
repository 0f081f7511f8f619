import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
import TroveCore
import TroveProtocol

/// One authenticated connection to troved. Thread-safe: any thread may send on it.
///
/// ``send(_:transform:)`` sends a request and returns at once with a ``PendingReply`` (a future);
/// several may be outstanding (pipelining, up to ``SessionLimits/maxInFlight``) and responses
/// arrive in request order. ``call(_:)`` sends and waits: `connection.call(request)` returns the
/// request's typed ``WireRequest/Reply``, the frames of a multi-frame response merged; an `ERROR`
/// frame fails the request with ``ClientError/server(code:message:request:)``.
///
/// Every connection runs on the process-wide `MultiThreadedEventLoopGroup.singleton`. The
/// blocking forms (``open(to:credentials:clientName:)``, ``call(_:)``, ``PendingReply/wait()``)
/// are a thin facade for the CLI's and the mount's worker threads; never call them on an event
/// loop. Async code uses ``PendingReply/get()``.
public final class Connection: Sendable {
    /// What the server announced in `HELLO_OK`.
    public let hello: Message.HelloOK
    /// What the server granted in `AUTH_OK` (nil for open access).
    public let grant: Message.AuthOK?
    /// The address connected to.
    public let address: ServerAddress

    private let channel: any Channel
    /// The next request id; taken together with queueing the request so ids go out in order.
    private let nextID: Mutex<UInt32>

    /// The store's chunker parameters, as announced in HELLO_OK.
    public var chunkerParameters: ChunkerParameters { hello.chunkerParameters }

    /// The store's format policy (forced boundaries for containers), as announced in HELLO_OK.
    public var formatPolicy: FormatPolicy { hello.formats }

    /// The negotiated limits.
    public var limits: SessionLimits { hello.limits }

    /// The largest payload this connection may send (the frame cap after authentication).
    public var maxPayload: Int {
        min(Int(hello.limits.maxFramePayload), ProtocolLimits.absoluteMaxPayload)
    }

    /// Connects, exchanges preambles, sends HELLO and, when the server requires it (or
    /// `credentials` are given and the server asks for them), authenticates. Blocks (the
    /// blocking facade of ``connect(to:credentials:clientName:)``).
    public static func open(
        to address: ServerAddress, credentials: Credentials?, clientName: String = "trove/0.1.0"
    ) throws(ClientError) -> Connection {
        do {
            return try opening(to: address, credentials: credentials, clientName: clientName).wait()
        } catch {
            throw clientError(error)
        }
    }

    /// Connects and authenticates like ``open(to:credentials:clientName:)``, without blocking.
    public static func connect(
        to address: ServerAddress, credentials: Credentials?, clientName: String = "trove/0.1.0"
    ) async throws(ClientError) -> Connection {
        do {
            return try await opening(to: address, credentials: credentials, clientName: clientName).get()
        } catch {
            throw clientError(error)
        }
    }

    /// The most bytes one socket read takes: NIO's adaptive receive allocator grows each read's
    /// buffer up to it on a connection that keeps filling them (a pull's CHUNKS frames), and shrinks
    /// it again on one that does not. Read when a connection opens. NIO's own default, 64 KiB, took
    /// ~16 000 reads per GiB pulled.
    public static let maxReadBytes = Atomic<Int>(1 << 20)

    /// Whether requests whose chunk data can stay in place (``ScatteredFrame``: `BLOB_CHUNKS`) are
    /// written as pieces, their data not copied into a frame buffer. False writes every frame whole,
    /// as before (`TROVE_SCATTER_FRAMES=0`, for A/B runs); the bytes on the wire are the same.
    public static let scatterFrames = Atomic<Bool>(true)

    /// The buffers a connection reuses for the frames it receives (a pull's CHUNKS frames: as
    /// many as its request window holds).
    static func frameBuffers() -> ByteBufferPool { ByteBufferPool(maxBuffers: 8, maxBytes: 64 << 20) }

    /// The connection once it is connected and authenticated.
    static func opening(
        to address: ServerAddress, credentials: Credentials?, clientName: String
    ) -> EventLoopFuture<Connection> {
        let tls: NIOSSLContext?
        do { tls = try ConnectionTLS.context(for: address) } catch {
            return MultiThreadedEventLoopGroup.singleton.next().makeFailedFuture(error)
        }
        return ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelOption(
                ChannelOptions.recvAllocator,
                value: AdaptiveRecvByteBufferAllocator(
                    minimum: 64, initial: 2048, maximum: max(2048, maxReadBytes.load(ordering: .relaxed)))
            )
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    if let tls { try ConnectionTLS.addHandlers(tls, address: address, to: channel.pipeline.syncOperations) }
                    let state = FrameCodecState()
                    // The frame codec without an encoder: the response handler encodes requests
                    // (some in pieces, see ``ScatteredFrame``).
                    let pipeline = channel.pipeline.syncOperations
                    try pipeline.addHandler(PreambleWriter(state.local))
                    try pipeline.addHandler(FrameReader(state: state, buffers: Self.frameBuffers()))
                    try pipeline.addHandler(ResponseHandler(codecState: state))
                }
            }
            .connect(host: address.host, port: address.port)
            .flatMapErrorThrowing { error in
                throw ClientError.cannotConnect(address: address.description, detail: describe(error))
            }
            .flatMap { channel in
                // NIO completes the connect future just before `channelActive` runs through the
                // pipeline (which writes the preamble): start the handshake one loop tick later.
                channel.eventLoop.flatSubmit {
                    handshake(
                        channel: channel, address: address, credentials: credentials, clientName: clientName)
                }
                .flatMapErrorThrowing { error in
                    channel.close(promise: nil)
                    throw error
                }
            }
    }

    private init(
        hello: Message.HelloOK, grant: Message.AuthOK?, address: ServerAddress, channel: any Channel,
        nextID: UInt32, protocolVersion: UInt8
    ) {
        self.hello = hello
        self.grant = grant
        self.address = address
        self.channel = channel
        self.nextID = Mutex(nextID)
        self.protocolVersion = protocolVersion
    }

    /// The protocol version both sides speak (PROTOCOL.md §2): 2 when the server has blob
    /// streams (§9a), 1 for an older server.
    public let protocolVersion: UInt8

    /// HELLO, then AUTH when the server asks for it (checking the server's proof in turn), then
    /// the frame cap raised to the announced maximum.
    private static func handshake(
        channel: any Channel, address: ServerAddress, credentials: Credentials?, clientName: String
    ) -> EventLoopFuture<Connection> {
        let loop = channel.eventLoop
        @Sendable func exchange<R: WireRequest>(_ request: R, id: UInt32) -> EventLoopFuture<R.Reply> {
            PendingReply<R.Reply>(
                ResponseHandler.submit(Message(request), id: id, transform: nil, on: channel),
                request: "\(R.type)"
            ).reply
        }
        // A server that accepts the connection but never answers must not hang the client.
        let watchdog = loop.scheduleTask(in: .seconds(30)) {
            channel.pipeline.fireErrorCaught(
                ClientError.connectionClosed(
                    detail: "troved at \(address) did not complete the handshake within 30 s"))
        }
        let hello = Message.Hello(client: clientName, codecs: [.zstd, .lz4, .raw])
        let done = exchange(hello, id: 1).flatMap {
            hello -> EventLoopFuture<(Message.HelloOK, Message.AuthOK?)> in
            guard hello.authRequired else { return loop.makeSucceededFuture((hello, nil)) }
            guard let credentials else {
                return loop.makeFailedFuture(
                    ClientError.server(
                        code: .authRequired,
                        message:
                            "troved at \(address) requires a token: pass --token-file FILE or set TROVE_TOKEN "
                            + "(NAME:SECRET)", request: "HELLO"))
            }
            let key = AuthProof.key(secret: credentials.secret)
            let clientNonce = SecureRandom.bytes(ProtocolLimits.nonceLength)
            let proof = AuthProof.client(
                key: key, serverNonce: hello.serverNonce, clientNonce: clientNonce, name: credentials.name)
            let auth = Message.Auth(tokenName: credentials.name, clientNonce: clientNonce, proof: proof)
            return exchange(auth, id: 2).flatMapThrowing { ok in
                let expected = AuthProof.server(
                    key: key, serverNonce: hello.serverNonce, clientNonce: clientNonce, name: credentials.name
                )
                guard HMACSHA256.equal(expected, ok.serverProof) else {
                    throw ClientError.authentication(
                        detail: "troved at \(address) could not prove it knows token \(credentials.name); "
                            + "it may not be the server you meant")
                }
                return (hello, ok)
            }
        }.flatMap { hello, grant in
            let cap = min(Int(hello.limits.maxFramePayload), ProtocolLimits.absoluteMaxPayload)
            return channel.triggerUserOutboundEvent(
                ResponseHandler.RaiseFrameCap(maxPayload: max(cap, ProtocolLimits.preAuthMaxPayload))
            ).map {
                Connection(
                    hello: hello, grant: grant, address: address, channel: channel,
                    nextID: grant == nil ? 2 : 3,
                    protocolVersion: (try? channel.pipeline.syncOperations.handler(type: ResponseHandler.self))?
                        .negotiatedVersion ?? 1)
            }
        }
        done.whenComplete { _ in watchdog.cancel() }
        return done
    }

    /// `error` as the client's error type.
    static func clientError(_ error: any Error) -> ClientError {
        (error as? ClientError) ?? .connectionClosed(detail: describe(error))
    }

    /// Sends a request without waiting for its answer; requests go out in call order.
    ///
    /// - Parameter transform: run on the connection's event loop on each response message as it
    ///   arrives (e.g. to verify chunks off the caller's thread); an error it throws fails the
    ///   request and closes the connection.
    public func send<R: WireRequest>(
        _ request: R, transform: ResponseTransform? = nil
    ) -> PendingReply<R.Reply> {
        send(request, transform: transform, dataChecksums: [])
    }

    /// ``send(_:transform:)`` of a request whose chunk data's CRC-32C the caller took (in order,
    /// nil where not): the frame checksum folds them in instead of reading the bytes again.
    func send<R: WireRequest>(
        _ request: R, transform: ResponseTransform?, dataChecksums: [UInt32?]
    ) -> PendingReply<R.Reply> {
        PendingReply(
            submit(Message(request), transform: transform, dataChecksums: dataChecksums), request: "\(R.type)")
    }

    /// Sends a request and waits for its reply (blocking facade; see the type's documentation).
    public func call<R: WireRequest>(_ request: R) throws(ClientError) -> R.Reply {
        try send(request).wait()
    }

    /// Sends any message and waits for the frames of its response, undecoded (for tools and
    /// tests; requests normally go through ``call(_:)``).
    public func call(_ message: Message) throws(ClientError) -> [Message] {
        try PendingReply<RawFrames>(submit(message, transform: nil), request: "\(message.type)").wait().frames
    }

    private func submit(_ message: Message, transform: ResponseTransform?, dataChecksums: [UInt32?] = [])
        -> EventLoopFuture<[Message]>
    {
        nextID.withLock { id in
            let future = ResponseHandler.submit(
                message, id: id, transform: transform, dataChecksums: dataChecksums, on: channel)
            id = id == UInt32.max ? 1 : id + 1
            return future
        }
    }

    /// Closes the connection (blocks until it is closed).
    public func close() {
        _ = try? channel.close().wait()
    }

    /// A connection dropped without ``close()`` does not keep its socket open.
    deinit {
        channel.close(promise: nil)
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
public typealias ResponseTransform = @Sendable (Message) throws(ClientError) -> Message

/// A request that was sent: its reply, once every frame has arrived, decoded as `Reply`.
public struct PendingReply<Reply: WireResponse>: Sendable {
    /// The response's frames (decoded messages, in order).
    public let frames: EventLoopFuture<[Message]>
    let request: String

    init(_ frames: EventLoopFuture<[Message]>, request: String) {
        self.frames = frames
        self.request = request
    }

    /// Waits for the reply (blocking facade; never call on an event loop).
    public func wait() throws(ClientError) -> Reply {
        let result: Result<[Message], any Error>
        do { result = .success(try frames.wait()) } catch { result = .failure(error) }
        return try Self.decode(result, request: request)
    }

    /// The reply, once it has arrived.
    public func get() async throws(ClientError) -> Reply {
        let result: Result<[Message], any Error>
        do { result = .success(try await frames.get()) } catch { result = .failure(error) }
        return try Self.decode(result, request: request)
    }

    /// The reply as a future (failing with a ``ClientError``).
    public var reply: EventLoopFuture<Reply> {
        let request = self.request
        let promise = frames.eventLoop.makePromise(of: Reply.self)
        frames.whenComplete { result in
            do throws(ClientError) {
                promise.succeed(try Self.decode(result, request: request))
            } catch {
                promise.fail(error)
            }
        }
        return promise.futureResult
    }

    private static func decode(_ result: Result<[Message], any Error>, request: String) throws(ClientError)
        -> Reply
    {
        switch result {
        case .success(let frames):
            do { return try Reply(frames: frames) } catch {
                throw .protocolViolation(detail: "\(request) got an unexpected answer: \(error)")
            }
        case .failure(let e as ClientError):
            if case .server(let code, let message, let r) = e, r.isEmpty {
                throw .server(code: code, message: message, request: request)
            }
            throw e
        case .failure(let e):
            throw .connectionClosed(detail: Connection.describe(e))
        }
    }
}

/// The frames of a response as they came, for ``Connection/call(_:)-(Message)``.
struct RawFrames: WireResponse {
    static var messageTypes: [MessageType] { [] }
    static var mayContinue: Bool { true }
    var frames: [Message]
}
