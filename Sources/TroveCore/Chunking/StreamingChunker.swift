/// Splits a byte stream into FastCDC chunks in bounded memory: one buffer of `bufferSize` bytes
/// (at least the maximum chunk size), refilled as chunks are consumed. Cut points are the same
/// for any buffer size, and the same as `FastCDC.lengths(of:)` on the whole input.
///
/// Single-threaded; the ingest pipeline (`Ingest`) is the parallel path that also hashes.
/// Not generic on purpose: an unspecialized generic `next()` called from another module ran the
/// cut loop about 12 % slower; the source is only touched once per refill.
public final class StreamingChunker {
    private var source: any ByteSource
    private let chunker: FastCDC
    private let buffer: UnsafeMutablePointer<UInt8>
    private let capacity: Int
    private var start = 0  // first unconsumed byte in buffer
    private var end = 0  // one past the last valid byte
    private var offset: UInt64 = 0  // file offset of buffer[start]
    private var eof = false

    /// A chunker over `source`. `bufferSize` must be at least `parameters.max`.
    public init(source: some ByteSource, parameters: ChunkerParameters = .default, bufferSize: Int? = nil)
        throws(IngestError)
    {
        do { chunker = try FastCDC(parameters) } catch { throw .parameters(error) }
        let size = bufferSize ?? Ingest.automaticBufferSize(parameters)
        guard size >= parameters.max else {
            throw .bufferTooSmall(bufferSize: size, maxChunk: parameters.max)
        }
        self.source = source
        capacity = size
        buffer = .allocate(capacity: size)
    }

    deinit { buffer.deallocate() }

    /// The next chunk: its offset in the stream and its bytes (valid until the next call), or nil
    /// at the end of the stream.
    public func next() throws(IngestError) -> (offset: UInt64, bytes: UnsafeRawBufferPointer)? {
        if end - start < chunker.maxSize && !eof { try refill() }
        let available = end - start
        guard available > 0 else { return nil }
        let n = chunker.cut(buffer + start, count: available)
        let chunk = UnsafeRawBufferPointer(start: buffer + start, count: n)
        let chunkOffset = offset
        start += n
        offset += UInt64(n)
        return (chunkOffset, chunk)
    }

    /// Moves the unconsumed tail to the front and reads until the buffer is full or input ends.
    private func refill() throws(IngestError) {
        let tail = end - start
        if start > 0 {
            if tail > 0 { buffer.update(from: buffer + start, count: tail) }
            start = 0
            end = tail
        }
        while end < capacity && !eof {
            let n = try source.read(
                into: UnsafeMutableRawBufferPointer(start: buffer + end, count: capacity - end))
            if n == 0 { eof = true } else { end += n }
        }
    }
}
