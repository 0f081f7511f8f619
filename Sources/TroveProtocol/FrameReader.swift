import NIOCore
import TroveCore

/// Turns the peer's byte stream (preamble, then frames) into ``Frame``s, copying each byte at most
/// once: the fast path of ``FrameDecoder``, which it must equal on every split of the stream
/// (`FrameReaderTests`, fuzz target 13).
///
/// A frame that lies whole in one incoming buffer is sliced out of it (no copy). A frame that
/// spans buffers is copied, as its pieces arrive, into a buffer of at least its encoded size taken
/// when its header has arrived (after the header's checks and the memory charge): nothing grows,
/// nothing is moved twice; its checksum is taken in the same pass as the copy
/// (``CRC32C/copy(_:from:to:)``), not by reading the frame again. With a ``ByteBufferPool`` that
/// buffer is one a finished frame used before, once nothing references that frame any more (no
/// fresh pages to fault in). (NIO's `ByteToMessageHandler` accumulates into one buffer that a decoded frame's payload still
/// references, so every later append, growth or `discardReadBytes` copies the unread bytes into
/// fresh storage, and page faults follow.)
///
/// Errors (all ``ProtocolError``) are final, as with ``FrameDecoder``.
public struct FrameAssembler {
    /// Shared with the session handler (frame cap, negotiated version, memory account).
    public let state: FrameCodecState
    private let allocator: ByteBufferAllocator
    /// Where frame buffers come from and go back to (nil: allocated each time).
    private let buffers: ByteBufferPool?
    private var awaitingPreamble: Bool
    /// Preamble or frame-header bytes gathered across buffers (at most 10).
    private var head = ByteBuffer()
    /// The frame being assembled (its capacity is its encoded size) and that size.
    private var body: ByteBuffer?
    private var bodySize = 0
    /// The CRC-32C of the frame's bytes copied into `body` so far, up to its checksum.
    private var bodyCRC: UInt32 = 0
    /// Input not yet consumed because the memory account had no room for the next frame.
    private var held: [ByteBuffer] = []

    /// An assembler that first expects the peer's preamble when `expectPreamble` is true.
    public init(
        state: FrameCodecState, expectPreamble: Bool = true, allocator: ByteBufferAllocator = .init(),
        buffers: ByteBufferPool? = nil
    ) {
        self.state = state
        self.awaitingPreamble = expectPreamble
        self.allocator = allocator
        self.buffers = buffers
    }

    /// Consumes `input` (an empty buffer retries a frame that waited for memory), passing each
    /// complete frame to `emit` in order. Returns with input held while ``FrameCodecState/awaitingMemory``.
    public mutating func feed(_ input: ByteBuffer, emit: (Frame) -> Void) throws(ProtocolError) {
        if input.readableBytes > 0 { held.append(input) }
        if held.isEmpty {
            var none = ByteBuffer()
            _ = try consume(&none, emit)
            return
        }
        while !held.isEmpty {
            var src = held.removeFirst()
            guard try consume(&src, emit) else {
                if src.readableBytes > 0 { held.insert(src, at: 0) }
                return
            }
        }
    }

    /// Consumes all of `src`; false (with `src` left at the frame that waits) when the memory
    /// account refused the next frame.
    private mutating func consume(_ src: inout ByteBuffer, _ emit: (Frame) -> Void) throws(ProtocolError) -> Bool {
        if awaitingPreamble {
            take(from: &src, upTo: Preamble.size)
            guard try state.readPreamble(&head) else { return true }
            awaitingPreamble = false
        }
        while true {
            if var b = body {
                body = nil  // uniquely referenced while bytes are appended
                let n = min(bodySize - b.readableBytes, src.readableBytes)
                if n > 0 { Self.append(n, from: &src, to: &b, crc: &bodyCRC, size: bodySize) }
                guard b.readableBytes == bodySize else {
                    body = b
                    if state.chargedFrame { state.memory?.progress() }
                    return true
                }
                try finish(&b, emit, computed: bodyCRC)
                buffers?.recycle(b)  // reused once the frame's consumers let go of it
                continue
            }
            if head.readableBytes == 0, src.readableBytes >= Frame.headerSize {
                // The header is in `src`: check it in place.
                let size = try Frame.announcedSize(src, maxPayload: state.maxPayload)!
                guard state.chargeFrame(size) else { return false }
                if src.readableBytes >= size {
                    try finish(&src, emit)
                } else {
                    start(size)
                }
                continue
            }
            guard src.readableBytes > 0 || head.readableBytes > 0 else { return true }
            take(from: &src, upTo: Frame.headerSize)
            guard let size = try Frame.announcedSize(head, maxPayload: state.maxPayload) else { return true }
            guard state.chargeFrame(size) else { return false }
            start(size)
        }
    }

    /// Allocates the buffer of a frame of `size` encoded bytes (its header checked) and moves the
    /// gathered header bytes into it.
    private mutating func start(_ size: Int) {
        var b = buffers?.take(capacity: size) ?? allocator.buffer(capacity: size)
        bodySize = size
        bodyCRC = 0
        if head.readableBytes > 0 { Self.append(head.readableBytes, from: &head, to: &b, crc: &bodyCRC, size: size) }
        head.clear()
        body = b
    }

    /// Moves `n` bytes from `src` to the buffer `b` of a frame of `size` encoded bytes (its
    /// capacity holds them), extending `crc` with those before the frame's checksum in the same
    /// pass.
    private static func append(
        _ n: Int, from src: inout ByteBuffer, to b: inout ByteBuffer, crc: inout UInt32, size: Int
    ) {
        var running = crc
        let covered = max(0, min(n, size - Frame.trailerSize - b.readableBytes))
        b.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { out in
            src.withUnsafeReadableBytes { s in
                running = CRC32C.copy(running, from: UnsafeRawBufferPointer(rebasing: s[0..<covered]), to: out)
                UnsafeMutableRawBufferPointer(rebasing: out[covered..<n]).copyMemory(
                    from: UnsafeRawBufferPointer(rebasing: s[covered..<n]))
            }
            return n
        }
        src.moveReaderIndex(forwardBy: n)
        crc = running
    }

    /// Parses the complete frame at the front of `buffer` (checksum and all; `computed`: the
    /// checksum taken while it was copied) and passes it on.
    private func finish(
        _ buffer: inout ByteBuffer, _ emit: (Frame) -> Void, computed: UInt32? = nil
    ) throws(ProtocolError) {
        let frame = try Frame.parse(
            &buffer, maxPayload: state.maxPayload, computed: computed)!
        state.frameCompleted()
        try state.checkVersion(of: frame)
        emit(frame)
    }

    /// Moves bytes from `src` into `head` until it holds `count`.
    private mutating func take(from src: inout ByteBuffer, upTo count: Int) {
        let n = min(count - head.readableBytes, src.readableBytes)
        if n > 0, var piece = src.readSlice(length: n) { head.writeBuffer(&piece) }
    }
}

/// The channel handler around ``FrameAssembler``: reads `ByteBuffer`s, emits ``Frame``s. A
/// decoding error is passed on as `errorCaught` (the connection should be closed) and everything
/// after it is dropped. Returns the connection's frame memory when removed.
public final class FrameReader: ChannelInboundHandler, RemovableChannelHandler {
    public typealias InboundIn = ByteBuffer
    public typealias InboundOut = Frame

    private var assembler: FrameAssembler
    private var failed = false
    private var feeding = false
    /// Buffers that arrived while a frame this handler emitted was being handled (re-entrantly).
    private var reentrant: [ByteBuffer] = []

    /// A reader that first expects the peer's preamble when `expectPreamble` is true, taking the
    /// buffers of frames that span socket reads from `buffers` when given.
    public init(state: FrameCodecState, expectPreamble: Bool = true, buffers: ByteBufferPool? = nil) {
        self.assembler = FrameAssembler(state: state, expectPreamble: expectPreamble, buffers: buffers)
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let buffer = unwrapInboundIn(data)
        guard !feeding else {
            reentrant.append(buffer)
            return
        }
        feeding = true
        defer { feeding = false }
        var next: ByteBuffer? = buffer
        while let input = next {
            do {
                try assembler.feed(input) { frame in context.fireChannelRead(Self.wrapInboundOut(frame)) }
            } catch {
                failed = true
                reentrant.removeAll()
                context.fireErrorCaught(error)
                return
            }
            next = reentrant.isEmpty ? nil : reentrant.removeFirst()
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        assembler.state.memory?.close()
    }
}
