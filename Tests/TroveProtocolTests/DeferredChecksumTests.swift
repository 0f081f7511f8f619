import NIOCore
import Testing
import TroveCore
import TroveProtocol

/// Frames whose checksum is checked after decoding with the chunks' CRC-32Cs
/// (``Frame/checkDeferredChecksum(of:)``, the fast path) against the check on receipt
/// (``Frame/parse(_:maxPayload:deferringChecksumOf:)`` without deferral, the slow path).
@Suite("Deferred frame checksums")
struct DeferredChecksumTests {
    static func chunk(_ rng: inout SplitMix64) -> ChunkPayload {
        let n = Int.random(in: 1...40_000, using: &rng)
        let bytes = (0..<n).map { _ in UInt8.random(in: 0...255, using: &rng) }
        return ChunkPayload(digest: SHA256.hash(bytes), rawLength: UInt32(n), codec: .raw, data: ByteBuffer(bytes: bytes))
    }

    /// A PUT_CHUNKS or BLOB_CHUNKS frame (with stored references among its chunks), encoded.
    static func frame(_ rng: inout SplitMix64) -> (bytes: [UInt8], chunks: [[UInt8]]) {
        let lease = LeaseID(high: rng.next(), low: rng.next())
        var chunks: [ChunkPayload] = []
        let message: Message
        if Bool.random(using: &rng) {
            chunks = (0..<Int.random(in: 0...6, using: &rng)).map { _ in chunk(&rng) }
            message = .putChunks(.init(lease: lease, chunks: chunks))
        } else {
            var entries: [StreamChunk] = []
            for _ in 0..<Int.random(in: 0...6, using: &rng) {
                if Bool.random(using: &rng) {
                    let c = chunk(&rng)
                    chunks.append(c)
                    entries.append(.data(c))
                } else {
                    entries.append(.stored(digest: SHA256.hash([UInt8(entries.count)]), rawLength: 77))
                }
            }
            message = .blobChunks(.init(lease: lease, stream: 3, position: rng.next() % 1000, chunks: entries))
        }
        var b = ByteBuffer()
        Envelope(message, requestID: UInt32(truncatingIfNeeded: rng.next())).write(into: &b)
        return (Array(b.readableBytesView), chunks.map { Array($0.data.readableBytesView) })
    }

    enum Verdict: Equatable {
        case accepted(Message)
        case refused
    }

    /// The slow path: checked on receipt, then decoded.
    static func slow(_ bytes: [UInt8]) -> Verdict {
        var b = ByteBuffer(bytes: bytes)
        guard let f = try? Frame.parse(&b, maxPayload: 1 << 24), let m = try? f.message() else { return .refused }
        return .accepted(m)
    }

    /// The fast path: decoded, then checked with the chunks' CRC-32Cs; also returns those.
    static func fast(_ bytes: [UInt8]) -> (Verdict, [UInt32]?) {
        var b = ByteBuffer(bytes: bytes)
        guard let f = try? Frame.parse(&b, maxPayload: 1 << 24, deferringChecksumOf: Frame.chunkCarrying),
            f.uncheckedChecksum != nil, let m = try? f.message()
        else { return (.refused, nil) }
        do { return (.accepted(m), try f.checkDeferredChecksum(of: m)) } catch { return (.refused, nil) }
    }

    @Test func fastPathAcceptsAndRefusesWhatTheSlowPathDoes() {
        var rng = SplitMix64(seed: 12)
        for round in 0..<300 {
            let (bytes, chunks) = Self.frame(&rng)
            let (verdict, crcs) = Self.fast(bytes)
            #expect(verdict == Self.slow(bytes), "round \(round)")
            #expect(verdict != .refused, "round \(round)")
            #expect((crcs ?? []) == chunks.map { CRC32C.checksum($0) }, "round \(round)")
            // One corrupted byte anywhere after the length and type (which would change the framing).
            var bad = bytes
            let at = Int.random(in: 5..<bad.count, using: &rng)
            bad[at] ^= UInt8.random(in: 1...255, using: &rng)
            #expect(Self.slow(bad) == .refused, "round \(round), byte \(at)")
            #expect(Self.fast(bad).0 == .refused, "round \(round), byte \(at)")
        }
    }

    @Test func spansThatAreNotSlicesOfThePayloadAreReadLikeTheRest() throws {
        var rng = SplitMix64(seed: 13)
        let c = Self.chunk(&rng)
        var b = ByteBuffer()
        Envelope(.putChunks(.init(lease: LeaseID(high: 1, low: 2), chunks: [c])), requestID: 9).write(into: &b)
        let f = try #require(try Frame.parse(&b, maxPayload: 1 << 24, deferringChecksumOf: [.putChunks]))
        // A copy of the chunk's bytes, with a wrong CRC: not a slice, so not trusted.
        try f.checkDeferredChecksum(spans: [(ByteBuffer(bytes: Array(c.data.readableBytesView)), 0xDEAD_BEEF)])
        try f.checkDeferredChecksum(spans: [])
        // A frame checked on receipt has nothing left to check.
        var again = ByteBuffer()
        Envelope(.putChunks(.init(lease: LeaseID(high: 1, low: 2), chunks: [c])), requestID: 9).write(into: &again)
        let checked = try #require(try Frame.parse(&again, maxPayload: 1 << 24))
        #expect(checked.uncheckedChecksum == nil)
        #expect(try checked.checkDeferredChecksum(of: checked.message()) == nil)
    }
}
