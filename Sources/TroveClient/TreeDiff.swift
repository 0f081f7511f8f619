import TroveCore
import TroveProtocol

/// The difference between two trees, by path. Files are compared by blob digest first; only the
/// recipes of changed files are fetched (in batches), to count the bytes they share through chunks.
public struct TreeDiff: Sendable {
    /// A path present in both trees with different content, kind, link target or mode.
    public struct Change: Sendable {
        public var path: String
        /// Entry kind in A and in B.
        public var kindBefore: TreeEntryKind
        public var kindAfter: TreeEntryKind
        public var sizeBefore: UInt64
        public var sizeAfter: UInt64
        /// Bytes of the B file made of chunks the A file also has (0 unless both are files).
        public var sharedBytes: UInt64
        /// Only the permission bits differ.
        public var modeOnly: Bool

        /// `sizeAfter - sizeBefore`.
        public var sizeChange: Int64 { Int64(bitPattern: sizeAfter &- sizeBefore) }
    }

    /// Entries only in B.
    public var added: [TreeEntry] = []
    /// Entries only in A.
    public var removed: [TreeEntry] = []
    /// Paths in both with different content.
    public var changed: [Change] = []
    /// Paths identical in both (same kind, blob or target, and mode).
    public var unchanged: [TreeEntry] = []

    /// Bytes of files in A and in B.
    public var bytesBefore: UInt64 = 0
    public var bytesAfter: UInt64 = 0

    /// Compares two trees. `recipes` is called once with the blobs of every changed file pair
    /// (both sides) and returns their recipes; it is not called when nothing changed.
    public static func compare(
        _ a: Tree, _ b: Tree, recipes: ([Digest]) throws(ClientError) -> [Digest: Recipe]
    ) throws(ClientError) -> TreeDiff {
        var d = TreeDiff()
        d.bytesBefore = a.totalSize
        d.bytesAfter = b.totalSize
        // Trees are sorted by path (canonical form): a merge walk is linear.
        let ea = a.entries.sorted { $0.path < $1.path }
        let eb = b.entries.sorted { $0.path < $1.path }
        var i = 0
        var j = 0
        var pairs: [(TreeEntry, TreeEntry)] = []
        while i < ea.count || j < eb.count {
            if j == eb.count || (i < ea.count && ea[i].path < eb[j].path) {
                d.removed.append(ea[i])
                i += 1
            } else if i == ea.count || eb[j].path < ea[i].path {
                d.added.append(eb[j])
                j += 1
            } else {
                let x = ea[i]
                let y = eb[j]
                i += 1
                j += 1
                if x.kind == y.kind && x.blob == y.blob && x.target == y.target && x.size == y.size {
                    if x.mode == y.mode {
                        d.unchanged.append(y)
                    } else {
                        d.changed.append(
                            Change(
                                path: y.path, kindBefore: x.kind, kindAfter: y.kind, sizeBefore: x.size,
                                sizeAfter: y.size, sharedBytes: y.kind == .file ? y.size : 0, modeOnly: true))
                    }
                } else {
                    pairs.append((x, y))
                }
            }
        }
        var blobs: [Digest] = []
        for (x, y) in pairs where x.kind == .file && y.kind == .file {
            if let bx = x.blob, x.size > 0 { blobs.append(bx) }
            if let by = y.blob, y.size > 0 { blobs.append(by) }
        }
        let fetched = blobs.isEmpty ? [:] : try recipes(blobs)
        for (x, y) in pairs {
            var shared: UInt64 = 0
            if x.kind == .file, y.kind == .file, let bx = x.blob, let by = y.blob,
                let rx = fetched[bx], let ry = fetched[by]
            {
                shared = sharedBytes(rx, ry)
            }
            d.changed.append(
                Change(
                    path: y.path, kindBefore: x.kind, kindAfter: y.kind, sizeBefore: x.size,
                    sizeAfter: y.size,
                    sharedBytes: shared, modeOnly: false))
        }
        d.changed.sort { $0.path < $1.path }
        return d
    }

    /// Bytes of `after` covered by chunks that also occur in `before`.
    public static func sharedBytes(_ before: Recipe, _ after: Recipe) -> UInt64 {
        let have = Set(before.chunks.map(\.digest))
        var n: UInt64 = 0
        for c in after.chunks where have.contains(c.digest) { n += UInt64(c.length) }
        return n
    }
}

extension Remote {
    /// Diffs two refs: resolves both, fetches both trees, then the recipes of changed files only.
    public func diff(_ a: String, _ b: String) throws(ClientError) -> (
        Message.RefInfo, Message.RefInfo, TreeDiff
    ) {
        let ra = try resolve(a)
        let rb = try resolve(b)
        let ta = try tree(ra.tree)
        let tb = try tree(rb.tree)
        var sizes: [Digest: UInt64] = [:]
        for e in ta.entries + tb.entries { if let d = e.blob { sizes[d] = e.size } }
        let d = try TreeDiff.compare(ta, tb) { (blobs: [Digest]) throws(ClientError) -> [Digest: Recipe] in
            try self.recipes(blobs, sizes: sizes)
        }
        return (ra, rb, d)
    }
}
