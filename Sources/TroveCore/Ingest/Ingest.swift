/// Receives a segment's chunks during an ingest pass, in input order: the chunks (offsets in the
/// input), the segment's bytes, and the input offset where those bytes start (a chunk's bytes are
/// `bytes[offset - start ..< offset - start + length]`). Called on the thread that called
/// `Ingest.file`; the bytes are valid only during the call. The last argument holds the CRC-32C of
/// each chunk's bytes (``CRC32C/update(_:_:)`` from 0), in the chunks' order: taken with the
/// chunk's SHA-256 (in the same pass over the bytes when the CPU has the SHA extensions), so a
/// sink that checksums what it sends need not read the bytes again.
public typealias IngestSink = (
    UnsafeBufferPointer<ChunkRef>, UnsafeRawBufferPointer, UInt64, UnsafeBufferPointer<UInt32>
) -> Void

/// Read buffers an ingest pass borrows instead of allocating its own, for a sink that keeps
/// references to a segment's bytes after it returns (a push sends a large file's chunks straight
/// from the buffers they were read into). Called only on the thread running the pass.
public protocol IngestBufferSource: AnyObject {
    /// A buffer of `capacity` bytes that nobody else reads or writes until it is handed back.
    func take(capacity: Int) -> UnsafeMutablePointer<UInt8>
    /// Hands back a buffer from ``take(capacity:)``: the pass no longer writes it (whatever the
    /// sink kept of it must stay readable until the sink lets go).
    func recycle(_ buffer: UnsafeMutablePointer<UInt8>)
}

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
    ///   - formats: container formats whose structure forces boundaries (`BoundaryPlanner`); the
    ///     file's headers are read with `pread` before the sequential pass. `.none` is plain FastCDC.
    ///   - sink: sees every chunk with its bytes, in order, while the pass runs (``IngestSink``).
    ///   - buffers: with a sink, where the read buffers come from (``IngestBufferSource``); nil:
    ///     the pass allocates its own, and the sink must copy what it keeps.
    public static func file(
        at path: String, parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true, formats: FormatPolicy = .none, sink: IngestSink? = nil,
        buffers: IngestBufferSource? = nil
    ) throws(IngestError) -> IngestResult {
        try parameters.validateForIngest()
        let source = try FileByteSource(path: path)
        var plan = BoundaryPlan.plain
        if !formats.isNone {
            plan = try BoundaryPlanner.plan(
                FileRandomAccess(descriptor: source.descriptor, path: path), policy: formats)
        }
        return try run(
            source: source, parameters: parameters, threads: threads, bufferSize: bufferSize,
            blobDigest: blobDigest, plan: plan, sink: sink, buffers: buffers)
    }

    /// Ingests in-memory bytes through the same pipeline as `file` (they are copied into the
    /// pipeline's buffers in reads of at most `maxRead` bytes, to exercise short reads).
    public static func bytes(
        _ data: [UInt8], parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true, maxRead: Int = .max, formats: FormatPolicy = .none,
        sink: IngestSink? = nil, buffers: IngestBufferSource? = nil
    ) throws(IngestError) -> IngestResult {
        try parameters.validateForIngest()
        let plan = try BoundaryPlanner.plan(MemoryRandomAccess(data), policy: formats)
        return try run(
            source: MemoryByteSource(data, maxRead: maxRead), parameters: parameters, threads: threads,
            bufferSize: bufferSize, blobDigest: blobDigest, plan: plan, sink: sink, buffers: buffers)
    }

    /// Ingests any byte source through the parallel pipeline; `plan` forces boundaries (its cuts
    /// must be strictly increasing) and its format is reported in the result.
    public static func run<Source: ByteSource>(
        source: Source, parameters: ChunkerParameters = .default, threads: Int = 2,
        bufferSize: Int? = nil, blobDigest: Bool = true, plan: BoundaryPlan = .plain, sink: IngestSink? = nil,
        buffers: IngestBufferSource? = nil
    ) throws(IngestError) -> IngestResult {
        let chunker: FastCDC
        do { chunker = try FastCDC(parameters) } catch { throw .parameters(error) }
        let size = bufferSize ?? automaticBufferSize(parameters)
        guard size >= parameters.max else {
            throw .bufferTooSmall(bufferSize: size, maxChunk: parameters.max)
        }
        let pipeline = IngestPipeline(
            chunker: chunker, segmentSize: size, threads: Swift.max(1, threads), blobDigest: blobDigest, sink: sink,
            buffers: buffers)
        var result = try pipeline.run(source: source, cuts: plan.cuts)
        result.format = plan.format
        return result
    }

    /// The slow, obvious reference: reads the whole file into memory, then `serial(bytes:)`.
    public static func serial(
        at path: String, parameters: ChunkerParameters = .default, formats: FormatPolicy = .none
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
        return try serial(bytes: data, parameters: parameters, formats: formats)
    }

    /// The slow, obvious reference: `ReferenceFastCDC` over the whole input (or over each segment
    /// between the forced cuts `formats` finds), then one SHA-256 per chunk and one over
    /// everything, on the calling thread.
    public static func serial(
        bytes data: [UInt8], parameters: ChunkerParameters = .default, formats: FormatPolicy = .none
    ) throws(IngestError) -> IngestResult {
        let plan = try BoundaryPlanner.plan(MemoryRandomAccess(data), policy: formats)
        let lengths: [Int]
        do {
            lengths = try BoundaryPlanner.referenceLengths(of: data, cuts: plan.cuts, parameters: parameters)
        } catch {
            throw .parameters(error)
        }
        var chunks: [ChunkRef] = []
        var offset = 0
        for n in lengths {
            chunks.append(
                ChunkRef(offset: UInt64(offset), length: n, digest: SHA256.hash(data[offset..<offset + n])))
            offset += n
        }
        return IngestResult(
            size: UInt64(data.count), blobDigest: SHA256.hash(data), chunks: chunks, format: plan.format)
    }
}

extension ChunkerParameters {
    fileprivate func validateForIngest() throws(IngestError) {
        do { try validate() } catch { throw .parameters(error) }
    }
}
