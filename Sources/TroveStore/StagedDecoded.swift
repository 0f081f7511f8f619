import TroveCore

/// Objects an upload session staged (PUT_OBJECTS) kept decoded, so that its COMMIT does not read
/// them back, decode and hash them again: the recipes kept in the catalog and the last tree. Each
/// was verified when it was staged and written durably before PUT_OBJECTS was acknowledged; what
/// is here is only a copy. Bounded: recipes up to ``maxRecipeBytes`` canonical bytes per session,
/// one tree up to ``maxTreeBytes``; whatever does not fit is read back at COMMIT as before.
/// Guarded by `Store.uploads`, inside the session's `UploadState`.
struct StagedDecoded {
    /// Canonical bytes of recipes kept per session (a one-chunk recipe is ~80 bytes: ~100 000
    /// files; decoded, about three times that in memory).
    static let maxRecipeBytes = 8 << 20
    /// Largest tree kept (canonical bytes; a tree of 20 000 paths is ~1.5 MB). Per session, like
    /// the 48 MiB `StreamedBlobs` may hold: ≤ ~60 MiB of memory with the recipes.
    static let maxTreeBytes = 8 << 20

    /// Blob digest → its staged recipe, the recipe's object digest and canonical size, and for a
    /// catalog row the GC epoch its transaction saw (`CommitHints.stagedRows`).
    private(set) var recipes: [Digest: (recipe: Recipe, object: Digest, size: Int, rowEpoch: Int64?)] = [:]
    private var recipeBytes = 0
    /// The last tree staged: digest, canonical bytes, decoded.
    private(set) var tree: (digest: Digest, bytes: [UInt8], tree: Tree)?
    /// Kept one-chunk recipes (chunk digest = blob digest) whose chunk was indexed, with the
    /// recipe's length, when they were staged: blob → that index entry and the GC epoch read
    /// before the lookup (`CommitHints.checkedChunks`). A push sends such a recipe after its
    /// chunk, so its COMMIT need not look the chunk (nor whether the blob is committed) up again.
    private(set) var checked: [Digest: (chunk: IndexedChunk, epoch: Int64)] = [:]

    /// Keeps a staged recipe (stored as `object`) if it fits; `checked`: its chunk's index entry
    /// (a one-chunk recipe whose chunk was indexed with its length) and the epoch before the lookup.
    mutating func keep(
        _ recipe: Recipe, object: Digest, size: Int, rowEpoch: Int64?,
        checked check: (chunk: IndexedChunk, epoch: Int64)? = nil
    ) {
        if let old = recipes[recipe.blobDigest] {
            // Staged again (a resend): the newest row counts.
            recipes[recipe.blobDigest]?.rowEpoch = old.object == object ? rowEpoch : nil
            if old.object != object { checked[recipe.blobDigest] = nil }
            if old.object == object, let check { checked[recipe.blobDigest] = check }
            return
        }
        guard recipeBytes + size <= Self.maxRecipeBytes else { return }
        recipes[recipe.blobDigest] = (recipe, object, size, rowEpoch)
        recipeBytes += size
        if let check { checked[recipe.blobDigest] = check }
    }

    /// Keeps a staged tree (replacing the one kept before) if it fits.
    mutating func keep(tree: Tree, digest: Digest, bytes: [UInt8]) {
        guard bytes.count <= Self.maxTreeBytes else { return }
        self.tree = (digest, bytes, tree)
    }

    /// Forgets what a commit of `tree` with `blobs`' recipes registered; `keptUsed`: how many
    /// of those recipes it took from here (all of them: everything goes at once).
    mutating func forget(tree digest: Digest, blobs: [Digest], keptUsed: Int = -1) {
        if tree?.digest == digest { tree = nil }
        if keptUsed == recipes.count {
            recipes = [:]
            checked = [:]
            recipeBytes = 0
            return
        }
        for b in blobs {
            guard let r = recipes.removeValue(forKey: b) else { continue }
            recipeBytes -= r.size
            checked[b] = nil
        }
    }
}
