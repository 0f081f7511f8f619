import NIOCore
import TroveCore
import TroveProtocol
import TroveStore

/// A received chunk's bytes, still inside the frame they arrived in, handed to the store without
/// a copy: the store hashes them there and copies them once, into the pack segment. The frame's
/// buffer lives as long as the store holds the value (the store copies what it keeps past a
/// request).
struct ReceivedChunkBytes: SharedBytes {
    let buffer: ByteBuffer

    var count: Int { buffer.readableBytes }

    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try buffer.withUnsafeReadableBytes(body)
    }
}

extension ChunkInput {
    /// The chunk of a `PUT_CHUNKS` or `BLOB_CHUNKS` request, its bytes not copied.
    init(received p: ChunkPayload) {
        self.init(
            digest: p.digest, codec: p.codec, rawLength: Int(p.rawLength), data: ReceivedChunkBytes(buffer: p.data))
    }
}
