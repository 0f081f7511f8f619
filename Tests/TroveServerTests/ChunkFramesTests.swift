import Foundation
import NIOCore
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer
@testable import TroveStore

/// GET_CHUNKS frames written in place from the pack reads (``ChunkFrames/nextFrame``, the fast
/// path) against the frames of the same stream built as messages (``ChunkFrames/next()``, the
/// reference): byte for byte, on plaintext and encrypted stores, with direct and buffered reads,
/// chunks the store lacks, repeats, out-of-order requests, clients that do not take zstd, and
/// frame caps that split the response into many frames.
@Suite("CHUNKS frames written in place")
struct ChunkFramesTests {
    /// Random bytes (stored raw) or text (stored as zstd).
    static func chunk(_ rng: inout SplitMix64, size: Int, text: Bool) -> ChunkInput {
        var raw = [UInt8](repeating: 0, count: size)
        if text {
            let words = ["tensor ", "weight ", "layer ", "bias ", "0.125 ", "-3.5 "]
            var out: [UInt8] = []
            while out.count < size { out += Array(words[Int(rng.next() % 6)].utf8) }
            raw = Array(out.prefix(size))
        } else {
            raw.withUnsafeMutableBytes { rng.fill($0) }
        }
        let (codec, stored) = ChunkCompressor(codec: .zstd).compress(raw)
        return ChunkInput(digest: SHA256.hash(raw), codec: codec, rawLength: raw.count, bytes: stored)
    }

    @Test(arguments: [(true, false), (false, false), (true, true)])
    func directFramesEqualMessageFrames(direct: Bool, encrypted: Bool) throws {
        let root = FileManager.default.temporaryDirectory.path + "/trove-chunkframes-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        var options = StoreOptions(packSize: 40_000)
        options.directIO = direct
        if encrypted { options.encryption = StoreEncryption(key: try StoreKey(bytes: Array(repeating: 7, count: 32))) }
        let store = try Store.create(at: root, options: options)
        var rng = SplitMix64(seed: 52)
        var chunks: [ChunkInput] = []
        for b in 0..<8 {
            let batch = (0..<6).map { i in
                let size = 300 + Int(rng.next() % 9000)
                return Self.chunk(&rng, size: size, text: (b + i) % 3 == 0)
            }
            _ = try store.putChunks(batch)
            chunks += batch
        }
        #expect(chunks.contains { $0.codec == .zstd } && chunks.contains { $0.codec == .raw })
        let absent = (0..<3).map { i in SHA256.hash([UInt8(i)]) }
        let asked =
            chunks.map(\.digest) + [absent[0]] + chunks.reversed().map(\.digest) + absent[1...]
            + chunks.prefix(5).map(\.digest)
        var config = ServerConfig()
        let pool = ByteBufferPool(maxBuffers: 2, maxBytes: 4 << 20, minimumCapacity: 0)
        for maxFrame in [12_000, 40_000, 1 << 20] {
            config.limits.maxFramePayload = UInt32(maxFrame)
            let router = RequestRouter(store: store, config: config, logger: quietLogger)
            let encoder = OutboundFrames(maxPayload: maxFrame, logger: quietLogger, buffers: pool)
            for codecs: Set<Codec> in [[.raw, .zstd, .lz4], [.raw, .lz4]] {
                let reference = ChunkFrames(router: router, digests: asked, codecs: codecs)
                let fast = ChunkFrames(router: router, digests: asked, codecs: codecs)
                var frames = 0
                var received: [ChunkPayload] = []
                var missing: [Digest] = []
                while true {
                    let (m, last) = try reference.next()
                    var want = ByteBuffer()
                    Envelope(m, requestID: 9, flags: last ? [] : .more).write(into: &want)
                    let (got, gotLast) = try fast.nextFrame(requestID: 9, encoder: encoder)
                    #expect(got == want, "frame \(frames), cap \(maxFrame), codecs \(codecs)")
                    #expect(gotLast == last)
                    var copy = got
                    let c = try #require(try Frame.parse(&copy, maxPayload: maxFrame)?.message().as(Message.Chunks.self))
                    received += c.chunks
                    missing += c.missing
                    frames += 1
                    if last { break }
                }
                #expect(maxFrame > 100_000 || frames > 3)
                #expect(received.map(\.digest) == asked.filter { !absent.contains($0) })
                #expect(missing == asked.filter { absent.contains($0) })
                // Every chunk decodes to its digest: no frame a payload still references was
                // overwritten by a later one (the pool reuses a buffer only once nobody holds it).
                let decompressor = ChunkDecompressor()
                for p in received {
                    #expect(codecs.contains(p.codec))
                    let raw = try decompressor.decompress(
                        Array(p.data.readableBytesView), codec: p.codec, rawLength: Int(p.rawLength))
                    #expect(SHA256.hash(raw) == p.digest)
                }
            }
        }
        #expect(pool.usage.buffers >= 1)
    }
}
