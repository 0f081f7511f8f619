import NIOCore
import NIOEmbedded
import Testing
import TroveCore
import TroveProtocol

/// The fast frame path (``FrameAssembler``, in every connection's ``FrameReader``) against the
/// reference decoder (``FrameDecoder``, one accumulating buffer) on random streams, random split
/// points and random corruption.
@Suite("Frame reader: fast path equals the reference decoder")
struct FrameReaderTests {
    /// What a decoder made of a stream: the frames, then the error that ended it (if any).
    struct Outcome: Equatable {
        var frames: [Frame] = []
        var error: ProtocolError?
    }

    /// A stream of a preamble (or not) and `count` frames with payloads of assorted sizes.
    static func stream(_ rng: inout SplitMix64, preamble: Bool) -> [UInt8] {
        var b = preamble ? Preamble.current.encoded : ByteBuffer()
        let types: [MessageType] = [.ping, .putChunks, .chunks, .getChunks, .stat]
        for id in 0..<Int.random(in: 1...8, using: &rng) {
            let size: Int
            switch Int.random(in: 0..<4, using: &rng) {
            case 0: size = Int.random(in: 0...16, using: &rng)
            case 1: size = Int.random(in: 17...4096, using: &rng)
            case 2: size = Int.random(in: 4097...70_000, using: &rng)
            default: size = Int.random(in: 70_001...300_000, using: &rng)
            }
            var payload = ByteBuffer(repeating: 0, count: size)
            payload.withUnsafeMutableReadableBytes { rng.fill($0) }
            let flags: FrameFlags = Bool.random(using: &rng) ? [.more] : []
            Frame(type: types.randomElement(using: &rng)!, flags: flags, requestID: UInt32(id), payload: payload)
                .write(into: &b)
        }
        return Array(b.readableBytesView)
    }

    /// `bytes` cut at random points: pieces of 1–16 bytes, up to 4 KiB or up to 200 KiB.
    static func pieces(_ bytes: [UInt8], _ rng: inout SplitMix64) -> [ArraySlice<UInt8>] {
        let scale = [16, 4096, 200_000].randomElement(using: &rng)!
        var out: [ArraySlice<UInt8>] = []
        var at = 0
        while at < bytes.count {
            let n = min(bytes.count - at, Int.random(in: 1...scale, using: &rng))
            out.append(bytes[at..<(at + n)])
            at += n
        }
        return out
    }

    static func reference(_ pieces: [ArraySlice<UInt8>], preamble: Bool, maxPayload: Int) -> Outcome {
        var out = Outcome()
        var decoder = FrameDecoder(state: FrameCodecState(maxPayload: maxPayload), expectPreamble: preamble)
        var buffer = ByteBuffer()
        do throws(ProtocolError) {
            for p in pieces {
                buffer.writeBytes(p)
                while let f = try decoder.next(&buffer) { out.frames.append(f) }
            }
        } catch {
            out.error = error
        }
        return out
    }

    static func fast(_ pieces: [ArraySlice<UInt8>], preamble: Bool, maxPayload: Int) -> Outcome {
        var out = Outcome()
        var assembler = FrameAssembler(state: FrameCodecState(maxPayload: maxPayload), expectPreamble: preamble)
        do throws(ProtocolError) {
            for p in pieces { try assembler.feed(ByteBuffer(bytes: p)) { out.frames.append($0) } }
        } catch {
            out.error = error
        }
        return out
    }

    /// ``fast(_:preamble:maxPayload:)`` with frame buffers from a small pool; every other frame is
    /// copied and let go at once (its buffer may be reused for the next frame), the others are
    /// held to the end (their buffers must not be reused meanwhile).
    static func pooled(_ pieces: [ArraySlice<UInt8>], preamble: Bool, maxPayload: Int) -> Outcome {
        var out = Outcome()
        let pool = ByteBufferPool(maxBuffers: 3, maxBytes: 8 << 20, minimumCapacity: 0)
        var assembler = FrameAssembler(
            state: FrameCodecState(maxPayload: maxPayload), expectPreamble: preamble, buffers: pool)
        do throws(ProtocolError) {
            for p in pieces {
                try assembler.feed(ByteBuffer(bytes: p)) { frame in
                    var f = frame
                    if out.frames.count % 2 == 1 { f.payload = ByteBuffer(bytes: Array(frame.payload.readableBytesView)) }
                    out.frames.append(f)
                }
            }
        } catch {
            out.error = error
        }
        return out
    }

    @Test("random streams cut at random points give the same frames and errors", arguments: 0..<4)
    func randomSplits(_ part: Int) {
        var rng = SplitMix64(seed: UInt64(1000 + part))
        for round in 0..<60 {
            let preamble = Bool.random(using: &rng)
            var bytes = FrameReaderTests.stream(&rng, preamble: preamble)
            // A third of the streams get one byte damaged (header, payload, checksum or preamble).
            if Int.random(in: 0..<3, using: &rng) == 0 {
                bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
            }
            let maxPayload = [4096, 1 << 20].randomElement(using: &rng)!
            let pieces = FrameReaderTests.pieces(bytes, &rng)
            let want = FrameReaderTests.reference(pieces, preamble: preamble, maxPayload: maxPayload)
            let got = FrameReaderTests.fast(pieces, preamble: preamble, maxPayload: maxPayload)
            #expect(got == want, "part \(part) round \(round): \(pieces.count) pieces")
            let pooled = FrameReaderTests.pooled(pieces, preamble: preamble, maxPayload: maxPayload)
            #expect(pooled == want, "pooled: part \(part) round \(round): \(pieces.count) pieces")
        }
    }

    @Test("every cut of a small stream in two gives the same frames")
    func everyCutInTwo() {
        var rng = SplitMix64(seed: 5)
        var b = Preamble.current.encoded
        for i in 0..<4 {
            var payload = ByteBuffer(repeating: 0, count: 3 + 40 * i)
            payload.withUnsafeMutableReadableBytes { rng.fill($0) }
            Frame(type: .ping, requestID: UInt32(i), payload: payload).write(into: &b)
        }
        let bytes = Array(b.readableBytesView)
        for cut in 0...bytes.count {
            let pieces = [bytes[0..<cut], bytes[cut...]]
            let want = FrameReaderTests.reference(pieces, preamble: true, maxPayload: 4096)
            #expect(want.frames.count == 4)
            #expect(FrameReaderTests.fast(pieces, preamble: true, maxPayload: 4096) == want, "cut at \(cut)")
        }
    }

    /// Refuses the first charge of every other frame; records what was charged and completed.
    final class FlakyAccount: FrameMemoryAccount {
        var log: [String] = []
        var attempts = 0
        func charge(_ bytes: Int) -> Bool {
            attempts += 1
            if attempts % 3 == 1 {
                log.append("refuse \(bytes)")
                return false
            }
            log.append("charge \(bytes)")
            return true
        }
        func progress() {}
        func completed() { log.append("completed") }
        func paused() {}
        func release(frameOf payloadLength: Int) {}
        func close() { log.append("close") }
    }

    @Test("memory charges, refusals and retries happen at the same frames")
    func memoryAccounting() throws {
        var rng = SplitMix64(seed: 77)
        for _ in 0..<20 {
            let bytes = FrameReaderTests.stream(&rng, preamble: false)
            let pieces = FrameReaderTests.pieces(bytes, &rng)

            let slowAccount = FlakyAccount()
            let slowState = FrameCodecState(maxPayload: 1 << 20, memory: slowAccount)
            var decoder = FrameDecoder(state: slowState, expectPreamble: false)
            var buffer = ByteBuffer()
            var slowFrames: [Frame] = []
            for p in pieces {
                buffer.writeBytes(p)
                repeat {
                    while let f = try decoder.next(&buffer) { slowFrames.append(f) }
                } while slowState.awaitingMemory
            }

            let fastAccount = FlakyAccount()
            let fastState = FrameCodecState(maxPayload: 1 << 20, memory: fastAccount)
            var assembler = FrameAssembler(state: fastState, expectPreamble: false)
            var fastFrames: [Frame] = []
            for p in pieces {
                try assembler.feed(ByteBuffer(bytes: p)) { fastFrames.append($0) }
                while fastState.awaitingMemory { try assembler.feed(ByteBuffer()) { fastFrames.append($0) } }
            }
            #expect(fastFrames == slowFrames)
            #expect(fastAccount.log == slowAccount.log)
            #expect(fastAccount.log.contains { $0.hasPrefix("refuse") })
        }
    }

    /// The checksum of a frame that spans reads is taken while its pieces are copied: one damaged
    /// byte anywhere (header, payload, checksum) must fail the frame as the reference decoder fails
    /// it, with the same expected and actual checksums, whatever the reads' sizes (chunk-carrying
    /// frames too: every frame is checked on receipt).
    @Test("a damaged byte in a frame spanning reads is caught as by the reference decoder")
    func damagedSpanningFrame() throws {
        var rng = SplitMix64(seed: 31)
        var payload = ByteBuffer(repeating: 0, count: 50_000)
        payload.withUnsafeMutableReadableBytes { rng.fill($0) }
        for type in [MessageType.chunks, .putChunks] {
            var b = ByteBuffer()
            Frame(type: type, flags: .more, requestID: 12, payload: payload).write(into: &b)
            let clean = Array(b.readableBytesView)
            let positions = Array(6..<14) + [4095, 4096, 4097, 25_000, clean.count - 5] + Array((clean.count - 4)..<clean.count)
            for position in positions {
                for scale in [1000, 4096, 49_999] {
                    var bytes = clean
                    bytes[position] ^= 0x40
                    var pieces: [ArraySlice<UInt8>] = []
                    var at = 0
                    while at < bytes.count {
                        let n = min(bytes.count - at, Int.random(in: 1...scale, using: &rng))
                        pieces.append(bytes[at..<(at + n)])
                        at += n
                    }
                    let want = Self.decode(pieces, fast: false)
                    let got = Self.decode(pieces, fast: true)
                    #expect(got == want, "\(type) damaged at \(position), reads up to \(scale)")
                    #expect(want.frames.isEmpty && want.error != nil, "\(type) damaged at \(position)")
                }
            }
        }
    }

    static func decode(_ pieces: [ArraySlice<UInt8>], fast: Bool) -> Outcome {
        let state = FrameCodecState(maxPayload: 1 << 20)
        var out = Outcome()
        do throws(ProtocolError) {
            if fast {
                var assembler = FrameAssembler(state: state, expectPreamble: false)
                for p in pieces { try assembler.feed(ByteBuffer(bytes: p)) { out.frames.append($0) } }
            } else {
                var decoder = FrameDecoder(state: state, expectPreamble: false)
                var buffer = ByteBuffer()
                for p in pieces {
                    buffer.writeBytes(p)
                    while let f = try decoder.next(&buffer) { out.frames.append(f) }
                }
            }
        } catch {
            out.error = error
        }
        return out
    }

    @Test("a frame spanning many reads comes out whole, in one buffer of its size")
    func spanningFrameIsAssembledOnce() throws {
        var payload = ByteBuffer(repeating: 0, count: 300_000)
        var rng = SplitMix64(seed: 9)
        payload.withUnsafeMutableReadableBytes { rng.fill($0) }
        var b = ByteBuffer()
        Frame(type: .putChunks, requestID: 3, payload: payload).write(into: &b)
        Frame(type: .ping, requestID: 4, payload: ByteBuffer(bytes: [1, 2, 3])).write(into: &b)
        var assembler = FrameAssembler(state: FrameCodecState(maxPayload: 1 << 20), expectPreamble: false)
        var frames: [Frame] = []
        while b.readableBytes > 0 {
            let piece = b.readSlice(length: min(b.readableBytes, 65_536))!
            try assembler.feed(piece) { frames.append($0) }
        }
        #expect(frames.map(\.requestID) == [3, 4])
        #expect(frames[0].payload == payload)
        // One allocation at the frame's size (NIO rounds it up to a power of two), never regrown.
        #expect(frames[0].payload.storageCapacity == (300_000 + Frame.overhead).nextPowerOfTwo)
    }

    @Test("through a channel: whole, byte by byte, and a decoding error ends the stream")
    func throughChannel() throws {
        let channel = EmbeddedChannel()
        try channel.pipeline.syncOperations.addHandler(FrameReader(state: FrameCodecState(), expectPreamble: false))
        var b = ByteBuffer()
        for i in 0..<3 { Envelope(.ping(.init(nonce: UInt64(i))), requestID: UInt32(i)).write(into: &b) }
        try channel.writeInbound(b)
        for byte in b.readableBytesView { try channel.writeInbound(ByteBuffer(bytes: [byte])) }
        var nonces: [UInt32] = []
        while let f = try channel.readInbound(as: Frame.self) { nonces.append(f.requestID) }
        #expect(nonces == [0, 1, 2, 0, 1, 2])
        var bad = ByteBuffer()
        Envelope(.ping(.init(nonce: 9)), requestID: 9).write(into: &bad)
        bad.setInteger(UInt8(0xFF), at: bad.writerIndex - 1)  // damage the checksum
        #expect(throws: ProtocolError.self) { try channel.writeInbound(bad) }
        // After the error nothing more is decoded.
        try channel.writeInbound(frameBytes(.ping(.init(nonce: 1))))
        #expect(try channel.readInbound(as: Frame.self) == nil)
        _ = try? channel.finish()
    }
}

extension Int {
    fileprivate var nextPowerOfTwo: Int { 1 << (Int.bitWidth - (self - 1).leadingZeroBitCount) }
}
