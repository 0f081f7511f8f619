import TroveCore

/// A file's chunks with their offsets (prefix sums of the recipe's lengths), for range lookups.
public struct FileLayout: Sendable {
    public let recipe: Recipe
    /// `offsets[i]` is where chunk `i` starts; `offsets[count]` is the file size.
    public let offsets: [UInt64]

    public init(_ recipe: Recipe) {
        self.recipe = recipe
        var o: [UInt64] = []
        o.reserveCapacity(recipe.chunks.count + 1)
        var at: UInt64 = 0
        for c in recipe.chunks {
            o.append(at)
            at += UInt64(c.length)
        }
        o.append(at)
        offsets = o
    }

    public var size: UInt64 { offsets[offsets.count - 1] }

    /// The index of the chunk holding byte `offset` (`offset < size`), by binary search.
    public func chunkIndex(containing offset: UInt64) -> Int {
        var lo = 0
        var hi = recipe.chunks.count - 1
        while lo < hi {
            let mid = (lo + hi + 1) / 2
            if offsets[mid] <= offset { lo = mid } else { hi = mid - 1 }
        }
        return lo
    }

    /// The chunk indexes overlapping the half-open byte interval (empty when it is empty or
    /// starts at or past the end).
    public func chunks(covering range: Range<UInt64>) -> Range<Int> {
        guard !range.isEmpty, range.lowerBound < size else { return 0..<0 }
        let first = chunkIndex(containing: range.lowerBound)
        let last = chunkIndex(containing: min(range.upperBound, size) - 1)
        return first..<(last + 1)
    }
}
