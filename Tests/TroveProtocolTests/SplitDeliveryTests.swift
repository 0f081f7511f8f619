import NIOCore
import NIOEmbedded
import Testing
import TroveCore
import TroveProtocol

@Suite("Frames arriving in pieces")
struct SplitDeliveryTests {
    /// A peer's stream: preamble, then a few frames of different sizes.
    static let messages: [Message] = [
        .hello(.init(client: "t", codecs: [.zstd])),
        .ping(.init(nonce: 1)),
        .stat(.init()),
        .getRef(.init(ref: "models/churn:prod")),
    ]

    static var stream: ByteBuffer {
        var b = Preamble.current.encoded
        for (i, m) in messages.enumerated() { Envelope(m, requestID: UInt32(i + 1)).write(into: &b) }
        return b
    }

    @Test("splitting the stream in two at every position yields the same frames")
    func everySplit() throws {
        let whole = Array(SplitDeliveryTests.stream.readableBytesView)
        for cut in 0...whole.count {
            var decoder = FrameDecoder(state: FrameCodecState())
            var buffer = ByteBuffer(bytes: whole[0..<cut])
            var frames = try drain(&decoder, &buffer)
            buffer.writeBytes(whole[cut...])
            frames += try drain(&decoder, &buffer)
            #expect(buffer.readableBytes == 0)
            #expect(try frames.map { try $0.message() } == SplitDeliveryTests.messages, "cut at \(cut)")
            #expect(frames.map(\.requestID) == [1, 2, 3, 4])
        }
    }

    @Test("one byte at a time through a NIO pipeline yields the same frames")
    func byteByByteThroughChannel() throws {
        let channel = EmbeddedChannel()
        let state = FrameCodecState()
        try channel.pipeline.syncOperations.addTroveFrameCodec(state: state)
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7420)).wait()
        // The preamble writer sent our preamble when the channel became active.
        let sent = try #require(try channel.readOutbound(as: ByteBuffer.self))
        #expect(sent == Preamble.current.encoded)

        for byte in SplitDeliveryTests.stream.readableBytesView {
            try channel.writeInbound(ByteBuffer(bytes: [byte]))
        }
        var got: [Message] = []
        while let f = try channel.readInbound(as: Frame.self) { got.append(try f.message()) }
        #expect(got == SplitDeliveryTests.messages)
        #expect(state.negotiatedVersion == Preamble.current.versions.upperBound)

        // Outbound envelopes become frames a decoder reads back.
        try channel.writeOutbound(Envelope(.pong(.init(nonce: 5)), requestID: 2))
        var out = try #require(try channel.readOutbound(as: ByteBuffer.self))
        let frame = try #require(try Frame.parse(&out, maxPayload: 4096))
        #expect(frame.requestID == 2)
        #expect(try frame.message() == .pong(.init(nonce: 5)))
        _ = try channel.finish()
    }

    @Test("a hostile frame through the pipeline surfaces as a ProtocolError")
    func hostileThroughChannel() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addTroveFrameCodec(state: FrameCodecState())
        var b = Preamble.current.encoded
        b.writeInteger(UInt32(1 << 30))  // 1 GiB payload announced before authentication
        b.writeBytes([0x01, 0, 0, 0, 0, 1])
        #expect(throws: ProtocolError.frameTooLarge(length: 1 << 30, limit: 4096)) {
            try channel.writeInbound(b)
        }
        _ = try? channel.finish()
    }
}
