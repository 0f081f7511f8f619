import NIOCore
import TroveCore
import TroveProtocol

extension Remote {
    /// Fetches the given chunks in one `GET_CHUNKS` request (the caller keeps the list within
    /// ``SessionLimits/maxDigestsPerRequest`` and the frame budget) and returns their raw bytes in
    /// the same order. Every chunk is decompressed to exactly its declared length and its SHA-256
    /// checked (on the connection's event loop, as for pull); a chunk the server lacks, or one
    /// that does not match `wanted` (digest or length), fails the whole call.
    ///
    /// Safe to call from several threads on one connection (requests are pipelined).
    public func fetchChunks(_ wanted: [RecipeChunk]) throws(ClientError) -> [[UInt8]] {
        guard !wanted.isEmpty else { return [] }
        let verifier = ChunkVerifier()
        let reply = try connection.send(
            Message.GetChunks(digests: wanted.map(\.digest)),
            transform: { (m) throws(ClientError) in try verifier.transform(m) }
        ).wait()
        var out: [[UInt8]] = []
        out.reserveCapacity(wanted.count)
        for p in try Remote.chunkPayloads(reply) {
            guard out.count < wanted.count else {
                throw .protocolViolation(detail: "GET_CHUNKS returned more chunks than asked for")
            }
            let want = wanted[out.count]
            guard p.digest == want.digest, p.rawLength == want.length, p.codec == .raw,
                p.data.readableBytes == Int(want.length)
            else {
                throw .integrity(
                    detail: "the server sent chunk \(p.digest) where \(want.digest) was expected")
            }
            out.append(Array(p.data.readableBytesView))
        }
        guard out.count == wanted.count else {
            throw .protocolViolation(detail: "GET_CHUNKS for \(wanted.count) chunks returned \(out.count)")
        }
        return out
    }

    /// The chunks of a `GET_CHUNKS` response, in order; a chunk the server lacks (absent or
    /// quarantined) fails the whole response.
    static func chunkPayloads(_ reply: Message.Chunks) throws(ClientError) -> [ChunkPayload] {
        if let m = reply.missing.first {
            throw .integrity(
                detail: "the server is missing chunk \(m) (absent or quarantined); "
                    + "the version is damaged — re-push it or run `trove scrub`")
        }
        return reply.chunks
    }
}
