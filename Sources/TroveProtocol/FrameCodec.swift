import NIOCore

/// Frame-size cap and negotiated version of one connection, shared between its ``FrameDecoder``
/// and the session handler that raises the cap after authentication.
///
/// Not thread-safe: touch it only on the connection's event loop.
public final class FrameCodecState {
    /// The largest payload the decoder accepts right now.
    public var maxPayload: Int
    /// The version both sides speak, once the peer's preamble has been read.
    public internal(set) var negotiatedVersion: UInt8?
    /// The versions this side speaks (sent in its preamble).
    public let local: Preamble
    /// Accounts the memory of frames being received (a server sets it; nil: no accounting).
    public let memory: FrameMemoryAccount?
    /// True while the decoder waits for ``memory`` to grant room for the frame whose header it
    /// has read: the reader should not read more until the account signals the grant.
    public internal(set) var awaitingMemory = false
    /// Whether the frame now being received has been charged to ``memory`` (it is partly received).
    public internal(set) var chargedFrame = false

    /// A state starting with `maxPayload` (normally ``ProtocolLimits/preAuthMaxPayload``).
    public init(
        maxPayload: Int = ProtocolLimits.preAuthMaxPayload, local: Preamble = .current,
        memory: FrameMemoryAccount? = nil
    ) {
        self.maxPayload = maxPayload
        self.local = local
        self.memory = memory
    }
}

extension FrameCodecState {
    /// Reads the peer's preamble from the front of `buffer` and negotiates the version, once all 8
    /// bytes are there (true); false, consuming nothing, while fewer are. A wrong magic is refused
    /// as soon as the bytes that are there disagree with it.
    func readPreamble(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Bool {
        guard buffer.readableBytes >= Preamble.size else {
            let n = min(buffer.readableBytes, Preamble.magic.count)
            if let got = buffer.getBytes(at: buffer.readerIndex, length: n), got != Array(Preamble.magic[0..<n]) {
                throw .badPreamble(detail: "first bytes \(got) are not TROVE")
            }
            return false
        }
        let peer = try Preamble.decode(buffer)
        negotiatedVersion = try local.negotiate(with: peer)
        buffer.moveReaderIndex(forwardBy: Preamble.size)
        return true
    }

    /// Charges the frame of `size` bytes whose header has arrived to ``memory`` (once per frame);
    /// false when the account has no room now (``awaitingMemory`` is then set).
    func chargeFrame(_ size: Int) -> Bool {
        guard let memory, !chargedFrame else { return true }
        guard memory.charge(size) else {
            awaitingMemory = true
            return false
        }
        awaitingMemory = false
        chargedFrame = true
        return true
    }

    /// The frame being received is complete and passed on.
    func frameCompleted() {
        guard chargedFrame else { return }
        chargedFrame = false
        memory?.completed()
    }

    /// A type of a later protocol version than the connection's is as unknown as an undefined one.
    func checkVersion(of frame: Frame) throws(ProtocolError) {
        if let version = negotiatedVersion, frame.type.sinceVersion > version {
            throw .unknownMessageType(frame.type.rawValue)
        }
    }
}

/// Memory accounting for frames a connection receives. The decoder charges each frame's encoded
/// size as soon as its header has arrived, before the payload is buffered; whoever consumes a
/// decoded frame releases it (``release(frameOf:)``).
///
/// Called on the connection's event loop only.
public protocol FrameMemoryAccount: AnyObject {
    /// Asks for `bytes` (header, payload, checksum) for the frame now arriving. False: no room
    /// now; the decoder waits, buffering nothing more, until the account signals a grant to the
    /// connection, after which the same call succeeds.
    func charge(_ bytes: Int) -> Bool
    /// More bytes of the charged frame arrived (it is not complete yet).
    func progress()
    /// The charged frame is complete and was passed on.
    func completed()
    /// The reader stopped reading while the charged frame is partly received (its own
    /// backpressure, not the peer's silence): the frame must not count as stalled until reading
    /// resumes, which the reader signals with ``progress()``.
    func paused()
    /// Returns the memory of a decoded frame whose payload is no longer needed.
    func release(frameOf payloadLength: Int)
    /// The connection is gone: returns everything still charged; later calls do nothing.
    func close()
}

/// Decodes the peer's preamble, then frames, from a byte stream: the reference (slow path) decoder,
/// one buffer accumulating everything. Connections use ``FrameReader`` (``FrameAssembler``), which
/// copies less and must yield the same frames and errors on every split of a stream.
///
/// Errors (all ``ProtocolError``) are final: the handler should close the connection.
public struct FrameDecoder: ByteToMessageDecoder {
    public typealias InboundOut = Frame

    /// Shared with the session handler (frame cap, negotiated version).
    public let state: FrameCodecState
    private var awaitingPreamble: Bool

    /// A decoder that first expects the peer's preamble when `expectPreamble` is true.
    public init(state: FrameCodecState, expectPreamble: Bool = true) {
        self.state = state
        self.awaitingPreamble = expectPreamble
    }

    /// Decodes as much as `buffer` holds; returns the next frame, or nil when more bytes are needed.
    public mutating func next(_ buffer: inout ByteBuffer) throws(ProtocolError) -> Frame? {
        if awaitingPreamble {
            guard try state.readPreamble(&buffer) else { return nil }
            awaitingPreamble = false
        }
        if state.memory != nil, !state.chargedFrame {
            guard let size = try Frame.announcedSize(buffer, maxPayload: state.maxPayload) else { return nil }
            guard state.chargeFrame(size) else { return nil }
        }
        guard
            let frame = try Frame.parse(&buffer, maxPayload: state.maxPayload)
        else {
            if state.chargedFrame { state.memory?.progress() }
            return nil
        }
        state.frameCompleted()
        try state.checkVersion(of: frame)
        return frame
    }

    public mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws
        -> DecodingState
    {
        guard let frame = try next(&buffer) else { return .needMoreData }
        context.fireChannelRead(wrapInboundOut(frame))
        return .continue
    }

    public mutating func decodeLast(context: ChannelHandlerContext, buffer: inout ByteBuffer, seenEOF: Bool)
        throws -> DecodingState
    {
        try decode(context: context, buffer: &buffer)
    }

    /// Returns the connection's frame memory when the decoder (and its buffer) goes away.
    public mutating func decoderRemoved(context: ChannelHandlerContext) {
        state.memory?.close()
    }
}

/// Encodes ``Envelope``s (a message, its request id and flags) into frames.
public struct FrameEncoder: MessageToByteEncoder {
    public typealias OutboundIn = Envelope

    public init() {}

    public func encode(data: Envelope, out: inout ByteBuffer) throws {
        data.write(into: &out)
    }
}

/// Writes this side's preamble once the channel is active, then removes itself. Put it first in
/// the pipeline so the preamble goes straight to the socket.
public final class PreambleWriter: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = NIOAny

    private let preamble: Preamble
    private var written = false

    public init(_ preamble: Preamble = .current) {
        self.preamble = preamble
    }

    public func handlerAdded(context: ChannelHandlerContext) {
        if context.channel.isActive {
            writePreamble(context: context)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        }
    }

    public func channelActive(context: ChannelHandlerContext) {
        writePreamble(context: context)
        // Forward the event before leaving the pipeline: a removed context forwards nothing.
        context.fireChannelActive()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func writePreamble(context: ChannelHandlerContext) {
        guard !written else { return }
        written = true
        var buffer = context.channel.allocator.buffer(capacity: Preamble.size)
        preamble.write(into: &buffer)
        context.writeAndFlush(NIOAny(buffer), promise: nil)
    }
}

extension ChannelPipeline.SynchronousOperations {
    /// Adds the Trove frame codec: ``PreambleWriter``, ``FrameReader`` (emits ``Frame``) and
    /// ``FrameEncoder`` (accepts ``Envelope``). Handlers added after these read `Frame`s and
    /// write `Envelope`s. Received frames that span socket reads go into buffers from `buffers`
    /// when given.
    public func addTroveFrameCodec(state: FrameCodecState, buffers: ByteBufferPool? = nil) throws {
        try addHandler(PreambleWriter(state.local))
        try addHandler(FrameReader(state: state, buffers: buffers))
        try addHandler(MessageToByteHandler(FrameEncoder()))
    }
}
