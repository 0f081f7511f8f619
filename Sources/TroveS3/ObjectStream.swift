import NIOCore
import TroveCore
import TroveStore

/// GetObject's body: the bytes `start..<end` of a blob, read and written in batches of at most
/// ``batchBytes`` (unless one chunk is larger), the next batch read on a worker while the
/// current one is written (the channel's backpressure paces both). Each batch's records are
/// read in runs (`Store.visitStoredChunks`: direct reads of neighbouring records at once, the
/// records passed in place), each chunk decoded (a raw one copied) once, straight into the
/// response buffer (``ResponseBuffers``: reused memory), and its SHA-256 checked there (two
/// chunks at a time, interleaved) before the buffer is written. The records' CRC-32C is not
/// computed: the SHA-256 of every chunk served covers the same bytes and more.
struct ObjectStream {
    /// One chunk's share of the range: bytes `from..<to` of chunk `digest`.
    struct Piece {
        var digest: Digest
        var length: Int
        var from: Int
        var to: Int
    }

    static let batchBytes = 4 << 20

    /// The pieces of `recipe` covering `start..<end`, in batches of at most ``batchBytes``
    /// bytes (a batch of one piece may be larger).
    static func batches(_ recipe: IndexedRecipe, start: UInt64, end: UInt64) -> [[Piece]] {
        var out: [[Piece]] = []
        var batch: [Piece] = []
        var bytes = 0
        var i = recipe.firstChunk(endingAfter: start)
        while i < recipe.chunks.count {
            let c = recipe.chunks[i]
            let cEnd = recipe.ends[i]
            let offset = cEnd - UInt64(c.length)
            i += 1
            if offset >= end { break }
            let from = Int(max(start, offset) - offset)
            let to = Int(min(end, cEnd) - offset)
            if !batch.isEmpty && bytes + to - from > batchBytes {
                out.append(batch)
                batch = []
                bytes = 0
            }
            batch.append(Piece(digest: c.digest, length: Int(c.length), from: from, to: to))
            bytes += to - from
        }
        if !batch.isEmpty { out.append(batch) }
        return out
    }

    /// The bytes of `pieces`, each chunk verified against its digest (blocking: on a worker), in
    /// a buffer from ``ResponseBuffers``.
    static func read(_ pieces: [Piece], from store: Store) throws -> ByteBuffer {
        var positions: [Int] = []
        positions.reserveCapacity(pieces.count)
        var total = 0
        for p in pieces {
            positions.append(total)
            total += p.to - p.from
        }
        var out = ResponseBuffers.allocator.buffer(capacity: total)
        let digests = pieces.map(\.digest)
        try out.writeWithUnsafeMutableBytes(minimumWritableBytes: total) { dst in
            var fill = BatchFill(pieces: pieces, positions: positions, dst: dst)
            var i = 0
            while i < pieces.count {
                let base = i
                let (n, missing) = try store.visitStoredChunks(
                    digests[i...], budget: batchBytes, checkCRC: false
                ) {
                    (k: Int, c: StoredChunkView) throws(StoreError) in try fill.place(base + k, c)
                }
                if let k = missing.first { throw StoreError.chunkNotFound(pieces[base + k].digest) }
                i += n
            }
            try fill.finish()
            return total
        }
        return out
    }
}

/// Fills one batch's buffer: decodes each chunk into its place and, once all are placed, checks
/// the SHA-256 of what landed there, two chunks at a time on two lanes (`SHA256Pair.digests`). A
/// piece that is only part of its chunk (at the ends of a range) is decoded into scratch memory,
/// checked whole, and its part copied.
struct BatchFill {
    let pieces: [ObjectStream.Piece]
    let positions: [Int]
    let dst: UnsafeMutableRawBufferPointer
    let pair = SHA256Pair()
    let decompressor = ChunkDecompressor()
    /// The whole chunks decoded in place, to be checked at ``finish()``: their pieces and bytes.
    var placed: [Int] = []
    var placedBytes: [UnsafeRawBufferPointer] = []
    var filled = 0

    init(pieces: [ObjectStream.Piece], positions: [Int], dst: UnsafeMutableRawBufferPointer) {
        self.pieces = pieces
        self.positions = positions
        self.dst = dst
    }

    mutating func place(_ i: Int, _ c: StoredChunkView) throws(StoreError) {
        let p = pieces[i]
        guard c.rawLength == p.length else {
            throw .corruptData(
                what: "chunk \(p.digest)", detail: "\(c.rawLength) bytes, the recipe says \(p.length)")
        }
        filled += 1
        if p.from == 0 && p.to == p.length {
            let target = UnsafeMutableRawBufferPointer(rebasing: dst[positions[i]..<positions[i] + p.length])
            do { try decompressor.decompress(c.bytes, codec: c.codec, into: target) } catch {
                throw .corruptData(what: "chunk \(p.digest)", detail: "\(error)")
            }
            placed.append(i)
            placedBytes.append(UnsafeRawBufferPointer(target))
            return
        }
        let r = UnsafeMutableRawBufferPointer.allocate(byteCount: p.length, alignment: 16)
        defer { r.deallocate() }
        do { try decompressor.decompress(c.bytes, codec: c.codec, into: r) } catch {
            throw .corruptData(what: "chunk \(p.digest)", detail: "\(error)")
        }
        try check(pair.hash(UnsafeRawBufferPointer(r), Self.none).0, i)
        UnsafeMutableRawBufferPointer(rebasing: dst[positions[i]..<positions[i] + p.to - p.from])
            .copyMemory(from: UnsafeRawBufferPointer(rebasing: r[p.from..<p.to]))
    }

    /// Checks the chunks placed whole; every piece must have been placed.
    mutating func finish() throws(StoreError) {
        for (i, got) in zip(placed, pair.digests(of: placedBytes)) { try check(got, i) }
        placed = []
        placedBytes = []
        guard filled == pieces.count else {
            throw .corruptData(
                what: "a GetObject batch", detail: "\(filled) of \(pieces.count) chunks were read")
        }
    }

    private static var none: UnsafeRawBufferPointer { UnsafeRawBufferPointer(start: nil, count: 0) }

    private func check(_ got: Digest, _ i: Int) throws(StoreError) {
        guard got == pieces[i].digest else {
            throw .corruptData(
                what: "chunk \(pieces[i].digest)", detail: "content does not hash to its digest")
        }
    }
}
