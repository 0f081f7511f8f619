import NIOCore
import Testing
import TroveCore
import TroveProtocol

/// ``ScatteredFrame`` (the fast path) against ``Envelope/write(into:)`` (the copying encoder).
@Suite struct ScatteredFrameTests {
    /// Deterministic bytes for the tests.
    private struct Bytes {
        var g: SplitMix64
        init(state: UInt64) { g = SplitMix64(seed: state) }
        mutating func next() -> UInt64 { g.next() }
        mutating func buffer(_ n: Int) -> ByteBuffer {
            var b = ByteBuffer()
            for _ in 0..<n { b.writeInteger(UInt8(truncatingIfNeeded: next())) }
            return b
        }
        mutating func digest() -> Digest { Digest(bytes: (0..<32).map { _ in UInt8(truncatingIfNeeded: next()) })! }
    }

    /// A BLOB_CHUNKS of data chunks of `lengths` (negative: a stored reference), some compressed.
    private static func blobChunks(_ lengths: [Int], g: inout Bytes) -> Message.BlobChunks {
        var chunks: [StreamChunk] = []
        for (i, n) in lengths.enumerated() {
            if n < 0 {
                chunks.append(.stored(digest: g.digest(), rawLength: UInt32(-n)))
            } else {
                // Every data buffer is a slice of a larger one, as the client's batch arenas are.
                var arena = g.buffer(n + 100)
                arena.moveReaderIndex(forwardBy: 50)
                let data = arena.readSlice(length: n)!
                let codec: Codec = i % 3 == 2 ? .zstd : .raw
                chunks.append(.data(ChunkPayload(digest: g.digest(), rawLength: UInt32(n + (codec == .raw ? 0 : 7)), codec: codec, data: data)))
            }
        }
        return Message.BlobChunks(lease: LeaseID(high: 3, low: 4), stream: 9, position: 77, chunks: chunks)
    }

    private static func joined(_ pieces: [ByteBuffer]) -> ByteBuffer {
        var all = ByteBuffer()
        for var p in pieces { all.writeBuffer(&p) }
        return all
    }

    @Test(arguments: [
        [70_000],
        [4096, 4095, 4097],
        [1, 2, 3, 65_536],
        [-65_536, 70_000, -1, 16_384, 4000, 200_000, -30_000],
        [131_072, 131_072, 131_072, 131_072, 10, 5000],
    ])
    func piecesAreTheFrameBytes(lengths: [Int]) throws {
        var g = Bytes(state: UInt64(lengths.count))
        let message = Message(Self.blobChunks(lengths, g: &g))
        let envelope = Envelope(message, requestID: 0xDEAD_BEEF, flags: [])
        var want = ByteBuffer()
        envelope.write(into: &want)
        let frame = try #require(ScatteredFrame(envelope))
        #expect(Self.joined(frame.pieces) == want)
        // Large data stays in place: one piece per data buffer of at least the minimum.
        let large = lengths.filter { $0 >= ScatteredFrame.minimumPiece }.count
        #expect(frame.pieces.count >= large + 1)
        var wire = Self.joined(frame.pieces)
        let parsed = try #require(try Frame.parse(&wire, maxPayload: ProtocolLimits.absoluteMaxPayload))
        #expect(try parsed.message() == message)
        #expect(parsed.requestID == 0xDEAD_BEEF)
        // Checksums the sender took (some, not all) fold into the same frame checksum.
        let body = try #require(message.as(Message.BlobChunks.self))
        let data = body.chunks.compactMap { c -> ByteBuffer? in if case .data(let p) = c { p.data } else { nil } }
        let known = data.enumerated().map { i, d in i % 2 == 0 ? d.withUnsafeReadableBytes { CRC32C.update(0, $0) } : nil }
        let folded = try #require(ScatteredFrame(envelope, dataChecksums: known))
        #expect(Self.joined(folded.pieces) == want)
        // A wrong one gives a frame the receiver refuses (when that data went in place).
        if let i = data.firstIndex(where: { $0.readableBytes >= ScatteredFrame.minimumPiece }) {
            var wrong = known
            wrong[i] = (known[i] ?? 0) ^ 1
            var bad = Self.joined(try #require(ScatteredFrame(envelope, dataChecksums: wrong)).pieces)
            #expect(throws: ProtocolError.self) { try Frame.parse(&bad, maxPayload: ProtocolLimits.absoluteMaxPayload) }
        }
    }

    @Test func randomBatchesMatchTheCopyingEncoder() throws {
        var g = Bytes(state: 42)
        for round in 0..<40 {
            let count = Int(g.next() % 40) + 1
            let lengths = (0..<count).map { _ -> Int in
                switch g.next() % 4 {
                case 0: -Int(g.next() % 100_000 + 1)
                case 1: Int(g.next() % 8192)
                default: Int(g.next() % 140_000)
                }
            }
            let envelope = Envelope(
                Message(Self.blobChunks(lengths, g: &g)), requestID: UInt32(round), flags: round % 2 == 0 ? [] : .more)
            var want = ByteBuffer()
            envelope.write(into: &want)
            if let frame = ScatteredFrame(envelope) {
                #expect(Self.joined(frame.pieces) == want, "lengths \(lengths)")
            } else {
                #expect(!lengths.contains { $0 >= ScatteredFrame.minimumPiece }, "lengths \(lengths)")
            }
        }
    }

    @Test func framesWithoutLargeDataAreWrittenWhole() {
        var g = Bytes(state: 5)
        #expect(ScatteredFrame(Envelope(Message(Self.blobChunks([-100, 12, 4095], g: &g)), requestID: 1)) == nil)
        #expect(ScatteredFrame(Envelope(.ping(.init(nonce: 3)), requestID: 2)) == nil)
    }
}
