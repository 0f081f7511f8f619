import Foundation
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// The segment writer takes a record's CRC-32C while it copies the record's bytes into its buffer
/// and writes the header after them; a record the buffer cannot hold whole (it straddles a write
/// of the buffer, or is larger than the buffer) takes the separate pass. Both must give every
/// record the CRC-32C of its stored bytes.
@Suite("Segment writer CRC-32C")
struct SegmentWriterCRCTests {
    @Test("every record's header carries its bytes' CRC-32C, whether the buffer held it whole or not")
    func recordCRCsOnBothPaths() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("segcrc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("p.pack").path
        let fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }

        // A 16 KiB buffer: records of 1 byte to 40 KiB land whole in it, straddle its end, or
        // are larger than all of it.
        let writer = SegmentWriter(bufferSize: 16 << 10)
        var rng = SplitMix64(seed: 77)
        let sizes = [1, 100, 4000, 12_000, 16_300, 5000, 40_000, 3, 16_384, 8192, 9000, 700]
        let records = sizes.map { n -> VerifiedChunk in
            let bytes = SplitMix64.bytes(seed: rng.next(), count: n)
            return VerifiedChunk(digest: SHA256.hash(bytes), codec: .raw, rawLength: n, stored: bytes)
        }
        var end = PackFormat.headerSize
        var written: [(VerifiedChunk, PackEntry)] = []
        for batch in [Array(records[0..<5]), Array(records[5...])] {
            let r = try writer.append(batch, fd: fd, path: path, start: end)
            written += zip(batch, r.entries)
            end = r.end
        }
        let file = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(file.count == end)
        #expect(written.count == sizes.count)
        for (record, entry) in written {
            let header = file[entry.offset..<(entry.offset + PackFormat.recordHeaderSize)]
            let start = entry.offset + PackFormat.recordHeaderSize
            let stored = file[start..<(start + entry.storedLength)]
            #expect(Array(stored) == record.stored.array)
            let matches = header.withUnsafeBytes { h in
                stored.withUnsafeBytes { s in
                    PackFormat.recordMatches(header: h, stored: s, entry, field: record.digest, checkCRC: true)
                }
            }
            #expect(matches, "record of \(entry.storedLength) bytes at \(entry.offset)")
            let declared = header.withUnsafeBytes { UInt32(bigEndian: $0.loadUnaligned(fromByteOffset: 45, as: UInt32.self)) }
            #expect(declared == CRC32C.checksum(record.stored.array))
        }
    }
}
