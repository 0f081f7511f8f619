import NIOCore
import NIOEmbedded
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// The dispatcher runs up to N requests at once, writes responses in request order, and holds
/// barriers (COMMIT, ALIAS_SET, ...) until every earlier request has completed.
@Suite("RequestDispatcher")
struct RequestDispatcherTests {
    struct Rig {
        let channel: EmbeddedChannel
        let runner = ManualRunner()
        let executor: StubExecutor
        let dispatcher: RequestDispatcher
        let connection: ConnectionState

        init(concurrency: Int = 4, streamFrames: Int = 3) throws {
            executor = StubExecutor(streamFrames: streamFrames)
            connection = ConnectionState(
                logger: quietLogger, codec: FrameCodecState(maxPayload: ProtocolLimits.defaultMaxPayload))
            dispatcher = RequestDispatcher(
                connection: connection, executor: executor, runner: runner, concurrency: concurrency,
                idleTimeoutMillis: 300_000)
            channel = try activeChannel([dispatcher])
            channel.pipeline.syncOperations.fireUserInboundEventTriggered(
                SessionEstablished(grant: .open, codecs: [.raw]))
        }

        func send(_ type: MessageType, id: UInt32) throws {
            try channel.writeInbound(frame(example(type), id: id))
        }

        /// Finishes the job at `index` and lets the event loop deliver its result.
        func finish(_ index: Int = 0) {
            runner.finish(index)
            channel.embeddedEventLoop.run()
        }

        func responseIDs() throws -> [UInt32] { try writtenFrames(channel).map(\.requestID) }
    }

    @Test("up to N requests run at once; responses come out in request order")
    func concurrentInOrder() throws {
        let rig = try Rig(concurrency: 4)
        for id in UInt32(1)...6 { try rig.send(.has, id: id) }
        #expect(rig.runner.waiting == 4)
        #expect(rig.dispatcher.executing == 4)
        // The third and second finish first: nothing may be written before the first.
        rig.finish(2)
        rig.finish(1)
        #expect(try rig.responseIDs() == [])
        // Finishing one frees a slot: the fifth request starts.
        #expect(rig.runner.waiting == 4)
        rig.finish(0)
        #expect(try rig.responseIDs() == [1, 2, 3])
        while rig.runner.waiting > 0 { rig.finish(rig.runner.waiting - 1) }
        #expect(try rig.responseIDs() == [4, 5, 6])
        #expect(rig.dispatcher.pending == 0)
    }

    @Test("a barrier waits for every earlier request and holds back later ones")
    func barrier() throws {
        let rig = try Rig(concurrency: 4)
        try rig.send(.has, id: 1)
        try rig.send(.putChunks, id: 2)
        try rig.send(.commit, id: 3)
        try rig.send(.has, id: 4)
        #expect(rig.runner.waiting == 2, "COMMIT and what follows wait for HAS and PUT_CHUNKS")
        rig.finish(1)
        #expect(rig.runner.waiting == 1)
        rig.finish(0)
        #expect(try rig.responseIDs() == [1, 2])
        #expect(rig.runner.waiting == 1, "COMMIT runs alone")
        #expect(rig.executor.executed == 2)
        rig.finish(0)
        #expect(try rig.responseIDs() == [3])
        #expect(rig.runner.waiting == 1)
        rig.finish(0)
        #expect(try rig.responseIDs() == [4])
    }

    @Test("every order-sensitive request type is a barrier")
    func barrierTypes() {
        for t: MessageType in [
            .commit, .createVersion, .endPush, .aliasSet, .aliasRemove, .retire, .gc, .scrub, .putObjects,
            .beginPush,
        ] {
            #expect(RequestOrder.isBarrier(t), "\(t)")
        }
        for t: MessageType in [.has, .putChunks, .getChunks, .getObjects, .stat, .ping] {
            #expect(!RequestOrder.isBarrier(t), "\(t)")
        }
    }

    @Test("a multi-frame response is built one frame ahead of the socket and written only while it is writable")
    func streamingWaitsForWritability() throws {
        let rig = try Rig(concurrency: 2, streamFrames: 3)
        try rig.send(.log, id: 1)
        try rig.send(.has, id: 2)
        rig.finish(1)  // HAS done first; waits behind LOG
        rig.finish(0)  // LOG returns its stream; its first frame is built
        #expect(rig.runner.waiting == 1)
        rig.finish(0)
        let first = try writtenFrames(rig.channel)
        #expect(first.map(\.requestID) == [1])
        #expect(first.map(\.flags) == [.more])
        #expect(rig.runner.waiting == 1, "the next frame is built while the first one drains")
        rig.channel.isWritable = false
        rig.finish(0)
        #expect(try writtenFrames(rig.channel).isEmpty, "a frame built ahead waits for the socket")
        #expect(rig.runner.waiting == 0, "no more than one frame is built ahead")
        rig.channel.isWritable = true
        rig.channel.pipeline.fireChannelWritabilityChanged()
        #expect(rig.runner.waiting == 1, "the frame held is written and the next one built")
        rig.finish(0)
        let rest = try writtenFrames(rig.channel)
        #expect(rest.map(\.requestID) == [1, 1, 2])
        #expect(rest.map(\.flags) == [.more, [], []])
    }

    @Test("PING is answered in order; errors are answered as ERROR; a repeated HELLO closes")
    func pingErrorsAndViolations() throws {
        let rig = try Rig()
        try rig.send(.stat, id: 1)
        try rig.channel.writeInbound(frame(.ping(.init(nonce: 9)), id: 2))
        #expect(try rig.responseIDs() == [], "PONG waits for the STAT before it")
        rig.finish()
        let out = try writtenFrames(rig.channel)
        #expect(out.map(\.requestID) == [1, 2])
        guard let e = (try out[0].message()).as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR")
            return
        }
        #expect(e.code == .notFound)
        #expect(try out[1].message() == .pong(.init(nonce: 9)))

        try rig.send(.hello, id: 3)
        let violation = try writtenFrames(rig.channel)
        #expect(violation.count == 1)
        guard let v = (try violation.first?.message())?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR")
            return
        }
        #expect(v.code == .protocolViolation)
        #expect(!rig.channel.isActive)
    }

    @Test("drain: running requests finish and are answered, then shutting-down closes")
    func drain() throws {
        let rig = try Rig(concurrency: 1)
        try rig.send(.has, id: 1)
        try rig.send(.has, id: 2)
        rig.channel.pipeline.syncOperations.fireUserInboundEventTriggered(DrainRequested())
        #expect(rig.channel.isActive)
        rig.finish()
        let out = try writtenFrames(rig.channel)
        #expect(out.map(\.requestID) == [1, 0])
        guard let e = (try out.last?.message())?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR")
            return
        }
        #expect(e.code == .shuttingDown)
        #expect(rig.runner.waiting == 0, "the request not started is not run")
        #expect(!rig.channel.isActive)
    }

    @Test("idle: an idle event closes a connection with nothing outstanding, not a busy one")
    func idle() throws {
        let rig = try Rig()
        try rig.send(.has, id: 1)
        rig.channel.pipeline.syncOperations.fireUserInboundEventTriggered(
            IdleStateHandler.IdleStateEvent.all)
        #expect(rig.channel.isActive)
        rig.finish()
        _ = try writtenFrames(rig.channel)
        rig.channel.pipeline.syncOperations.fireUserInboundEventTriggered(
            IdleStateHandler.IdleStateEvent.all)
        guard let e = (try writtenFrames(rig.channel).first?.message())?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR")
            return
        }
        #expect(e.code == .timeout)
        #expect(!rig.channel.isActive)
    }

    @Test("no frame over the negotiated cap is sent: an ERROR (internal-error) goes instead")
    func outboundCap() throws {
        let big = Message.pong(.init(nonce: 1))
        let (ok, fits) = OutboundFrames(maxPayload: 8, logger: quietLogger).encode(
            Envelope(big, requestID: 4))
        #expect(fits)
        #expect(ok.readableBytes == 8 + Frame.overhead)
        let list = example(.versionList)
        let (bytes, fits2) = OutboundFrames(maxPayload: 16, logger: quietLogger).encode(
            Envelope(list, requestID: 4))
        #expect(!fits2)
        var b = bytes
        let f = try #require(try Frame.parse(&b, maxPayload: ProtocolLimits.absoluteMaxPayload))
        #expect(f.requestID == 4)
        guard let e = (try f.message()).as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR")
            return
        }
        #expect(e.code == .internalError)
    }
}
