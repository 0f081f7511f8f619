import Dispatch
import Logging
import NIOCore
import NIOPosix
import TroveCore
import TroveProtocol

/// The one call from a connection into request execution (the router); runs on a worker thread.
protocol RequestExecutor: Sendable {
    func execute(_ message: Message, grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response
}

extension RequestRouter: RequestExecutor {
    /// Runs the request, counted in the metrics by type and result, with its execution time.
    func execute(_ message: Message, grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response {
        let started = DispatchTime.now().uptimeNanoseconds
        ServerMetrics.inFlight.increment()
        defer { ServerMetrics.inFlight.decrement() }
        do {
            let response = try handle(message, grant: grant, codecs: codecs)
            ServerMetrics.request(
                message.type, result: "ok", nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
            return response
        } catch {
            ServerMetrics.request(
                message.type, result: error.code.name, nanoseconds: DispatchTime.now().uptimeNanoseconds - started)
            throw error
        }
    }
}

/// The one way the server runs blocking work: a ``NIOThreadPool`` (tests substitute a runner
/// they step by hand).
protocol BlockingWorkRunner: Sendable {
    func run<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T)
        -> EventLoopFuture<T>
}

extension NIOThreadPool: BlockingWorkRunner {
    func run<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T)
        -> EventLoopFuture<T>
    {
        runIfActive(eventLoop: eventLoop, body)
    }
}

/// Runs the requests of an authenticated connection on the worker pool and writes their
/// responses (PROTOCOL.md §4).
///
/// - Up to `concurrency` requests of the connection execute at once; responses are written
///   strictly in request order, the frames of one response contiguous.
/// - A request that changes state others depend on (``RequestOrder/isBarrier(_:)``) starts only
///   once every earlier request of the connection has completed, and no later one starts before it
///   has run.
/// - A multi-frame response builds one frame at a time on a worker, one frame ahead of the
///   socket: the next frame is built while the last one written drains, and is written (and the
///   one after it started) when the socket is writable again. So a connection holds at most the
///   frame in the socket's queue and one built ahead, and a pull's pack reads overlap its sends.
final class RequestDispatcher: ChannelInboundHandler {
    typealias InboundIn = Frame
    typealias OutboundOut = ByteBuffer

    private enum Work {
        case waiting(Frame)
        case running
        /// Encoded and ready to write (a single-frame response or an ERROR).
        case frame(ByteBuffer)
        case stream(ResponseStream)
        /// The head's stream, building its next frame, or holding the frame built `ahead` until
        /// the socket is writable.
        case streaming(ResponseStream, building: Bool, ahead: (bytes: ByteBuffer, last: Bool)?)
        case violation(String)
    }

    private struct Slot {
        var seq: UInt64
        var requestID: UInt32
        var type: MessageType
        var barrier: Bool
        var work: Work
    }

    private let connection: ConnectionState
    private let executor: RequestExecutor
    private let runner: BlockingWorkRunner
    private let concurrency: Int
    private let idleTimeoutMillis: UInt32
    private var session: SessionEstablished?
    private var slots = CircularBuffer<Slot>()
    private var nextSeq: UInt64 = 0
    private var running = 0
    private var draining = false
    private var context: ChannelHandlerContext?

    /// `idleTimeoutMillis` is only quoted in the ERROR sent when the ``IdleStateHandler`` before
    /// this handler reports the connection idle.
    init(
        connection: ConnectionState, executor: RequestExecutor, runner: BlockingWorkRunner, concurrency: Int,
        idleTimeoutMillis: UInt32
    ) {
        self.idleTimeoutMillis = idleTimeoutMillis
        self.connection = connection
        self.executor = executor
        self.runner = runner
        self.concurrency = max(1, concurrency)
    }

    /// Requests received and not yet answered completely.
    var pending: Int { slots.count }
    /// Requests executing on workers now.
    var executing: Int { running }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelInactive(context: ChannelHandlerContext) {
        for s in slots { if case .waiting(let f) = s.work { connection.release(f) } }
        slots.removeAll()
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !connection.closing else {
            connection.release(frame)
            return
        }
        nextSeq += 1
        var slot = Slot(
            seq: nextSeq, requestID: frame.requestID, type: frame.type,
            barrier: RequestOrder.isBarrier(frame.type),
            work: .waiting(frame))
        switch frame.type {
        case .ping:
            connection.release(frame)
            if let p = (try? frame.message())?.as(Message.Ping.self) {
                slot.work = .frame(encode(.pong(.init(nonce: p.nonce)), requestID: frame.requestID))
            } else {
                slot.work = .violation("PING payload does not decode")
            }
        case .hello, .auth:
            connection.release(frame)
            slot.work = .violation("\(frame.type) is only allowed once, at the start")
        default:
            break
        }
        slots.append(slot)
        advance()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        advance()
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let e as SessionEstablished:
            session = e
        case is DrainRequested:
            draining = true
            advance()
        case let e as IdleStateHandler.IdleStateEvent where e == .all:
            guard slots.isEmpty else { return }
            connection.logger.debug("idle timeout")
            connection.closeWithError(
                context: context, .timeout,
                "no request for \(idleTimeoutMillis / 1000) s; reconnect when needed")
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    // MARK: Scheduling

    /// Writes what is ready at the head, then starts what may start.
    private func advance() {
        guard let context, !connection.closing else { return }
        writeReady(context: context)
        guard !connection.closing else { return }
        if draining {
            if running == 0, !headIsStreaming,
                slots.first.map({ if case .waiting = $0.work { true } else { false } }) ?? true
            {
                connection.closeWithError(
                    context: context, .shuttingDown, "troved is shutting down; retry shortly")
            }
            return
        }
        startWaiting(context: context)
    }

    private var headIsStreaming: Bool {
        if case .streaming? = slots.first?.work { return true }
        return false
    }

    private func writeReady(context: ChannelHandlerContext) {
        while let head = slots.first {
            switch head.work {
            case .frame(let bytes):
                slots.removeFirst()
                context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
                context.triggerUserOutboundEvent(RequestFinished(), promise: nil)
            case .violation(let message):
                connection.logger.warning("protocol violation, closing", metadata: ["error": "\(message)"])
                connection.closeWithError(
                    context: context, .protocolViolation, message, requestID: head.requestID)
                return
            case .stream(let stream):
                slots[slots.startIndex].work = .streaming(stream, building: false, ahead: nil)
                if !continueStream(context: context) { return }
            case .streaming:
                if !continueStream(context: context) { return }
            case .waiting, .running:
                return
            }
        }
    }

    /// Starts requests in order while the concurrency limit and barriers allow.
    private func startWaiting(context: ChannelHandlerContext) {
        guard let session else { return }
        var index = slots.startIndex
        var first = true
        while index < slots.endIndex, running < concurrency {
            let slot = slots[index]
            switch slot.work {
            case .waiting(let frame):
                if slot.barrier && !first { return }
                start(frame, seq: slot.seq, at: index, session: session, context: context)
                if slot.barrier { return }
            case .running:
                if slot.barrier { return }
            default:
                break
            }
            first = false
            index = slots.index(after: index)
        }
    }

    private func start(
        _ frame: Frame, seq: UInt64, at index: CircularBuffer<Slot>.Index, session: SessionEstablished,
        context: ChannelHandlerContext
    ) {
        slots[index].work = .running
        running += 1
        let executor = self.executor
        let encoder = connection.encoder(context.channel.allocator)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        runner.run(on: context.eventLoop) { () -> Outcome in
            let message: Message
            do { message = try frame.message() } catch { return .violation("\(error)") }
            do {
                switch try executor.execute(message, grant: session.grant, codecs: session.codecs) {
                case .single(let m):
                    return .frame(encoder.encode(Envelope(m, requestID: frame.requestID)).bytes)
                case .stream(let s): return .stream(s)
                }
            } catch {
                return Self.failure(
                    error, requestID: frame.requestID, type: frame.type, logger: encoder.logger)
            }
        }.whenComplete { result in
            let handler = loopBound.value
            handler.running -= 1
            handler.connection.release(frame)
            let work: Work
            switch result {
            case .success(.frame(let bytes)): work = .frame(bytes)
            case .success(.stream(let s)): work = .stream(s)
            case .success(.violation(let why)): work = .violation(why)
            case .success(.streamFrame(let bytes, _)): work = .frame(bytes)
            case .failure(let error):
                work = .frame(
                    handler.encode(
                        ServerError(.shuttingDown, "troved is shutting down; retry shortly (\(error))").reply,
                        requestID: frame.requestID))
            }
            if let i = handler.slots.firstIndex(where: { $0.seq == seq }) { handler.slots[i].work = work }
            handler.advance()
        }
    }

    // MARK: Multi-frame responses

    /// Writes the head stream's frame built ahead when the socket can take it, and starts building
    /// the next one when none is held; true when that was the stream's last frame (the head is done).
    private func continueStream(context: ChannelHandlerContext) -> Bool {
        guard case .streaming(let stream, let building, let ahead)? = slots.first?.work else { return false }
        if let ahead {
            guard context.channel.isWritable else { return false }
            // The state first: the write may re-enter (writability changes) and must find the
            // frame gone.
            if ahead.last {
                slots.removeFirst()
                context.writeAndFlush(wrapOutboundOut(ahead.bytes), promise: nil)
                context.triggerUserOutboundEvent(RequestFinished(), promise: nil)
                return true
            }
            slots[slots.startIndex].work = .streaming(stream, building: true, ahead: nil)
            context.writeAndFlush(wrapOutboundOut(ahead.bytes), promise: nil)
            guard case .streaming(_, true, nil)? = slots.first?.work else { return false }
        } else if building {
            return false
        }
        slots[slots.startIndex].work = .streaming(stream, building: true, ahead: nil)
        let head = slots[slots.startIndex]
        let requestID = head.requestID
        let type = head.type
        let encoder = connection.encoder(context.channel.allocator)
        let loopBound = NIOLoopBound(self, eventLoop: context.eventLoop)
        runner.run(on: context.eventLoop) { () -> Outcome in
            do {
                let (bytes, last) = try stream.nextFrame(requestID: requestID, encoder: encoder)
                return .streamFrame(bytes, last: last)
            } catch {
                return Self.failure(error, requestID: requestID, type: type, logger: encoder.logger)
            }
        }.whenComplete { result in
            loopBound.value.streamed(result, requestID: requestID)
        }
        return false
    }

    private func streamed(_ result: Result<Outcome, Error>, requestID: UInt32) {
        guard let context, !connection.closing, case .streaming(let stream, _, _)? = slots.first?.work else {
            return
        }
        switch result {
        case .success(.streamFrame(let bytes, let last)):
            // Written by `advance` as soon as the socket is writable (now, usually).
            slots[slots.startIndex].work = .streaming(stream, building: false, ahead: (bytes, last))
        case .success(.frame(let bytes)):
            // An ERROR ends the response.
            context.writeAndFlush(wrapOutboundOut(bytes), promise: nil)
            slots.removeFirst()
            context.triggerUserOutboundEvent(RequestFinished(), promise: nil)
        case .success(.violation(let why)):
            slots[slots.startIndex].work = .violation(why)
        case .success(.stream):
            preconditionFailure("a stream frame is never a new stream")
        case .failure(let error):
            context.writeAndFlush(
                wrapOutboundOut(
                    encode(
                        ServerError(.shuttingDown, "troved is shutting down (\(error))").reply,
                        requestID: requestID)),
                promise: nil)
            slots.removeFirst()
            context.triggerUserOutboundEvent(RequestFinished(), promise: nil)
        }
        advance()
    }

    // MARK: Encoding

    /// What a worker hands back to the event loop.
    private enum Outcome {
        case frame(ByteBuffer)
        case stream(ResponseStream)
        case streamFrame(ByteBuffer, last: Bool)
        case violation(String)
    }

    private func encode(_ m: Message, requestID: UInt32) -> ByteBuffer {
        connection.encode(Envelope(m, requestID: requestID), allocator: context?.channel.allocator ?? .init())
    }

    /// The ERROR frame for a failed request (logged when it is the server's fault), or a
    /// protocol violation that closes the connection.
    private static func failure(_ error: Error, requestID: UInt32, type: MessageType, logger: Logger)
        -> Outcome
    {
        let e = (error as? ServerError) ?? ServerError(.internalError, "\(error)")
        if e.code == .internalError || e.code == .readOnly || e.code == .integrity {
            logger.error("request failed", metadata: ["request": "\(type)", "error": "\(e)"])
        } else if e.code == .noSpace {
            logger.warning("request failed: disk full", metadata: ["request": "\(type)", "error": "\(e)"])
        } else {
            logger.debug("request refused", metadata: ["error": "\(e)"])
        }
        if e.code == .protocolViolation { return .violation(e.message) }
        var out = ByteBuffer()
        Envelope(e.reply, requestID: requestID).write(into: &out)
        return .frame(out)
    }
}

/// Which requests must not overlap others of the same connection.
enum RequestOrder {
    /// Requests that only read, or add content that nothing of the same connection reads before a
    /// barrier: these may run concurrently with each other. Every other type is a barrier (the
    /// safe default for a type added later).
    static let concurrent: Set<MessageType> = [
        .ping, .has, .putChunks, .blobChunks, .getRef, .getObjects, .getChunks, .listVersions, .queryVersions, .log,
        .stat, .aliasList, .aliasHistory,
    ]

    /// Whether `type` waits for every earlier request of its connection and holds back later ones.
    static func isBarrier(_ type: MessageType) -> Bool { !concurrent.contains(type) }
}
