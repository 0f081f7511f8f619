import NIOCore
import TroveProtocol

/// The client end of a connection's pipeline: requests go out as ``Outgoing`` values, and
/// response frames are matched to them (in order, by request id) on the event loop. A request's
/// future completes with all frames of its response once the frame without `MORE` arrives; an
/// `ERROR` frame, a broken connection or a protocol violation fails it (and every later one).
///
/// It also encodes the requests into frames (the pipeline has no `FrameEncoder`): a request whose
/// chunk data can stay where it is (``ScatteredFrame``: `BLOB_CHUNKS`) goes out as pieces, its
/// data not copied; any other into one buffer, as NIO's `MessageToByteHandler` did.
final class ResponseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = Frame
    typealias OutboundIn = Outgoing
    typealias OutboundOut = ByteBuffer

    /// A request on its way out: the frame to send, the promise its response completes and the
    /// transform to run on each response message.
    struct Outgoing: Sendable {
        var envelope: Envelope
        var promise: EventLoopPromise<[Message]>
        var transform: ResponseTransform?
        /// The CRC-32C of each chunk's data in the message, where the sender knows it (``ScatteredFrame``).
        var dataChecksums: [UInt32?] = []
    }

    /// Outbound user event: authentication is done, accept frames up to `maxPayload`.
    struct RaiseFrameCap: Sendable {
        var maxPayload: Int
    }

    private struct Outstanding {
        var id: UInt32
        var promise: EventLoopPromise<[Message]>
        var messages: [Message]
        var transform: ResponseTransform?
    }

    private let codecState: FrameCodecState
    private var queue = CircularBuffer<Outstanding>()
    private var failure: ClientError?
    /// The buffer whole frames are encoded into (cleared for each: it keeps its storage once the
    /// socket has let go of the previous frame).
    private var frameBuffer: ByteBuffer?

    /// The protocol version the preambles negotiated (nil before the server's preamble arrived).
    var negotiatedVersion: UInt8? { codecState.negotiatedVersion }

    init(codecState: FrameCodecState) {
        self.codecState = codecState
    }

    /// Sends `message` with request id `id` on `channel`; the future completes with its response.
    static func submit(
        _ message: Message, id: UInt32, transform: ResponseTransform?, dataChecksums: [UInt32?] = [],
        on channel: any Channel
    ) -> EventLoopFuture<[Message]> {
        let promise = channel.eventLoop.makePromise(of: [Message].self)
        let outgoing = Outgoing(
            envelope: Envelope(message, requestID: id), promise: promise, transform: transform,
            dataChecksums: dataChecksums)
        channel.writeAndFlush(outgoing).whenFailure { error in
            // Not written (the channel is closed): the handler never saw the request.
            promise.fail(ClientError.connectionClosed(detail: Connection.describe(error)))
        }
        return promise.futureResult
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let outgoing = unwrapOutboundIn(data)
        if let failure {
            outgoing.promise.fail(failure)
            promise?.succeed()
            return
        }
        queue.append(
            Outstanding(
                id: outgoing.envelope.requestID, promise: outgoing.promise, messages: [],
                transform: outgoing.transform))
        write(outgoing.envelope, dataChecksums: outgoing.dataChecksums, context: context, promise: promise)
    }

    /// Encodes `envelope` into a frame and writes it: in pieces when its data can stay in place.
    private func write(
        _ envelope: Envelope, dataChecksums: [UInt32?], context: ChannelHandlerContext, promise: EventLoopPromise<Void>?
    ) {
        if Connection.scatterFrames.load(ordering: .relaxed),
            let frame = ScatteredFrame(envelope, dataChecksums: dataChecksums, allocator: context.channel.allocator)
        {
            for piece in frame.pieces.dropLast() { context.write(wrapOutboundOut(piece), promise: nil) }
            context.write(wrapOutboundOut(frame.pieces.last!), promise: promise)
            return
        }
        var buffer = frameBuffer ?? context.channel.allocator.buffer(capacity: 256)
        frameBuffer = nil
        buffer.clear()
        envelope.write(into: &buffer)
        frameBuffer = buffer
        context.write(wrapOutboundOut(buffer), promise: promise)
    }

    func triggerUserOutboundEvent(
        context: ChannelHandlerContext, event: Any, promise: EventLoopPromise<Void>?
    ) {
        if let raise = event as? RaiseFrameCap {
            codecState.maxPayload = raise.maxPayload
            promise?.succeed()
        } else {
            context.triggerUserOutboundEvent(event, promise: promise)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.requestID == 0 {
            if let e = (try? frame.message())?.as(Message.ErrorReply.self) {
                fail(.server(code: e.code, message: e.message, request: ""), context: context)
            } else {
                fail(
                    .protocolViolation(
                        detail:
                            "the server sent a connection-level frame of type \(frame.type) it could not decode"
                    ),
                    context: context)
            }
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
        if let e = message.as(Message.ErrorReply.self) {
            queue.removeFirst()
            head.promise.fail(ClientError.server(code: e.code, message: e.message, request: ""))
            return
        }
        if let transform = head.transform {
            do throws(ClientError) {
                message = try transform(message)
            } catch {
                fail(error, context: context)
                return
            }
        }
        if frame.flags.contains(.more) {
            queue[queue.startIndex].messages.append(message)
            return
        }
        queue.removeFirst()
        head.messages.append(message)
        head.promise.succeed(head.messages)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if let e = error as? ClientError {
            fail(e, context: context)
        } else if let p = error as? ProtocolError {
            fail(.protocolViolation(detail: p.description), context: context)
        } else {
            fail(.connectionClosed(detail: Connection.describe(error)), context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        fail(.connectionClosed(detail: "troved closed the connection"), context: nil)
        context.fireChannelInactive()
    }

    /// Fails everything outstanding (and everything sent later) with `error` and closes.
    private func fail(_ error: ClientError, context: ChannelHandlerContext?) {
        if failure == nil { failure = error }
        while let o = queue.popFirst() { o.promise.fail(failure!) }
        context?.close(promise: nil)
    }
}
