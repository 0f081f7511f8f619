import NIOCore
import Synchronization
import TroveCore
import TroveProtocol

/// Verifies chunks on the connection's event loop as they arrive (a ``ResponseTransform``): each
/// is decompressed to exactly its declared raw length and its SHA-256 checked; the chunk is handed
/// on raw (codec `raw`). With `hashes: false` it only decompresses: the consumer must hash each
/// chunk before using it (``ChunkStream`` does, fused with the blob digest).
final class ChunkVerifier: Sendable {
    /// The decompression and hash contexts, reused from chunk to chunk.
    private struct Contexts {
        let decompressor = ChunkDecompressor()
        let hasher = SHA256()
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
                let d = hashes ? raw.withUnsafeReadableBytes { ctx.hasher.hash($0) } : p.digest
                guard d == p.digest else {
                    throw .integrity(
                        detail: "chunk \(p.digest) received from the server does not hash to its digest")
                }
                c.chunks[i] = ChunkPayload(digest: p.digest, rawLength: p.rawLength, codec: .raw, data: raw)
            }
        }
        return Message(c)
    }
}
