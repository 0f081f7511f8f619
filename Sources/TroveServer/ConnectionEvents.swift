import Logging
import NIOCore
import TroveCore
import TroveProtocol

/// Inbound event: the handshake succeeded (the ``HandshakeHandler`` has left the pipeline);
/// what the connection may do from now on.
struct SessionEstablished: Sendable {
    var grant: Grant
    /// Codecs the client accepts for chunk data.
    var codecs: Set<Codec>
}

/// Inbound event: graceful shutdown; finish what runs, start nothing new, then close.
struct DrainRequested: Sendable {}

/// Inbound event: memory the frame decoder waited for has been set aside (``ReceiveBudget``).
struct FrameMemoryGranted: Sendable {}

/// Outbound event, from a request handler to the ``BackpressureHandler``: the response to one
/// request frame has been written completely.
struct RequestFinished {}

/// What the handlers of one connection share: its logger, its frame codec state (frame cap,
/// memory account) and whether it is closing. Lives on the connection's event loop.
final class ConnectionState {
    var logger: Logger
    let codec: FrameCodecState
    /// Large frame buffers shared by the server's connections (nil: plain allocations).
    let buffers: ByteBufferPool?
    /// Set once an ERROR that ends the connection has been sent: nothing else is written.
    private(set) var closing = false

    init(logger: Logger, codec: FrameCodecState, buffers: ByteBufferPool? = nil) {
        self.logger = logger
        self.codec = codec
        self.buffers = buffers
    }

    /// The current frame payload cap, for frames sent as well as received.
    var maxPayload: Int { codec.maxPayload }

    /// Returns the memory of a consumed request frame to the connection's account.
    func release(_ frame: Frame) {
        codec.memory?.release(frameOf: frame.payload.readableBytes)
    }

    /// Sends an ERROR (request id 0 unless given) and closes the connection. Only the first call
    /// sends anything.
    func closeWithError(
        context: ChannelHandlerContext, _ code: ErrorCode, _ message: String, requestID: UInt32 = 0
    ) {
        guard !closing else { return }
        closing = true
        let reply = Message.error(.init(code: code, retryable: code.isRetryable, message: message))
        let frame = encode(Envelope(reply, requestID: requestID), allocator: context.channel.allocator)
        context.writeAndFlush(NIOAny(frame)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Encodes a frame to send (see ``OutboundFrames``).
    func encode(_ envelope: Envelope, allocator: ByteBufferAllocator) -> ByteBuffer {
        encoder(allocator).encode(envelope).bytes
    }

    /// An encoder for the connection's current cap, usable on any thread.
    func encoder(_ allocator: ByteBufferAllocator) -> OutboundFrames {
        OutboundFrames(maxPayload: maxPayload, logger: logger, allocator: allocator, buffers: buffers)
    }
}

/// Encodes the frames troved sends, checking that none exceeds the negotiated cap. A frame over
/// the cap is never sent: it becomes an `internal-error` ERROR for the same request, and the
/// failure is logged (it is a troved bug).
struct OutboundFrames: Sendable {
    var maxPayload: Int
    var logger: Logger
    var allocator = ByteBufferAllocator()
    /// Where streams that know a frame's size up front take its buffer (``ChunkFrames``).
    var buffers: ByteBufferPool?

    /// The encoded frame; `fits` is false when `envelope` was over `maxPayload` and an ERROR
    /// (internal-error, same request id, last frame) was encoded instead.
    func encode(_ envelope: Envelope) -> (bytes: ByteBuffer, fits: Bool) {
        var out = allocator.buffer(capacity: 256)
        do {
            try envelope.write(into: &out, maxPayload: maxPayload)
            return (out, true)
        } catch {
            logger.error(
                "refusing to send a frame over the negotiated cap (a troved bug; please report it)",
                metadata: [
                    "type": "\(envelope.message.type)", "request": "\(envelope.requestID)",
                    "error": "\(error)",
                ])
            let reply = Message.error(
                .init(
                    code: .internalError, retryable: false,
                    message: "troved built a \(envelope.message.type) frame over the negotiated cap "
                        + "(\(maxPayload) bytes) and did not send it; this is a troved bug, please report it")
            )
            out.clear()
            Envelope(reply, requestID: envelope.requestID).write(into: &out)
            return (out, false)
        }
    }
}
