import NIOCore
import Testing
import TroveCore
import TroveProtocol

@testable import TroveClient

/// The chunk check of a pull on arrival (`ChunkVerifier`): the chunks of a frame are hashed two
/// at a time on two lanes, 64 per call. Held against OpenSSL's SHA-256 of each chunk alone: every
/// chunk of a good frame passes (raw and compressed, odd and even counts, past one call), and one
/// wrong byte in any chunk — even or odd position, the last one, either side of a call's end —
/// fails the frame.
@Suite("pull's chunk check on arrival")
struct ChunkVerifierTests {
    /// `count` chunks of varied sizes (one byte to 200 KB, or 20 KB past 9 chunks), every third one zstd-compressed
    /// when that makes it smaller (a run of one byte value inside random bytes).
    static func frame(count: Int, seed: UInt64) -> (Message.Chunks, [[UInt8]]) {
        var rng = SplitMix64(seed: seed)
        let compressor = ChunkCompressor(codec: .zstd, level: 1)
        var raws: [[UInt8]] = []
        var payloads: [ChunkPayload] = []
        for i in 0..<count {
            let n = i == 0 ? 1 : Int(rng.next() % (count > 9 ? 20_000 : 200_000)) + 1
            var raw = ClientE2E.random(seed: rng.next(), count: n)
            if i % 3 == 1 { for k in 0..<(n / 2) { raw[k] = 7 } }
            raws.append(raw)
            let (codec, stored) = i % 3 == 1 ? compressor.compress(raw) : (.raw, raw)
            payloads.append(
                ChunkPayload(
                    digest: SHA256.hash(raw), rawLength: UInt32(n), codec: codec, data: ByteBuffer(bytes: stored)))
        }
        return (Message.Chunks(chunks: payloads, missing: []), raws)
    }

    @Test("a good frame passes whole and raw", arguments: [1, 2, 3, 8, 9, 130])
    func goodFramesPass(count: Int) throws {
        let (chunks, raws) = Self.frame(count: count, seed: UInt64(count))
        #expect(chunks.chunks.contains { $0.codec != .raw } == (count > 1))
        for verifier in [ChunkVerifier(), ChunkVerifier(hashes: false)] {
            let out = try #require(try verifier.transform(Message(chunks)).as(Message.Chunks.self))
            #expect(out.chunks.count == count)
            for (p, raw) in zip(out.chunks, raws) {
                #expect(p.codec == .raw)
                #expect(Array(p.data.readableBytesView) == raw)
            }
        }
    }

    @Test("one wrong byte in any chunk fails the frame", arguments: [2, 3, 8, 9, 130])
    func aWrongByteFails(count: Int) throws {
        for bad in count <= 9 ? Array(0..<count) : [0, 1, 63, 64, 65, 127, 128, 129] {
            var (chunks, raws) = Self.frame(count: count, seed: UInt64(100 + count))
            // Damage the raw bytes of a raw chunk, or the digest of a compressed one.
            if chunks.chunks[bad].codec == .raw {
                var bytes = raws[bad]
                bytes[bytes.count / 2] ^= 0x40
                chunks.chunks[bad].data = ByteBuffer(bytes: bytes)
            } else {
                raws[bad][0] ^= 1
                chunks.chunks[bad].digest = SHA256.hash(raws[bad])
            }
            #expect(throws: ClientError.self, "chunk \(bad) of \(count)") {
                try ChunkVerifier().transform(Message(chunks))
            }
            // Without hashing on arrival the frame passes: the consumer hashes (ChunkStream).
            #expect(throws: Never.self) { try ChunkVerifier(hashes: false).transform(Message(chunks)) }
        }
    }
}
