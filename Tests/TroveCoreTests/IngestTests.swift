import Foundation
import Testing

@testable import TroveCore

/// Inputs for comparing the fast paths against the reference.
struct IngestInput: CustomTestStringConvertible, Sendable {
    let name: String
    let bytes: [UInt8]
    var testDescription: String { "\(name) (\(bytes.count) bytes)" }

    static let p = ChunkerParameters.default
    static let all: [IngestInput] = [
        IngestInput(name: "empty", bytes: []),
        IngestInput(name: "one byte", bytes: [7]),
        IngestInput(name: "small", bytes: TestInput.random.bytes(seed: 11, count: 1000)),
        IngestInput(name: "min - 1", bytes: TestInput.random.bytes(seed: 12, count: p.min - 1)),
        IngestInput(name: "exactly min", bytes: TestInput.random.bytes(seed: 13, count: p.min)),
        IngestInput(name: "min + 1", bytes: TestInput.random.bytes(seed: 14, count: p.min + 1)),
        IngestInput(name: "exactly max", bytes: TestInput.random.bytes(seed: 15, count: p.max)),
        IngestInput(name: "max + 1", bytes: TestInput.random.bytes(seed: 16, count: p.max + 1)),
        IngestInput(name: "zeros", bytes: TestInput.zeros.bytes(seed: 0, count: 3 * p.max + 12345)),
        IngestInput(name: "text", bytes: TestInput.text.bytes(seed: 17, count: 3_000_001)),
        IngestInput(name: "periodic", bytes: TestInput.periodic.bytes(seed: 18, count: 1_500_000)),
        IngestInput(name: "random", bytes: TestInput.random.bytes(seed: 19, count: 9_437_185)),
    ]
}

@Suite("Ingest pipeline")
struct IngestTests {
    @Test("parallel pipeline equals the serial reference", arguments: IngestInput.all)
    func parallelEqualsSerial(_ input: IngestInput) throws {
        let expected = try Ingest.serial(bytes: input.bytes)
        #expect(expected.blobDigest == SHA256.hash(input.bytes))
        #expect(expected.size == UInt64(input.bytes.count))
        let max = ChunkerParameters.default.max
        let configs: [(threads: Int, buffer: Int?, read: Int)] = [
            (1, nil, .max), (2, nil, .max), (2, max, .max), (2, max + 1, 4093), (3, 1 << 20, .max),
            (4, 2 * max - 1, 100_000),
        ]
        for c in configs {
            let got = try Ingest.bytes(input.bytes, threads: c.threads, bufferSize: c.buffer, maxRead: c.read)
            #expect(
                got == expected, "threads \(c.threads) buffer \(String(describing: c.buffer)) read \(c.read)")
        }
        #expect(try input.bytes.withUnsafeBytes { try Ingest.inPlace($0) } == expected, "in place")
    }

    @Test("streaming chunker equals one-shot", arguments: IngestInput.all)
    func streamingEqualsOneShot(_ input: IngestInput) throws {
        let oneShot = try FastCDC().lengths(of: input.bytes)
        for buffer in [ChunkerParameters.default.max, 300_001, 4 << 20] {
            let chunker = try StreamingChunker(
                source: MemoryByteSource(input.bytes, maxRead: 70_000), bufferSize: buffer)
            var lengths: [Int] = []
            var offset: UInt64 = 0
            while let c = try chunker.next() {
                #expect(c.offset == offset)
                lengths.append(c.bytes.count)
                offset += UInt64(c.bytes.count)
            }
            #expect(lengths == oneShot, "buffer \(buffer)")
        }
    }

    @Test func chunksTileTheInput() throws {
        let data = TestInput.random.bytes(seed: 5, count: 2_000_000)
        let r = try Ingest.bytes(data)
        var offset: UInt64 = 0
        for c in r.chunks {
            #expect(c.offset == offset)
            #expect(c.length > 0 && c.length <= ChunkerParameters.default.max)
            let start = Int(c.offset)
            #expect(c.digest == SHA256.hash(data[start..<start + c.length]))
            offset += UInt64(c.length)
        }
        #expect(offset == r.size)
    }

    @Test("a sink sees every chunk, in order, with its bytes and CRC-32C", arguments: [1, 2, 3], [true, false])
    func sinkSeesEveryChunkWithItsBytes(threads: Int, blobDigest: Bool) throws {
        let data = TestInput.random.bytes(seed: 6, count: 3_000_000) + [UInt8](repeating: 0, count: 1_000_000)
        var seen: [ChunkRef] = []
        var bytesMatch = true
        var crcsMatch = true
        let r = try Ingest.bytes(
            data, threads: threads, bufferSize: 1 << 20, blobDigest: blobDigest, maxRead: 100_000
        ) { chunks, bytes, start, crcs in
            for (c, crc) in zip(chunks, crcs) {
                let at = Int(c.offset - start)
                let expected = Array(data[Int(c.offset)..<Int(c.offset) + c.length])
                bytesMatch = bytesMatch && Array(bytes[at..<at + c.length]) == expected
                crcsMatch = crcsMatch && crc == CRC32C.checksum(expected)
                seen.append(c)
            }
            crcsMatch = crcsMatch && crcs.count == chunks.count
        }
        #expect(seen == r.chunks)
        #expect(bytesMatch)
        #expect(crcsMatch)
    }

    /// Lends fresh buffers and keeps every one it gets back (the test reads them after the pass).
    final class KeepingBufferSource: IngestBufferSource {
        var lent: Set<UnsafeMutablePointer<UInt8>> = []
        var returned: [UnsafeMutablePointer<UInt8>] = []
        func take(capacity: Int) -> UnsafeMutablePointer<UInt8> {
            let b = UnsafeMutablePointer<UInt8>.allocate(capacity: capacity)
            b.initialize(repeating: 0xA5, count: capacity)
            lent.insert(b)
            return b
        }
        func recycle(_ buffer: UnsafeMutablePointer<UInt8>) {
            if lent.remove(buffer) != nil { returned.append(buffer) }
        }
        deinit { for b in returned { b.deallocate() } }
    }

    @Test("with lent read buffers a sink may keep the chunks' bytes in place", arguments: [1, 2, 3])
    func lentBuffersKeepTheChunksBytes(threads: Int) throws {
        let data = TestInput.random.bytes(seed: 7, count: 5_000_000) + TestInput.text.bytes(seed: 7, count: 1_000_000)
        let source = KeepingBufferSource()
        var kept: [(ChunkRef, UnsafeRawPointer)] = []
        let r = try Ingest.bytes(
            data, threads: threads, bufferSize: 1 << 20, blobDigest: false, maxRead: 300_000,
            sink: { chunks, bytes, start, _ in
                for c in chunks { kept.append((c, bytes.baseAddress! + Int(c.offset - start))) }
            }, buffers: source)
        // Every buffer went back, and what the sink pointed at is still each chunk's bytes: the
        // pass never wrote a buffer it had handed back.
        #expect(source.lent.isEmpty)
        #expect(source.returned.count > 6)
        #expect(kept.map(\.0) == r.chunks)
        let mismatched = kept.filter { c, p in
            Array(UnsafeRawBufferPointer(start: p, count: c.length)) != Array(data[Int(c.offset)..<Int(c.offset) + c.length])
        }
        #expect(mismatched.isEmpty)
        #expect(r.chunks == (try Ingest.serial(bytes: data)).chunks)
    }

    @Test func skippingTheBlobDigestKeepsChunks() throws {
        let data = TestInput.text.bytes(seed: 8, count: 1_000_000)
        let full = try Ingest.bytes(data)
        let noBlob = try Ingest.bytes(data, blobDigest: false)
        #expect(noBlob.blobDigest == .zero)
        #expect(noBlob.chunks == full.chunks)
        // Without the blob digest, chunks are hashed two at a time: the same digests as the
        // serial reference, on any number of threads.
        let random = TestInput.random.bytes(seed: 9, count: 3_000_001)
        let serial = try Ingest.serial(bytes: random)
        for threads in [1, 2, 3] {
            #expect(try Ingest.bytes(random, threads: threads, blobDigest: false).chunks == serial.chunks)
        }
    }

    @Test func fileIngestEqualsSerialAndSha256OfFile() throws {
        let data = TestInput.random.bytes(seed: 77, count: 5_000_003)
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("trove-ingest-\(UUID()).bin")
            .path
        try Data(data).write(to: URL(fileURLWithPath: path))
        defer { try? FileManager.default.removeItem(atPath: path) }
        let serial = try Ingest.serial(at: path)
        #expect(serial == (try Ingest.serial(bytes: data)))
        for threads in [1, 2, 3] {
            #expect(try Ingest.file(at: path, threads: threads) == serial)
        }
        #expect(serial.blobDigest == SHA256.hash(data))
    }

    @Test func missingFileErrorNamesTheFile() {
        let path = "/nonexistent/trove-\(UUID()).bin"
        #expect(throws: IngestError.open(path: path, errno: ENOENT)) { try Ingest.file(at: path) }
        let message = IngestError.open(path: path, errno: ENOENT).description
        #expect(message.contains(path) && message.contains("No such file or directory"))
    }

    @Test func directoryReadErrorNamesTheFile() {
        let dir = FileManager.default.temporaryDirectory.path
        #expect(throws: IngestError.read(path: dir, errno: EISDIR)) { try Ingest.file(at: dir) }
    }

    @Test func badParametersAndBuffersAreRefused() {
        let bad = ChunkerParameters(min: 8, avg: 64, max: 128)
        #expect(throws: IngestError.self) { try Ingest.bytes([1, 2, 3], parameters: bad) }
        #expect(throws: IngestError.bufferTooSmall(bufferSize: 1000, maxChunk: 262_144)) {
            try Ingest.bytes([1, 2, 3], bufferSize: 1000)
        }
        #expect(throws: IngestError.bufferTooSmall(bufferSize: 1000, maxChunk: 262_144)) {
            try StreamingChunker(source: MemoryByteSource([]), bufferSize: 1000)
        }
    }

    @Test func splitMix64MatchesTheReferenceStream() {
        // First outputs for seed 0, from the SplitMix64 reference (Vigna).
        var g = SplitMix64(seed: 0)
        #expect(g.next() == 0xE220_A839_7B1D_CDAF)
        #expect(g.next() == 0x6E78_9E6A_A1B9_65F4)
        // Bytes are the little-endian outputs, truncated.
        var h = SplitMix64(seed: 9)
        let first = h.next()
        let bytes = SplitMix64.bytes(seed: 9, count: 5)
        #expect(bytes == (0..<5).map { UInt8(truncatingIfNeeded: first >> (8 * UInt64($0))) })
        #expect(TestInput.text.bytes(seed: 1, count: 100).allSatisfy { "etaoinshrdlucmfw".utf8.contains($0) })
        let periodic = TestInput.periodic.bytes(seed: 3, count: 2500)
        #expect(Array(periodic[1000..<2000]) == Array(periodic[0..<1000]))
        #expect(Array(periodic[0..<1000]) == SplitMix64.bytes(seed: 3, count: 1000))
    }
}
