/// Ingest of bytes already in memory, in place: no copy into pipeline buffers, no threads.
extension Ingest {
    /// Chunks and hashes `data` where it lies: FastCDC between the forced cuts `formats` finds
    /// (the same chunks as ``file(at:parameters:threads:bufferSize:blobDigest:formats:)`` and
    /// ``serial(bytes:parameters:formats:)`` give), each chunk's SHA-256 and its share of the blob
    /// digest in one fused pass over its bytes (``SHA256Pair``), on the calling thread. For
    /// bodies a server already holds in memory (an S3 part): the parallel pipeline would copy
    /// them into its buffers and hand them between threads for no gain when many requests run
    /// at once.
    public static func inPlace(
        _ data: UnsafeRawBufferPointer, parameters: ChunkerParameters = .default, formats: FormatPolicy = .none
    ) throws(IngestError) -> IngestResult {
        let chunker: FastCDC
        do { chunker = try FastCDC(parameters) } catch { throw .parameters(error) }
        let plan = try BoundaryPlanner.plan(RawMemoryRandomAccess(data), policy: formats)
        let pair = SHA256Pair()
        var chunks: [ChunkRef] = []
        if let base = data.baseAddress?.assumingMemoryBound(to: UInt8.self) {
            chunks.reserveCapacity(data.count / Swift.max(1, parameters.avg) + 1)
            var pos = 0
            var cut = 0
            while pos < data.count {
                // FastCDC runs on each stretch between forced cuts as on a whole input.
                while cut < plan.cuts.count, plan.cuts[cut] <= UInt64(pos) { cut += 1 }
                let end = cut < plan.cuts.count ? Int(Swift.min(plan.cuts[cut], UInt64(data.count))) : data.count
                let n = chunker.cut(base + pos, count: end - pos)
                let digest = pair.digestAndAppend(UnsafeRawBufferPointer(start: base + pos, count: n))
                chunks.append(ChunkRef(offset: UInt64(pos), length: n, digest: digest))
                pos += n
            }
        }
        return IngestResult(
            size: UInt64(data.count), blobDigest: pair.finalizeRunning(), chunks: chunks, format: plan.format)
    }
}

/// Random access to bytes in memory the caller keeps alive and unchanged meanwhile.
public struct RawMemoryRandomAccess: RandomAccessReader {
    private let bytes: UnsafeRawBufferPointer
    public var size: UInt64 { UInt64(bytes.count) }

    /// Reads from `bytes`.
    public init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let start = Int(offset)
        let n = Swift.min(buffer.count, bytes.count - start)
        buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + start, byteCount: n)
        return n
    }
}
