import Foundation
import TroveCore

/// What an upload session already knows when it commits (`UploadSession.commit`), so that
/// `Store.commit` does not look it up, read it or encode it a second time. Every field is
/// optional: an empty value means "find out".
struct CommitHints {
    /// Every blob of the tree that is committed → its size (the caller's one read of `blobs`
    /// for all the tree's blobs); nil: look them up.
    var committedSizes: [Digest: UInt64]?
    /// The tree's canonical bytes (they hash to the tree digest) and whether the tree was
    /// validated (decoded from them when it was staged).
    var tree: (bytes: [UInt8], validated: Bool)?
    /// Objects this session wrote durably ahead of the commit (object files): kept where they
    /// are when they still exist, not encoded and read back again.
    var stagedFiles: Set<Digest> = []
    /// Blob → object digest of its recipe's canonical bytes, where the caller has it.
    var recipeObjects: [Digest: Digest] = [:]
    /// Recipe rows this session wrote (object digest → the GC epoch their transaction saw): the
    /// final transaction leaves such a row as it is when the epoch has not moved since (nothing
    /// deleted a row in between), instead of writing the same bytes again.
    var stagedRows: [Digest: Int64] = [:]
    /// Chunk digest → its index entry, for chunks the session looked up when it staged their
    /// one-chunk recipes (`StagedDecoded.checked`): not looked up again. Their blobs are not
    /// in `committedSizes` (not looked up either) and are committed as new ones.
    var checkedChunks: [Digest: IndexedChunk] = [:]
    /// The earliest GC epoch read before those lookups: the commit's final transaction re-checks
    /// everything if a GC deleted anything since (nil: none).
    var checkedEpoch: Int64?
    /// The chunks this session stored (``SessionChunks``): a recipe chunk found there with the
    /// length the recipe gives counts as checked, from `sessionChunks.epoch`, without a lookup
    /// (16 000 of them for a streamed GiB). Consulted in place, not copied into `checkedChunks`.
    var sessionChunks: SessionChunks?
    /// Implied one-chunk blobs (`UploadSession.PreparedCommit.implied`) handed over apart from
    /// the recipes (`StoreOptions.directRows`): blob → the file's size and its chunk's index
    /// entry (digest = blob digest, raw length = size, checked from `checkedEpoch`). Committed as
    /// new one-chunk recipes without a `Recipe` in the commit's maps of recipes and chunks.
    var implied: [Digest: (size: UInt64, chunk: IndexedChunk)] = [:]
}

/// A chunk's index entry as far as a commit needs it.
struct IndexedChunk {
    var rawLength: Int
    var touched: Int64
}

extension Store {
    /// Sizes of those of `blobs` that are committed, in one read.
    func committedBlobSizes(_ blobs: [Digest]) throws(StoreError) -> [Digest: UInt64] {
        guard !blobs.isEmpty else { return [:] }
        return try catalog.read { db in
            var out: [Digest: UInt64] = [:]
            let st = try db.cachedStatement(sql: "SELECT size FROM blobs WHERE blob = ?")
            for b in blobs {
                if let s = try Int64.fetchOne(st, arguments: [b.data]) { out[b] = UInt64(s) }
            }
            return out
        }
    }

    /// Raw length and `touched` time of those of `digests` that are indexed, in one read (in
    /// digest order: B-tree locality): a commit's presence check, the length check of its
    /// one-chunk blobs and which chunks its final transaction must touch, from one lookup each.
    func indexedChunks(_ digests: [Digest]) throws(StoreError) -> [Digest: IndexedChunk] {
        guard !digests.isEmpty else { return [:] }
        return try catalog.read { db in
            var out: [Digest: IndexedChunk] = [:]
            out.reserveCapacity(digests.count)
            let st = try db.cachedStatement(sql: "SELECT raw_len, touched FROM chunks WHERE digest = ?")
            for d in digests.sorted() {
                guard let row = try Row.fetchOne(st, arguments: [d.data]) else { continue }
                out[d] = IndexedChunk(rawLength: row[0], touched: row[1])
            }
            return out
        }
    }

    /// Verifies blobs that are one chunk whose digest is the blob digest (every file below the
    /// minimum chunk size) by the index alone (entries looked up by `indexedChunks`): an indexed
    /// chunk's bytes hashed to its digest when it was stored (`putChunks` verifies each; scrub
    /// re-checks), so the blob's bytes hash to the blob digest; its length must equal the recipe's.
    /// `entry`: a chunk's index entry as the commit knows it (nil: not indexed).
    func verifySingleChunkBlobs(_ recipes: [Recipe], entry: (Digest) -> IndexedChunk?) throws(StoreError) {
        for r in recipes {
            guard let entry = entry(r.blobDigest) else { throw .chunkNotFound(r.blobDigest) }
            guard entry.rawLength == Int(r.chunks[0].length) else {
                throw .invalidCommit(
                    "recipe for blob \(r.blobDigest) gives its only chunk length \(r.chunks[0].length), "
                        + "stored \(entry.rawLength)")
            }
        }
    }
}
