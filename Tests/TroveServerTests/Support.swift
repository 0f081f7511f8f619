import Logging
import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// A logger that drops everything.
let quietLogger = Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }

/// An example message of `type` (from the protocol's example set).
func example(_ type: MessageType) -> Message {
    Message.examples.first { $0.type == type }!
}

/// The frame of `message`.
func frame(_ message: Message, id: UInt32) -> Frame {
    Frame(message, requestID: id)
}

/// An embedded channel that is active (connected).
func activeChannel(_ handlers: [ChannelHandler]) throws -> EmbeddedChannel {
    let channel = EmbeddedChannel(handlers: handlers)
    try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
    return channel
}

/// Every frame written so far to `channel`, decoded.
func writtenFrames(_ channel: EmbeddedChannel) throws -> [Frame] {
    var out: [Frame] = []
    while var b = try channel.readOutbound(as: ByteBuffer.self) {
        while let f = try Frame.parse(&b, maxPayload: ProtocolLimits.absoluteMaxPayload) { out.append(f) }
        #expect(b.readableBytes == 0, "a written buffer held a partial frame")
    }
    return out
}

/// Records inbound user events and frames that reach the end of the pipeline.
final class Recorder: ChannelInboundHandler {
    typealias InboundIn = Frame
    var events: [Any] = []
    var frames: [Frame] = []

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) { events.append(event) }
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        frames.append(unwrapInboundIn(data))
    }
}

/// Counts `read()` calls passing towards the socket and user outbound events.
final class ReadCounter: ChannelOutboundHandler {
    typealias OutboundIn = NIOAny
    var reads = 0

    func read(context: ChannelHandlerContext) {
        reads += 1
        context.read()
    }
}

/// A worker pool stand-in the test steps by hand: jobs run only when the test finishes them,
/// in the order it chooses.
final class ManualRunner: BlockingWorkRunner {
    private struct Job {
        var run: @Sendable () -> Void
    }

    private let jobs = Mutex<[Job]>([])

    func run<T: Sendable>(on eventLoop: EventLoop, _ body: @escaping @Sendable () throws -> T)
        -> EventLoopFuture<T>
    {
        let promise = eventLoop.makePromise(of: T.self)
        jobs.withLock { $0.append(Job(run: { promise.completeWith(Result { try body() }) })) }
        return promise.futureResult
    }

    /// Jobs submitted and not yet finished.
    var waiting: Int { jobs.withLock { $0.count } }

    /// Runs the job at `index` (0: the oldest still waiting).
    func finish(_ index: Int = 0) {
        let job = jobs.withLock { $0.remove(at: index) }
        job.run()
    }
}

/// A request executor that answers every request with a PONG whose nonce is the request's
/// STAT-free marker: the number of requests executed before it. Streams for LOG.
final class StubExecutor: RequestExecutor {
    private let count = Mutex(0)
    let streamFrames: Int

    init(streamFrames: Int = 3) {
        self.streamFrames = streamFrames
    }

    var executed: Int { count.withLock { $0 } }

    func execute(_ message: Message, grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response {
        let n = count.withLock { c in
            c += 1
            return c
        }
        switch message.type {
        case .log: return .stream(CountingStream(frames: streamFrames))
        case .stat: throw ServerError(.notFound, "stub refusal")
        default: return .single(.pong(.init(nonce: UInt64(n))))
        }
    }
}

/// A stream of `frames` PONG messages.
final class CountingStream: ResponseStream {
    private let frames: Int
    private let sent = Mutex(0)

    init(frames: Int) {
        self.frames = frames
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        let n = sent.withLock { s in
            s += 1
            return s
        }
        return (.pong(.init(nonce: UInt64(n))), n >= frames)
    }
}
