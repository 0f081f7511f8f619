import NIOCore
import NIOSSL

/// The first handler of a connection to a TLS listener. It holds back what the pipeline writes
/// until the client's first byte arrives, then:
///
/// - a TLS record (a ClientHello starts with 0x16): it puts a `NIOSSLServerHandler` with the
///   certificate in use now (``ServerCertificates``) in its place, in front of the held writes and
///   the bytes read so far, and leaves;
/// - anything else (a client speaking plaintext): it drops the held writes, sends `plaintextReply`
///   (a message in the client's own protocol saying that TLS is required) and closes.
public final class TLSGate: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = ByteBuffer
    public typealias OutboundIn = NIOAny
    public typealias OutboundOut = NIOAny

    /// The first byte of a TLS handshake record.
    static let handshakeRecord: UInt8 = 0x16

    private let certificates: ServerCertificates
    private let plaintextReply: @Sendable (ByteBufferAllocator) -> ByteBuffer
    private var held: [(NIOAny, EventLoopPromise<Void>?)] = []
    private var flushHeld = false
    private var decided = false

    /// - Parameter plaintextReply: what a plaintext client is sent before the connection closes.
    public init(
        certificates: ServerCertificates, plaintextReply: @escaping @Sendable (ByteBufferAllocator) -> ByteBuffer
    ) {
        self.certificates = certificates
        self.plaintextReply = plaintextReply
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        if decided {
            context.write(data, promise: promise)
        } else {
            held.append((data, promise))
        }
    }

    public func flush(context: ChannelHandlerContext) {
        if decided { context.flush() } else { flushHeld = true }
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !decided else {
            context.fireChannelRead(data)
            return
        }
        let bytes = unwrapInboundIn(data)
        guard let first = bytes.getInteger(at: bytes.readerIndex, as: UInt8.self) else { return }
        decided = true
        if first == Self.handshakeRecord {
            startTLS(context: context, bytes: bytes)
        } else {
            refusePlaintext(context: context)
        }
    }

    public func channelInactive(context: ChannelHandlerContext) {
        failHeld()
        context.fireChannelInactive()
    }

    private func startTLS(context: ChannelHandlerContext, bytes: ByteBuffer) {
        let pipeline = context.pipeline
        do {
            try pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: certificates.context), position: .before(self))
        } catch {
            failHeld()
            context.close(promise: nil)
            return
        }
        // Writes made before the handshake go out encrypted once it completes (NIOSSL holds them).
        for (data, promise) in held { context.write(data, promise: promise) }
        held = []
        if flushHeld { context.flush() }
        pipeline.syncOperations.removeHandler(context: context, promise: nil)
        // The bytes read so far enter again at the head, so that the TLS handler reads them first.
        pipeline.syncOperations.fireChannelRead(NIOAny(bytes))
    }

    private func refusePlaintext(context: ChannelHandlerContext) {
        failHeld()
        context.writeAndFlush(NIOAny(plaintextReply(context.channel.allocator))).assumeIsolated().whenComplete {
            _ in
            context.close(promise: nil)
        }
    }

    /// The reply for a plain-HTTP client of an HTTPS listener: `400 Bad Request` saying so.
    @Sendable public static func httpsRequired(_ allocator: ByteBufferAllocator) -> ByteBuffer {
        let body = "This endpoint accepts HTTPS only (TLS 1.3): use an https:// endpoint URL.\n"
        return allocator.buffer(
            string: "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain\r\nContent-Length: \(body.utf8.count)\r\n"
                + "Connection: close\r\n\r\n" + body)
    }

    private func failHeld() {
        let writes = held
        held = []
        for (_, promise) in writes { promise?.fail(ChannelError.ioOnClosedChannel) }
    }
}
