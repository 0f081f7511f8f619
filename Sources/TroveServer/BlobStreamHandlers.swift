import TroveCore
import TroveProtocol
import TroveStore

/// Push, blob streams (PROTOCOL.md §9a, protocol version 2): BLOB_OPEN, BLOB_CHUNKS, BLOB_CLOSE;
/// BLOB_SEAL (version 3).
/// The streams live in the upload session (`TroveStore.BlobStreams`); each handler checks the
/// request against the announced limits and makes one call on the session its lease names.
extension RequestRouter {
    func blobOpen(_ m: Message.BlobOpen, _: Caller) throws(ServerError) -> Message.BlobOpened {
        try underLease(m.lease) { () throws(ServerError) in
            let session = try upload(m.lease)
            try s { () throws(StoreError) in try session.openBlobStream(m.stream) }
            return .init(stream: m.stream)
        }
    }

    func blobChunks(_ m: Message.BlobChunks, _: Caller) throws(ServerError) -> Message.BlobChunksOK {
        try underLease(m.lease) { () throws(ServerError) in
            try checkCount(m.chunks.count, limits.maxChunksPerPut, "chunks")
            let session = try upload(m.lease)
            let entries = m.chunks.map { c -> BlobStreamEntry in
                switch c {
                case .data(let p): .data(ChunkInput(received: p))
                case .stored(let d, let n):
                    .stored(digest: d, length: Int(n))
                }
            }
            let result = try s { () throws(StoreError) in
                try session.appendBlobStream(m.stream, position: m.position, entries)
            }
            ServerMetrics.chunksNew.increment(by: result.stored)
            ServerMetrics.chunksDeduplicated.increment(by: result.duplicates)
            return .init(stored: UInt32(result.stored), alreadyPresent: UInt32(result.duplicates))
        }
    }

    func blobClose(_ m: Message.BlobClose, _: Caller) throws(ServerError) -> Message.BlobClosed {
        try underLease(m.lease) { () throws(ServerError) in
            let session = try upload(m.lease)
            let verified = try s { () throws(StoreError) in
                try session.closeBlobStream(m.stream, blob: m.blob, size: m.size, chunks: m.chunks)
            }
            return .init(verified: verified)
        }
    }

    func blobSeal(_ m: Message.BlobSeal, _: Caller) throws(ServerError) -> Message.BlobSealed {
        try underLease(m.lease) { () throws(ServerError) in
            let session = try upload(m.lease)
            let blob = try s { () throws(StoreError) in
                try session.sealBlobStream(m.stream, size: m.size, chunks: m.chunks)
            }
            return .init(blob: blob)
        }
    }
}
