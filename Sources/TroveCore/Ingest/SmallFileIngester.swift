import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ingests files that fit in one buffer on the calling thread: one `read`, FastCDC over the
/// bytes, a SHA-256 per chunk, and the blob digest — which for a file of one chunk (every file
/// below the minimum chunk size) is that chunk's digest, so such a file is hashed once.
///
/// `Ingest.file` starts worker threads and allocates a ring of multi-MiB segments per file: for a
/// directory of 20 000 files of a few KiB that set-up cost more than the work. Results are
/// identical to `Ingest.file` for the same parameters and format policy (tested against it).
///
/// Not thread-safe (it reuses one buffer and one hasher): one per thread.
public final class SmallFileIngester {
    /// Files larger than this are left to `Ingest.file` (`ingest` returns nil).
    public let limit: Int
    private let chunker: FastCDC
    private let buffer: UnsafeMutableRawBufferPointer
    private let hasher = SHA256()

    /// An ingester for files of at most `limit` bytes.
    public init(parameters: ChunkerParameters, limit: Int = 1 << 20) throws(IngestError) {
        do { try parameters.validate() } catch { throw .parameters(error) }
        do { chunker = try FastCDC(parameters) } catch { throw .parameters(error) }
        self.limit = Swift.max(0, limit)
        // One byte more than the limit tells a file that grew past it from one that did not.
        buffer = .allocate(byteCount: self.limit + 1, alignment: 16)
    }

    deinit { buffer.deallocate() }

    /// The bytes of the file the last `ingest` returned a result for; valid until the next call
    /// (they live in this ingester's buffer). A push uploads small files' chunks from them.
    public private(set) var content = UnsafeRawBufferPointer(start: nil, count: 0)

    /// Chunks and hashes the file at `path`; nil if it holds more than `limit` bytes.
    ///
    /// `expectedSize` (what a directory scan's `stat` said) saves the second `read` that would
    /// only find the end of the file: one `read` of `expectedSize + 1` bytes that returns exactly
    /// `expectedSize` has reached it. Any other count (the file grew or shrank since) reads on
    /// to the end as without it; the result is always the bytes actually read.
    public func ingest(path: String, formats: FormatPolicy = .none, expectedSize: Int? = nil) throws(IngestError)
        -> IngestResult?
    {
        let fd: FileDescriptor
        do { fd = try FileDescriptor.open(path, .readOnly, options: .closeOnExec, retryOnInterrupt: true) } catch {
            throw .open(path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        defer { try? fd.close() }
        var n = 0
        do {
            if let expectedSize, expectedSize >= 0, expectedSize < buffer.count {
                n = try fd.read(
                    fromAbsoluteOffset: 0, into: UnsafeMutableRawBufferPointer(rebasing: buffer[0...expectedSize]),
                    retryOnInterrupt: true)
            }
            if n != expectedSize {
                n += try fd.readFully(
                    fromAbsoluteOffset: Int64(n), into: UnsafeMutableRawBufferPointer(rebasing: buffer[n...]))
            }
        } catch {
            throw .read(path: path, errno: ((error as Error) as? Errno)?.rawValue ?? EIO)
        }
        content = UnsafeRawBufferPointer(start: nil, count: 0)
        guard n <= limit else { return nil }
        let data = UnsafeRawBufferPointer(rebasing: buffer[0..<n])
        // Container detection reads the bytes already in memory, not the file again.
        let plan = formats.isNone ? BoundaryPlan.plain : try BoundaryPlanner.plan(bytes: data, policy: formats)
        var result = chunk(data, cuts: plan.cuts)
        result.format = plan.format
        content = data
        return result
    }

    /// FastCDC between the forced `cuts` (as `IngestPipeline` places them), digests.
    private func chunk(_ data: UnsafeRawBufferPointer, cuts: [UInt64]) -> IngestResult {
        var chunks: [ChunkRef] = []
        var pos = 0
        var cutIndex = 0
        while pos < data.count {
            var limit = data.count - pos
            while cutIndex < cuts.count && cuts[cutIndex] <= UInt64(pos) { cutIndex += 1 }
            if cutIndex < cuts.count && cuts[cutIndex] - UInt64(pos) <= UInt64(limit) {
                limit = Int(cuts[cutIndex] - UInt64(pos))
            }
            let base = data.baseAddress!.assumingMemoryBound(to: UInt8.self)
            let n = chunker.cut(base + pos, count: limit)
            let digest = hasher.hash(UnsafeRawBufferPointer(rebasing: data[pos..<pos + n]))
            chunks.append(ChunkRef(offset: UInt64(pos), length: n, digest: digest))
            pos += n
        }
        let blob = chunks.count == 1 ? chunks[0].digest : hasher.hash(data)
        return IngestResult(size: UInt64(data.count), blobDigest: blob, chunks: chunks)
    }
}
