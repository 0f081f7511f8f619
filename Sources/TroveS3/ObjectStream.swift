import NIOCore
import TroveCore
import TroveStore

/// GetObject's body: the bytes `start..<end` of a blob, read and written in batches of about
/// ``batchBytes``, the next batch read on a worker while the current one is written (the
/// channel's backpressure paces both). Each batch reads its chunks' records in runs
/// (`Store.readStoredChunks`: direct reads of neighbouring records at once, CRC-32C checked),
/// decompresses what is compressed, checks every chunk's SHA-256 (two at a time, interleaved)
/// and copies the wanted bytes once, into the buffer the channel writes.
struct ObjectStream {
    /// One chunk's share of the range: bytes `from..<to` of chunk `digest`.
    struct Piece {
        var digest: Digest
        var length: Int
        var from: Int
        var to: Int
    }

    static let batchBytes = 4 << 20

    /// The pieces of `recipe` covering `start..<end`, in batches of about ``batchBytes``.
    static func batches(_ recipe: Recipe, start: UInt64, end: UInt64) -> [[Piece]] {
        var out: [[Piece]] = []
        var batch: [Piece] = []
        var bytes = 0
        var offset: UInt64 = 0
        for c in recipe.chunks {
            let cEnd = offset + UInt64(c.length)
            defer { offset = cEnd }
            if cEnd <= start { continue }
            if offset >= end { break }
            let from = Int(max(start, offset) - offset)
            let to = Int(min(end, cEnd) - offset)
            batch.append(Piece(digest: c.digest, length: Int(c.length), from: from, to: to))
            bytes += to - from
            if bytes >= batchBytes {
                out.append(batch)
                batch = []
                bytes = 0
            }
        }
        if !batch.isEmpty { out.append(batch) }
        return out
    }

    /// The bytes of `pieces`, each chunk verified against its digest (blocking: on a worker).
    static func read(_ pieces: [Piece], from store: Store) throws -> ByteBuffer {
        var out = ByteBufferAllocator().buffer(capacity: pieces.reduce(0) { $0 + $1.to - $1.from })
        let digests = pieces.map(\.digest)
        let pair = SHA256Pair()
        let dec = ChunkDecompressor()
        var i = 0
        while i < pieces.count {
            let stored = try store.readStoredChunks(digests[i...], budget: batchBytes)
            var raws: [[UInt8]] = []
            raws.reserveCapacity(stored.count)
            for (k, s) in stored.enumerated() {
                let p = pieces[i + k]
                guard let s else { throw StoreError.chunkNotFound(p.digest) }
                let raw = s.codec == .raw ? s.bytes : try dec.decompress(s.bytes, codec: s.codec, rawLength: s.rawLength)
                guard raw.count == p.length else {
                    throw StoreError.corruptData(what: "chunk \(p.digest)", detail: "\(raw.count) bytes, the recipe says \(p.length)")
                }
                raws.append(raw)
            }
            try verify(raws, digests[i..<i + raws.count], pair)
            for (k, raw) in raws.enumerated() {
                let p = pieces[i + k]
                out.writeBytes(raw[p.from..<p.to])
            }
            i += stored.count
        }
        return out
    }

    /// Checks each chunk's SHA-256 (two chunks per pass, interleaved).
    static func verify(_ raws: [[UInt8]], _ digests: ArraySlice<Digest>, _ pair: SHA256Pair) throws {
        let none = UnsafeRawBufferPointer(start: nil, count: 0)
        var k = 0
        while k < raws.count {
            let two = k + 1 < raws.count
            let (a, b) = raws[k].withUnsafeBytes { x in
                two ? raws[k + 1].withUnsafeBytes { y in pair.hash(x, y) } : pair.hash(x, none)
            }
            for (got, i) in two ? [(a, k), (b, k + 1)] : [(a, k)] where got != digests[digests.startIndex + i] {
                throw StoreError.corruptData(what: "chunk \(digests[digests.startIndex + i])", detail: "content does not hash to its digest")
            }
            k += 2
        }
    }
}
