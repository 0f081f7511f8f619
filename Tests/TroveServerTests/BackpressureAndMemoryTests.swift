import NIOCore
import NIOEmbedded
import Synchronization
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// Reads are issued only while the connection may take more; frame memory is charged when a
/// header arrives and bounded in total; stalled frames are evicted when others wait.
@Suite("Backpressure and frame memory")
struct BackpressureAndMemoryTests {
    @Test("no read past max_in_flight outstanding requests; reading resumes as responses finish")
    func inFlightLimit() throws {
        let counter = ReadCounter()
        let backpressure = BackpressureHandler(codec: FrameCodecState(), maxInFlight: 2)
        let channel = try activeChannel([counter, backpressure, Recorder()])
        #expect(counter.reads >= 1, "reads when active")
        try channel.writeInbound(frame(.ping(.init(nonce: 1)), id: 1))
        let base = counter.reads
        try channel.writeInbound(frame(.ping(.init(nonce: 2)), id: 2))
        channel.pipeline.fireChannelReadComplete()
        #expect(backpressure.inFlight == 2)
        #expect(counter.reads == base, "two outstanding: no further read")
        channel.pipeline.triggerUserOutboundEvent(RequestFinished(), promise: nil)
        #expect(counter.reads == base + 1)
        #expect(backpressure.inFlight == 1)
    }

    @Test("no read past the queued-bytes limit")
    func queuedBytesLimit() throws {
        let counter = ReadCounter()
        let backpressure = BackpressureHandler(
            codec: FrameCodecState(), maxInFlight: 100, maxQueuedBytes: 100)
        let channel = try activeChannel([counter, backpressure, Recorder()])
        let big = Frame(type: .putChunks, requestID: 1, payload: ByteBuffer(repeating: 0, count: 150))
        let base = counter.reads
        try channel.writeInbound(big)
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == base)
        channel.pipeline.triggerUserOutboundEvent(RequestFinished(), promise: nil)
        #expect(counter.reads == base + 1)
    }

    @Test("budget: charges up to the limit, queues the rest in order, grants on release")
    func budgetQueue() {
        let budget = ReceiveBudget(limit: 1000, stall: .seconds(60))
        let a = budget.open(evict: {})
        let b = budget.open(evict: {})
        let woke = Mutex<[String]>([])
        let charged1 = budget.charge(a, 800, wake: {})
        #expect(charged1)
        let charged2 = budget.charge(b, 400, wake: { woke.withLock { $0.append("b") } })
        #expect(!charged2)
        #expect(budget.usage.used == 800)
        budget.release(a, 800)
        #expect(woke.withLock { $0 } == ["b"])
        let charged3 = budget.charge(b, 400, wake: {})
        #expect(charged3, "the grant is taken by the retried charge")
        #expect(budget.usage.used == 400)
        budget.close(b)
        budget.close(a)
        #expect(budget.usage.used == 0)
        #expect(budget.usage.peak == 800)
    }

    @Test("budget: a stalled partial frame is evicted only while someone waits")
    func budgetEviction() {
        let budget = ReceiveBudget(limit: 1000, stall: .seconds(5))
        let evicted = Mutex(0)
        let a = budget.open(evict: { evicted.withLock { $0 += 1 } })
        let b = budget.open(evict: {})
        let t0 = NIODeadline.now()
        let charged4 = budget.charge(a, 900, wake: {})
        #expect(charged4)
        budget.evictStalled(now: t0 + .seconds(10))
        #expect(evicted.withLock { $0 } == 0, "nobody waits: nothing is evicted")
        let charged5 = budget.charge(b, 900, wake: {})
        #expect(!charged5)
        budget.evictStalled(now: t0 + .seconds(10))
        #expect(evicted.withLock { $0 } == 1)
        budget.evictStalled(now: t0 + .seconds(20))
        #expect(evicted.withLock { $0 } == 1, "evicted once")
    }

    @Test("decoder + budget: a large frame waits for memory without buffering it, then goes through")
    func decoderWaitsForMemory() throws {
        let budget = ReceiveBudget(limit: 200 << 10, stall: .seconds(60))
        let holder = budget.open(evict: {})
        let charged6 = budget.charge(holder, 150 << 10, wake: {})
        #expect(charged6)

        let counter = ReadCounter()
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let memory = ConnectionMemory(
            budget: budget,
            wake: { loop.execute { channel.pipeline.fireUserInboundEventTriggered(FrameMemoryGranted()) } },
            evict: {})
        let codec = FrameCodecState(maxPayload: 1 << 20, memory: memory)
        let recorder = Recorder()
        try channel.pipeline.syncOperations.addHandlers([
            counter, FrameReader(state: codec, expectPreamble: false),
            BackpressureHandler(codec: codec, maxInFlight: 8), recorder,
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        var bytes = ByteBuffer()
        Frame(type: .putChunks, requestID: 1, payload: ByteBuffer(repeating: 7, count: 100 << 10)).write(
            into: &bytes)
        let head = bytes.readSlice(length: 4096)!
        try channel.writeInbound(head)
        channel.pipeline.fireChannelReadComplete()
        #expect(codec.awaitingMemory)
        let readsWhileWaiting = counter.reads
        try channel.writeInbound(bytes)
        channel.pipeline.fireChannelReadComplete()
        #expect(counter.reads == readsWhileWaiting, "no read while waiting for memory")
        #expect(recorder.frames.isEmpty)

        budget.release(holder, 150 << 10)
        loop.run()
        #expect(recorder.frames.count == 1, "the grant lets the decoder finish the frame it holds")
        #expect(!codec.awaitingMemory)
        #expect(counter.reads > readsWhileWaiting)
        #expect(budget.usage.used == (100 << 10) + Frame.overhead)
        memory.release(frameOf: recorder.frames[0].payload.readableBytes)
        #expect(budget.usage.used == 0)

        // Closing the connection returns whatever it still held.
        var more = ByteBuffer()
        Frame(type: .putChunks, requestID: 2, payload: ByteBuffer(repeating: 7, count: 100 << 10)).write(
            into: &more)
        try channel.writeInbound(more.readSlice(length: 70 << 10)!)
        #expect(budget.usage.used > 0)
        _ = try channel.finish()
        #expect(budget.usage.used == 0)
    }

    @Test("a partial frame the server stopped reading (its own backpressure) is not evicted as stalled")
    func pausedFrameIsNotStalled() throws {
        let budget = ReceiveBudget(limit: 200 << 10, stall: .seconds(5))
        let evicted = Mutex(0)
        let channel = EmbeddedChannel()
        let memory = ConnectionMemory(
            budget: budget, wake: {}, evict: { evicted.withLock { $0 += 1 } })
        let codec = FrameCodecState(maxPayload: 1 << 20, memory: memory)
        try channel.pipeline.syncOperations.addHandlers([
            FrameReader(state: codec, expectPreamble: false),
            BackpressureHandler(codec: codec, maxInFlight: 1), Recorder(),
        ])
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()

        // A small request (now outstanding: the limit of 1) and the first 4 KiB of a large one.
        var bytes = ByteBuffer()
        frame(.ping(.init(nonce: 1)), id: 1).write(into: &bytes)
        var large = ByteBuffer()
        Frame(type: .putChunks, requestID: 2, payload: ByteBuffer(repeating: 7, count: 100 << 10)).write(
            into: &large)
        bytes.writeImmutableBuffer(large.readSlice(length: 4096)!)
        try channel.writeInbound(bytes)
        channel.pipeline.fireChannelReadComplete()
        #expect(codec.chargedFrame, "the large frame is charged and partly received")

        // Someone waits for memory; the server, not the client, holds up the partial frame.
        let other = budget.open(evict: {})
        let charged = budget.charge(other, 150 << 10, wake: {})
        #expect(!charged)
        budget.evictStalled(now: .now() + .seconds(60))
        #expect(evicted.withLock { $0 } == 0, "a frame the server stopped reading is not stalled")

        // Reading resumes: from now on the client must keep sending.
        channel.pipeline.triggerUserOutboundEvent(RequestFinished(), promise: nil)
        budget.evictStalled(now: .now() + .seconds(60))
        #expect(evicted.withLock { $0 } == 1, "once read again, a silent client is stalled")
        _ = try? channel.finish()
    }
}
