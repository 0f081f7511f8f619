import NIOCore
import TroveProtocol

/// Reads from the socket only while the connection may take more: fewer than `maxInFlight`
/// requests outstanding (a request is outstanding until its response is written), fewer than
/// `maxQueuedBytes` of request payload held, and the frame decoder is not waiting for memory. The
/// channel does not auto-read; this handler issues every read. So a client that pipelines too much,
/// or a server that is slow, costs a bounded amount of memory (PROTOCOL.md §4).
final class BackpressureHandler: ChannelDuplexHandler {
    typealias InboundIn = Frame
    typealias InboundOut = Frame
    typealias OutboundIn = NIOAny
    typealias OutboundOut = NIOAny

    static let defaultMaxQueuedBytes = 16 << 20

    private let codec: FrameCodecState
    private let maxInFlight: Int
    private let maxQueuedBytes: Int
    private var outstanding: [Int] = []
    private var outstandingBytes = 0
    /// True when a read is requested and not yet answered by channelReadComplete.
    private var readPending = false
    private var draining = false

    init(
        codec: FrameCodecState, maxInFlight: Int,
        maxQueuedBytes: Int = BackpressureHandler.defaultMaxQueuedBytes
    ) {
        self.codec = codec
        self.maxInFlight = max(1, maxInFlight)
        self.maxQueuedBytes = maxQueuedBytes
    }

    /// Requests outstanding now (for tests and diagnostics).
    var inFlight: Int { outstanding.count }

    func channelActive(context: ChannelHandlerContext) {
        context.fireChannelActive()
        readIfAllowed(context: context)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive { readIfAllowed(context: context) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let n = unwrapInboundIn(data).payload.readableBytes
        outstanding.append(n)
        outstandingBytes += n
        context.fireChannelRead(data)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        readPending = false
        context.fireChannelReadComplete()
        readIfAllowed(context: context)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case is FrameMemoryGranted:
            // Let the decoder retry the frame it holds (charging it now succeeds), then read on.
            context.pipeline.syncOperations.fireChannelRead(
                NIOAny(context.channel.allocator.buffer(capacity: 0)))
            readIfAllowed(context: context)
        case is DrainRequested:
            draining = true
            context.fireUserInboundEventTriggered(event)
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    func triggerUserOutboundEvent(
        context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?
    ) {
        guard event is RequestFinished else {
            context.triggerUserOutboundEvent(event, promise: promise)
            return
        }
        if !outstanding.isEmpty { outstandingBytes -= outstanding.removeFirst() }
        promise?.succeed(())
        readIfAllowed(context: context)
    }

    private func readIfAllowed(context: ChannelHandlerContext) {
        guard !readPending, !draining, context.channel.isActive, !codec.awaitingMemory else { return }
        guard outstanding.count < maxInFlight, outstandingBytes < maxQueuedBytes else {
            // The server, not the client, holds up a partly received frame: while it does, the
            // frame must not count as stalled (a busy server would otherwise evict its clients).
            if codec.chargedFrame { codec.memory?.paused() }
            return
        }
        // Reading (again): a partly received frame's stall clock runs from now.
        if codec.chargedFrame { codec.memory?.progress() }
        readPending = true
        context.read()
    }
}
