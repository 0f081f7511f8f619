import NIOCore
import Testing
import TroveCore
import TroveProtocol

/// ``ByteBufferPool``: reuse only of buffers nobody else references, within its bounds.
@Suite("Byte buffer pool")
struct ByteBufferPoolTests {
    static func storage(_ b: ByteBuffer) -> UnsafeRawPointer { b.withVeryUnsafeBytes { UnsafeRawPointer($0.baseAddress!) } }

    @Test("a buffer is reused only once the last reference to it outside the pool is gone")
    func reuseOnlyWhenUnreferenced() {
        let pool = ByteBufferPool(maxBuffers: 4, maxBytes: 1 << 20, minimumCapacity: 1024)
        var slice: ByteBuffer
        let first: UnsafeRawPointer
        do {
            var a = pool.take(capacity: 4096)
            a.writeBytes([1, 2, 3])
            first = Self.storage(a)
            slice = a.getSlice(at: 0, length: 3)!
            pool.recycle(a)
        }
        // A reader still holds a slice of the first buffer: a new one is allocated.
        var b = pool.take(capacity: 4096)
        #expect(Self.storage(b) != first)
        b.writeBytes([9, 9, 9])
        #expect(Array(slice.readableBytesView) == [1, 2, 3])
        pool.recycle(b)
        // The reader lets go: the first buffer comes back, empty (`b` is still held here).
        slice = ByteBuffer()
        let c = pool.take(capacity: 2000)
        #expect(Self.storage(c) == first)
        #expect(c.readableBytes == 0 && c.capacity >= 4096)
        // Too large for any kept buffer: a new one.
        #expect(pool.take(capacity: 100_000).capacity >= 100_000)
    }

    @Test("the pool keeps at most its count and bytes, and small buffers not at all")
    func bounds() {
        let pool = ByteBufferPool(maxBuffers: 2, maxBytes: 64 << 10, minimumCapacity: 1024)
        pool.recycle(ByteBuffer(repeating: 0, count: 100))
        #expect(pool.usage.buffers == 0)
        pool.recycle(ByteBufferAllocator().buffer(capacity: 128 << 10))
        #expect(pool.usage.buffers == 0)  // larger than the pool may hold
        for _ in 0..<3 { pool.recycle(ByteBufferAllocator().buffer(capacity: 8 << 10)) }
        #expect(pool.usage.buffers == 2 && pool.usage.bytes == 16 << 10)
        // A larger buffer displaces a smaller one nobody holds.
        pool.recycle(ByteBufferAllocator().buffer(capacity: 32 << 10))
        #expect(pool.usage.buffers == 2 && pool.usage.bytes == 40 << 10)
        // Below the minimum: a plain allocation, the pool untouched.
        _ = pool.take(capacity: 100)
        #expect(pool.usage.buffers == 2)
        #expect(pool.take(capacity: 20 << 10).capacity == 32 << 10)
        #expect(pool.usage.buffers == 1)
    }
}

/// ``ChunksFrameWriter`` against the message encoding of the same chunks.
@Suite("CHUNKS frame writer")
struct ChunksFrameWriterTests {
    @Test("frames written in place, data in any order, equal the encoded message", arguments: [false, true])
    func equalsTheMessageEncoding(pooled: Bool) throws {
        var rng = SplitMix64(seed: 21)
        let pool = pooled ? ByteBufferPool(maxBuffers: 2, maxBytes: 1 << 20, minimumCapacity: 0) : nil
        for round in 0..<60 {
            let codecs: [Codec] = [.raw, .zstd, .lz4]
            let payloads = (0..<Int(rng.next() % 12)).map { _ in
                var data = ByteBuffer(repeating: 0, count: Int(rng.next() % 5000))
                data.withUnsafeMutableReadableBytes { rng.fill($0) }
                var d = [UInt8](repeating: 0, count: 32)
                d.withUnsafeMutableBytes { rng.fill($0) }
                return ChunkPayload(
                    digest: Digest(bytes: d)!, rawLength: UInt32(rng.next() % 70_000),
                    codec: codecs[Int(rng.next() % 3)], data: data)
            }
            let missing = (0..<Int(rng.next() % 4)).map { i in SHA256.hash([UInt8(i), UInt8(truncatingIfNeeded: round)]) }
            let flags: FrameFlags = round % 3 == 0 ? [] : .more
            var want = ByteBuffer()
            Envelope(.chunks(.init(chunks: payloads, missing: missing)), requestID: UInt32(round), flags: flags)
                .write(into: &want)
            var writer = ChunksFrameWriter(
                requestID: UInt32(round), flags: flags,
                records: payloads.map {
                    .init(digest: $0.digest, rawLength: $0.rawLength, codec: $0.codec, length: $0.data.readableBytes)
                },
                missing: missing, pool: pool)
            for i in payloads.indices.shuffled(using: &rng) {
                // Some chunks come with their CRC-32C (folded into the frame's), some with the one
                // taken while they were copied in (as troved checks a record), the others without.
                switch rng.next() % 3 {
                case 0:
                    writer.withData(i) { out in payloads[i].data.withUnsafeReadableBytes { out.copyMemory(from: $0) } }
                case 1:
                    let crc = payloads[i].data.withUnsafeReadableBytes { CRC32C.update(0, $0) }
                    writer.withData(i, checksum: crc) { out in
                        payloads[i].data.withUnsafeReadableBytes { out.copyMemory(from: $0) }
                    }
                default:
                    let crc = writer.withData(i) { out in
                        payloads[i].data.withUnsafeReadableBytes { CRC32C.copy(0, from: $0, to: out) }
                    }
                    writer.setChecksum(i, crc)
                }
            }
            let frame = writer.finish()
            #expect(frame == want, "round \(round)")
            pool?.recycle(frame)
        }
    }

    @Test("the finished frame is the pooled buffer the data went into, not a copy")
    func finishWritesInPlace() throws {
        let pool = ByteBufferPool(maxBuffers: 1, maxBytes: 1 << 20, minimumCapacity: 0)
        pool.recycle(ByteBuffer(repeating: 0, count: 256 << 10))
        let data = [UInt8](repeating: 7, count: 200 << 10)
        let records = [ChunksFrameWriter.Record(digest: SHA256.hash(data), rawLength: 200 << 10, codec: .raw, length: data.count)]
        var writer = ChunksFrameWriter(requestID: 9, flags: [], records: records, missing: [], pool: pool)
        let start = writer.withData(0) { UInt(bitPattern: $0.baseAddress) }
        // As troved does: the data is written from inside a closure that captures the writer.
        let crc = data.withUnsafeBytes { CRC32C.update(0, $0) }
        [data].forEach { d in writer.withData(0, checksum: crc) { $0.copyBytes(from: d) } }
        let frame = writer.finish()
        let end = frame.withUnsafeReadableBytes { UInt(bitPattern: $0.baseAddress) } + UInt(Frame.headerSize + 4 + 41)
        #expect(end == start)
        var want = ByteBuffer()
        Envelope(
            .chunks(.init(chunks: [ChunkPayload(digest: records[0].digest, rawLength: 200 << 10, codec: .raw, data: ByteBuffer(bytes: data))], missing: [])),
            requestID: 9
        ).write(into: &want)
        #expect(frame == want)
    }
}
