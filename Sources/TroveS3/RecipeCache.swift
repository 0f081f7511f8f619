import Synchronization
import TroveCore
import TroveStore

/// A blob's recipe with each chunk's end offset, to find the chunks of a range by binary search.
final class IndexedRecipe: Sendable {
    let chunks: [RecipeChunk]
    /// `ends[i]`: the offset just past chunk `i` in the blob.
    let ends: [UInt64]

    init(_ recipe: Recipe) {
        chunks = recipe.chunks
        var ends: [UInt64] = []
        ends.reserveCapacity(recipe.chunks.count)
        var offset: UInt64 = 0
        for c in recipe.chunks {
            offset += UInt64(c.length)
            ends.append(offset)
        }
        self.ends = ends
    }

    /// The index of the first chunk that ends after `offset` (`chunks.count` if none).
    func firstChunk(endingAfter offset: UInt64) -> Int {
        var lo = 0
        var hi = ends.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if ends[mid] <= offset { lo = mid + 1 } else { hi = mid }
        }
        return lo
    }
}

/// Recipes of blobs read lately. A client downloading a large object sends one ranged GET per
/// part (the aws CLI: 8 MiB parts, 128 GETs per GiB); without this each GET read, verified and
/// decoded the whole recipe again (about 600 KB for a GiB of 64 KiB chunks). A blob's recipe
/// never changes (both are content-addressed), so an entry never goes stale; at most
/// ``maxChunks`` chunk entries are kept (about 11 MB), the least recently used dropped first.
final class RecipeCache: Sendable {
    static let maxChunks = 1 << 18

    private struct Entry {
        var recipe: IndexedRecipe
        var used: UInt64
    }

    private struct State {
        var entries: [Digest: Entry] = [:]
        var chunks = 0
        var clock: UInt64 = 0
    }

    private let state = Mutex(State())

    /// The recipe of `blob`, from the cache or from `load` (nil: no recipe, not cached).
    func recipe(_ blob: Digest, load: () throws -> Recipe?) rethrows -> IndexedRecipe? {
        let hit = state.withLock { s -> IndexedRecipe? in
            s.clock += 1
            guard var e = s.entries[blob] else { return nil }
            e.used = s.clock
            s.entries[blob] = e
            return e.recipe
        }
        if let hit { return hit }
        guard let loaded = try load() else { return nil }
        let indexed = IndexedRecipe(loaded)
        let n = indexed.chunks.count
        guard n <= Self.maxChunks else { return indexed }
        state.withLock { s in
            guard s.entries[blob] == nil else { return }
            while s.chunks + n > Self.maxChunks,
                let old = s.entries.min(by: { $0.value.used < $1.value.used })
            {
                s.chunks -= old.value.recipe.chunks.count
                s.entries[old.key] = nil
            }
            s.clock += 1
            s.entries[blob] = Entry(recipe: indexed, used: s.clock)
            s.chunks += n
        }
        return indexed
    }
}
