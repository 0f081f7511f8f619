import Dispatch
import NIOCore
import TroveCore
import TroveProtocol

/// Turns a chunk's raw bytes into its `PUT_CHUNKS` payload: compressed (zstd level
/// ``Uploader/chunkLevel``) when the sample says it pays and the result is smaller, else the raw
/// bytes themselves. Not thread-safe: one per thread (it reuses a zstd context and a sampler).
final class ChunkEncoder {
    let compressor: ChunkCompressor
    let sampler = CompressibilitySampler()
    private let allocator = ByteBufferAllocator()

    init(codec: Codec, level: Int) {
        compressor = ChunkCompressor(codec: codec, level: level)
        sampler.enabled = codec != .raw
    }

    func encode(_ data: ByteBuffer, digest: Digest) -> ChunkPayload {
        let length = UInt32(data.readableBytes)
        return data.withUnsafeReadableBytes { raw in
            guard sampler.looksCompressible(raw) else {
                sampler.record(compressed: false)
                return ChunkPayload(digest: digest, rawLength: length, codec: .raw, data: data)
            }
            return compressor.compress(raw) { codec, stored in
                sampler.record(compressed: codec != .raw)
                if codec == .raw {
                    return ChunkPayload(digest: digest, rawLength: length, codec: .raw, data: data)
                }
                var b = allocator.buffer(capacity: stored.count)
                b.writeBytes(stored)
                return ChunkPayload(digest: digest, rawLength: length, codec: codec, data: b)
            }
        }
    }

    /// Encodes `chunks` (raw bytes with their digests) on `encoders.count` threads (the calling
    /// thread is one of them), each encoder taking every n-th chunk; payloads in input order.
    ///
    /// Compressing is most of a compressible push's client CPU (zstd-1, ~250 MB/s per core here):
    /// a single large file's chunks all go out on one connection, in order, and were compressed
    /// by that connection's thread alone while the other core idled.
    static func encode(_ chunks: [(ByteBuffer, Digest)], with encoders: [ChunkEncoder]) -> [ChunkPayload] {
        let n = chunks.count
        let threads = min(encoders.count, n)
        guard threads > 1 else { return chunks.map { encoders[0].encode($0.0, digest: $0.1) } }
        let out = UnsafeMutableBufferPointer<ChunkPayload?>.allocate(capacity: n)
        out.initialize(repeating: nil)
        defer {
            out.deinitialize()
            out.deallocate()
        }
        // Worker w only uses encoders[w] and writes only the slots k ≡ w (mod threads); the
        // arrays are not mutated while the workers run.
        nonisolated(unsafe) let encoders = encoders
        nonisolated(unsafe) let slots = out
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            for k in stride(from: w, to: n, by: threads) {
                slots[k] = encoders[w].encode(chunks[k].0, digest: chunks[k].1)
            }
        }
        return out.map { $0! }
    }
}
