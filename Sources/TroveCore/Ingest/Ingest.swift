/// One pass over an input that yields its chunks (offset, length, SHA-256) and its blob digest.
///
/// `file`/`bytes` run the parallel pipeline: the calling thread reads and finds boundaries, other
/// threads hash chunks and the blob (see `IngestPipeline`); `serial` is the slow, obvious
/// reference the pipeline is tested against. All produce identical results for the same input.
public enum Ingest {
    /// Buffer size used when none is given: 4 MiB, or twice the maximum chunk if that is larger.
    public static func automaticBufferSize(_ parameters: ChunkerParameters) -> Int {
        Swift.max(4 << 20, 2 * parameters.max)
    }

    /// Ingests the file at `path` in bounded memory (about four buffers of `bufferSize`).
    ///
    /// - Parameters:
    ///   - threads: threads in total, the calling thread included; 1 does everything inline.
    ///   - bufferSize: bytes per read buffer, at least `parameters.max`; nil picks automatically.
    ///   - blobDigest: false skips the whole-input digest (`IngestResult.blobDigest` is then zero).
    public static func file(
        at path: String, parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true
    ) throws(IngestError) -> IngestResult {
        try parameters.validateForIngest()
        let source = try FileByteSource(path: path)
        return try run(
            source: source, parameters: parameters, threads: threads, bufferSize: bufferSize,
            blobDigest: blobDigest)
    }

    /// Ingests in-memory bytes through the same pipeline as `file` (they are copied into the
    /// pipeline's buffers in reads of at most `maxRead` bytes, to exercise short reads).
    public static func bytes(
        _ data: [UInt8], parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true, maxRead: Int = .max
    ) throws(IngestError) -> IngestResult {
        try parameters.validateForIngest()
        return try run(
            source: MemoryByteSource(data, maxRead: maxRead), parameters: parameters, threads: threads,
            bufferSize: bufferSize, blobDigest: blobDigest)
    }

    /// Ingests any byte source through the parallel pipeline.
    public static func run<Source: ByteSource>(
        source: Source, parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true
    ) throws(IngestError) -> IngestResult {
        let chunker: FastCDC
        do { chunker = try FastCDC(parameters) } catch { throw .parameters(error) }
        let size = bufferSize ?? automaticBufferSize(parameters)
        guard size >= parameters.max else {
            throw .bufferTooSmall(bufferSize: size, maxChunk: parameters.max)
        }
        let pipeline = IngestPipeline(
            chunker: chunker, segmentSize: size, threads: Swift.max(1, threads), blobDigest: blobDigest)
        return try pipeline.run(source: source)
    }

    /// The slow, obvious reference: reads the whole file into memory, then `serial(bytes:)`.
    public static func serial(
        at path: String, parameters: ChunkerParameters = .default
    ) throws(IngestError) -> IngestResult {
        let source = try FileByteSource(path: path)
        var data: [UInt8] = []
        let block = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 20, alignment: 16)
        defer { block.deallocate() }
        while true {
            let n = try source.read(into: block)
            if n == 0 { break }
            data.append(contentsOf: block[0..<n])
        }
        return try serial(bytes: data, parameters: parameters)
    }

    /// The slow, obvious reference: `ReferenceFastCDC` over the whole input, then one SHA-256 per
    /// chunk and one over everything, on the calling thread.
    public static func serial(
        bytes data: [UInt8], parameters: ChunkerParameters = .default
    ) throws(IngestError) -> IngestResult {
        let lengths: [Int]
        do { lengths = try ReferenceFastCDC.lengths(of: data, parameters: parameters) } catch {
            throw .parameters(error)
        }
        var chunks: [ChunkRef] = []
        var offset = 0
        for n in lengths {
            chunks.append(
                ChunkRef(offset: UInt64(offset), length: n, digest: SHA256.hash(data[offset..<offset + n])))
            offset += n
        }
        return IngestResult(size: UInt64(data.count), blobDigest: SHA256.hash(data), chunks: chunks)
    }
}

extension ChunkerParameters {
    fileprivate func validateForIngest() throws(IngestError) {
        do { try validate() } catch { throw .parameters(error) }
    }
}
