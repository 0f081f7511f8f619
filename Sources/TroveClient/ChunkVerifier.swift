import NIOCore
import Synchronization
import TroveCore
import TroveProtocol

/// Verifies chunks on the connection's event loop as they arrive (a ``ResponseTransform``): each
/// is decompressed to exactly its declared raw length and its SHA-256 checked; the chunk is handed
/// on raw (codec `raw`). The chunks of a frame are hashed together (``SHA256Pair/digests(of:)``:
/// sixteen AVX-512 lanes where the CPU has them and it pays, else two interleaved SHA-NI streams).
/// With `hashes: false` it only decompresses: the consumer must hash each chunk before using it.
final class ChunkVerifier: Sendable {
    /// The decompression and hash contexts, reused from chunk to chunk.
    private struct Contexts {
        let decompressor = ChunkDecompressor()
        let hashers = SHA256Pair()
    }

    /// Guards the contexts; uncontended (a verifier serves one connection's event loop).
    private let contexts = Mutex(Contexts())
    private let allocator = ByteBufferAllocator()
    private let hashes: Bool

    init(hashes: Bool = true) { self.hashes = hashes }

    func transform(_ message: Message) throws(ClientError) -> Message {
        guard var c = message.as(Message.Chunks.self) else { return message }
        let allocator = self.allocator
        let hashes = self.hashes
        try contexts.withLock { (ctx) throws(ClientError) in
            for i in c.chunks.indices {
                let p = c.chunks[i]
                let n = Int(p.rawLength)
                guard n >= 1, n <= ProtocolLimits.maxChunkLength else {
                    throw .integrity(detail: "chunk \(p.digest) declares a raw length of \(n) bytes")
                }
                var raw: ByteBuffer
                if p.codec == .raw {
                    guard p.data.readableBytes == n else {
                        throw .integrity(
                            detail: "raw chunk \(p.digest) is \(p.data.readableBytes) bytes, declared \(n)")
                    }
                    raw = p.data
                } else {
                    raw = allocator.buffer(capacity: n)
                    var failure: CodecError?
                    raw.writeWithUnsafeMutableBytes(minimumWritableBytes: n) { out in
                        let dst = UnsafeMutableRawBufferPointer(rebasing: out[0..<n])
                        p.data.withUnsafeReadableBytes { src in
                            do throws(CodecError) {
                                try ctx.decompressor.decompress(src, codec: p.codec, into: dst)
                            } catch {
                                failure = error
                            }
                        }
                        return n
                    }
                    if let failure {
                        throw .integrity(detail: "chunk \(p.digest) does not decode: \(failure)")
                    }
                }
                c.chunks[i] = ChunkPayload(digest: p.digest, rawLength: p.rawLength, codec: .raw, data: raw)
            }
            guard hashes else { return }
            // Up to `group` of the frame's chunks per call, two at a time on two lanes.
            var start = c.chunks.startIndex
            while start < c.chunks.endIndex {
                let group = c.chunks[start..<min(start + Self.group, c.chunks.endIndex)]
                let digests = Self.withReadableBytes(of: group.map(\.data)) { ctx.hashers.digests(of: $0) }
                for (p, d) in zip(group, digests) where d != p.digest {
                    throw .integrity(
                        detail: "chunk \(p.digest) received from the server does not hash to its digest")
                }
                start = group.endIndex
            }
        }
        return Message(c)
    }

    /// Chunks hashed per call (the nesting depth of ``withReadableBytes(of:_:)``).
    private static let group = 64

    /// Runs `body` with the readable bytes of every buffer (valid only during the call).
    private static func withReadableBytes<R>(
        of buffers: [ByteBuffer], _ body: ([UnsafeRawBufferPointer]) -> R
    ) -> R {
        var views: [UnsafeRawBufferPointer] = []
        views.reserveCapacity(buffers.count)
        func nest(_ i: Int) -> R {
            guard i < buffers.count else { return body(views) }
            return buffers[i].withUnsafeReadableBytes { raw in
                views.append(raw)
                return nest(i + 1)
            }
        }
        return nest(0)
    }
}
