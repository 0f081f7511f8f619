import NIOPosix
import Synchronization
import TroveCore

/// The attributes of one path in the mount.
public struct MountAttributes: Sendable, Equatable {
    public enum Kind: Sendable, Equatable { case directory, file, symlink }
    public var kind: Kind
    /// Permission bits (write bits always clear).
    public var mode: UInt32
    public var size: UInt64
    /// Modification time, ms since the Unix epoch (the version's creation time).
    public var modified: Int64
}

/// The read-only file system the mount serves, independent of FUSE: path lookups over the
/// listing (refreshed after `listingTTL` seconds) and version trees, and verified byte-range reads
/// through the shared ``ChunkCache``. Thread-safe.
///
/// Concurrency: FUSE's threads call in and block; the shared state (listing, caches of trees and
/// recipes, open handles) lives in one `Mutex`, never held while talking to the backend. Read-ahead
/// runs on a `NIOThreadPool` of two threads (in submission order).
public final class MountFileSystem: Sendable {
    public let backend: MountBackend
    public let cache: ChunkCache
    /// Seconds a listing is used before it is fetched again.
    public let listingTTL: Double
    /// Bytes read ahead when a handle is read sequentially.
    public let readahead: Int

    private let state: Mutex<State>
    private let prefetcher: NIOThreadPool

    /// What the lock guards.
    private struct State {
        var namespace: Namespace
        var listedAt: Double
        var refreshing = false
        var indexes: [Digest: VersionIndex] = [:]
        var indexOrder = LRUList<Digest>()
        var layouts: [Digest: FileLayout] = [:]
        var layoutOrder = LRUList<Digest>()
        var handles: [UInt64: OpenFile] = [:]
        var nextHandle: UInt64 = 1
    }

    /// An open file: its layout and where the last read on it ended (to detect sequential reads).
    struct OpenFile {
        let layout: FileLayout
        var lastEnd: UInt64 = 0
        /// Read-ahead has been scheduled up to here.
        var prefetchedUntil: UInt64 = 0

        /// Records a read of `range`; returns the window to read ahead now, if any. A read near
        /// where the last one ended (kernel read-ahead may reorder a little) counts as sequential:
        /// the next `readahead` bytes are then fetched in the background, in batches, ahead of the
        /// reader, once less than half of that window remains.
        mutating func advance(reading range: Range<UInt64>, readahead: UInt64) -> Range<UInt64>? {
            let (offset, end) = (range.lowerBound, range.upperBound)
            let slack: UInt64 = 1 << 20
            let sequential = offset <= lastEnd + slack && offset + slack >= lastEnd
            lastEnd = sequential ? max(lastEnd, end) : end
            if !sequential { prefetchedUntil = end }
            guard sequential, readahead > 0, prefetchedUntil < end + readahead / 2 else { return nil }
            let from = max(prefetchedUntil, end)
            prefetchedUntil = end + readahead
            let upper = min(layout.size, prefetchedUntil)
            return from < upper ? from..<upper : nil
        }
    }

    /// Creates the file system and fetches the first listing (so a bad server or token fails here).
    public init(backend: MountBackend, cache: ChunkCache, listingTTL: Double = 2, readahead: Int = 8 << 20)
        throws(MountError)
    {
        self.backend = backend
        self.cache = cache
        self.listingTTL = listingTTL
        self.readahead = readahead
        state = Mutex(State(namespace: Namespace(try backend.listVersions()), listedAt: monotonicSeconds()))
        prefetcher = NIOThreadPool(numberOfThreads: 2)
        prefetcher.start()
    }

    deinit {
        // Queued read-ahead holds a reference to the file system, so none is left by now.
        prefetcher.shutdownGracefully { _ in }
    }

    // MARK: listing

    /// The current namespace, refreshed when older than the TTL. When the daemon cannot be reached
    /// the previous listing stays in use (and the refresh is tried again on the next call).
    private func currentNamespace() -> Namespace {
        let (ns, stale): (Namespace, Bool) = state.withLock {
            let stale = monotonicSeconds() - $0.listedAt >= listingTTL && !$0.refreshing
            if stale { $0.refreshing = true }
            return ($0.namespace, stale)
        }
        guard stale else { return ns }
        let fresh = (try? backend.listVersions()).map(Namespace.init)
        return state.withLock {
            $0.refreshing = false
            if let fresh {
                $0.namespace = fresh
                $0.listedAt = monotonicSeconds()
            } else {
                // Do not hammer an unreachable daemon on every lookup.
                $0.listedAt = monotonicSeconds() - listingTTL / 2
            }
            return $0.namespace
        }
    }

    private func index(_ tree: Digest) throws(MountError) -> VersionIndex {
        let cached: VersionIndex? = state.withLock {
            guard let i = $0.indexes[tree] else { return nil }
            $0.indexOrder.touch(tree)
            return i
        }
        if let cached { return cached }
        let built = VersionIndex(try backend.tree(tree))
        state.withLock {
            $0.indexes[tree] = built
            $0.indexOrder.touch(tree)
            while $0.indexOrder.count > 64, let old = $0.indexOrder.popOldest() { $0.indexes[old] = nil }
        }
        return built
    }

    private func layout(_ entry: TreeEntry) throws(MountError) -> FileLayout {
        let blob = entry.blob!
        let cached: FileLayout? = state.withLock {
            guard let l = $0.layouts[blob] else { return nil }
            $0.layoutOrder.touch(blob)
            return l
        }
        if let cached { return cached }
        let built = FileLayout(try backend.recipe(blob: blob, size: entry.size))
        guard built.size == entry.size else {
            throw .integrity(
                detail: "the recipe of \(entry.path) covers \(built.size) bytes, the tree says \(entry.size)")
        }
        state.withLock {
            $0.layouts[blob] = built
            $0.layoutOrder.touch(blob)
            while $0.layoutOrder.count > 4096, let old = $0.layoutOrder.popOldest() { $0.layouts[old] = nil }
        }
        return built
    }

    // MARK: lookups

    /// What a mount path (`/a/b`, relative to the mount point) is.
    private enum Target {
        case namespaceDirectory(Namespace.Directory)
        case alias(target: String, version: MountedVersion)
        case versionDirectory(MountedVersion, mode: UInt32)
        case entry(MountedVersion, TreeEntry)
        case versionSubdirectory(MountedVersion, VersionIndex, path: String, mode: UInt32)
    }

    private func target(_ path: String) throws(MountError) -> Target {
        let components = path.split(separator: "/")
        guard let r = currentNamespace().resolve(components) else { throw .notFound(path: path) }
        switch r {
        case .directory(let d): return .namespaceDirectory(d)
        case .alias(let t, let v): return .alias(target: t, version: v)
        case .version(let v, let rest):
            if rest.isEmpty { return .versionDirectory(v, mode: 0o555) }
            let idx = try index(v.tree)
            let inner = rest.joined(separator: "/")
            switch idx.item(inner) {
            case .directory(let mode)?: return .versionSubdirectory(v, idx, path: inner, mode: mode)
            case .entry(let e)?: return .entry(v, e)
            case nil: throw .notFound(path: path)
            }
        }
    }

    /// Attributes of `path`.
    public func attributes(_ path: String) throws(MountError) -> MountAttributes {
        switch try target(path) {
        case .namespaceDirectory(let d):
            return MountAttributes(kind: .directory, mode: 0o555, size: 0, modified: d.modified)
        case .alias(let t, let v):
            return MountAttributes(
                kind: .symlink, mode: 0o777, size: UInt64(t.utf8.count), modified: v.createdAt)
        case .versionDirectory(let v, let mode):
            return MountAttributes(kind: .directory, mode: mode, size: 0, modified: v.createdAt)
        case .versionSubdirectory(let v, _, _, let mode):
            return MountAttributes(
                kind: .directory, mode: (mode | 0o500) & 0o5555, size: 0, modified: v.createdAt)
        case .entry(let v, let e):
            switch e.kind {
            case .file:
                return MountAttributes(
                    kind: .file, mode: e.mode & 0o7555, size: e.size, modified: v.createdAt)
            case .symlink:
                return MountAttributes(
                    kind: .symlink, mode: 0o777, size: UInt64(e.target!.utf8.count), modified: v.createdAt)
            case .directory:
                return MountAttributes(
                    kind: .directory, mode: (e.mode | 0o500) & 0o5555, size: 0, modified: v.createdAt)
            }
        }
    }

    /// Names in the directory `path` (without `.` and `..`), in byte order.
    public func list(_ path: String) throws(MountError) -> [String] {
        switch try target(path) {
        case .namespaceDirectory(let d): return d.sortedNames
        case .versionDirectory(let v, _): return try index(v.tree).list("") ?? []
        case .versionSubdirectory(_, let idx, let inner, _): return idx.list(inner) ?? []
        case .alias, .entry: throw .notDirectory(path: path)
        }
    }

    /// The target of the symlink at `path`.
    public func readlink(_ path: String) throws(MountError) -> String {
        switch try target(path) {
        case .alias(let t, _): return t
        case .entry(_, let e) where e.kind == .symlink: return e.target!
        default: throw .local(detail: "\(path) is not a symlink")
        }
    }

    // MARK: reads

    /// Opens the file at `path` for reading; returns a handle for ``read(_:offset:into:)``.
    public func open(_ path: String) throws(MountError) -> UInt64 {
        guard case .entry(_, let e) = try target(path) else { throw .isDirectory(path: path) }
        guard e.kind == .file else { throw .notFound(path: path) }
        let file = OpenFile(layout: try layout(e))
        return state.withLock {
            let h = $0.nextHandle
            $0.nextHandle += 1
            $0.handles[h] = file
            return h
        }
    }

    /// Forgets a handle.
    public func release(_ handle: UInt64) {
        _ = state.withLock { $0.handles.removeValue(forKey: handle) }
    }

    /// Reads up to `buffer.count` bytes at `offset`; returns how many (0 at or past the end).
    /// Only the chunks covering the range are fetched (plus read-ahead when the handle is read
    /// sequentially), each verified; any failure is an error, never wrong or partial bytes.
    public func read(_ handle: UInt64, offset: UInt64, into buffer: UnsafeMutableRawBufferPointer)
        throws(MountError) -> Int
    {
        guard let layout = state.withLock({ $0.handles[handle]?.layout }) else {
            throw .local(detail: "bad file handle")
        }
        guard offset < layout.size, buffer.count > 0 else { return 0 }
        let end = min(layout.size, offset + UInt64(buffer.count))
        let covering = layout.chunks(covering: offset..<end)
        let window = state.withLock {
            $0.handles[handle]?.advance(reading: offset..<end, readahead: UInt64(readahead)) ?? nil
        }
        if let window, !window.isEmpty {
            let ahead = layout.chunks(covering: window)
            let first = max(ahead.lowerBound, covering.upperBound)
            if first < ahead.upperBound {
                schedulePrefetch(Array(layout.recipe.chunks[first..<ahead.upperBound]))
            }
        }
        let bytes = try chunks(Array(layout.recipe.chunks[covering]))
        var written = 0
        for (k, i) in covering.enumerated() {
            let start = layout.offsets[i]
            let lo = Int(max(start, offset) - start)
            let hi = Int(min(layout.offsets[i + 1], end) - start)
            bytes[k].withUnsafeBytes { src in
                (buffer.baseAddress! + written).copyMemory(from: src.baseAddress! + lo, byteCount: hi - lo)
            }
            written += hi - lo
        }
        return written
    }

    /// Claims the chunks of a read-ahead window (those neither in memory nor being fetched) and
    /// queues their loading (from disk, verified) or fetching (from the backend) in batches.
    private func schedulePrefetch(_ chunks: [RecipeChunk]) {
        let (mine, _) = cache.claim(chunks, includeDisk: true)
        let maxCount = max(1, backend.maxChunksPerRequest)
        var start = 0
        while start < mine.count {
            var end = start
            var bytes = 0
            while end < mine.count && end - start < maxCount && (bytes < 1 << 20 || end == start) {
                bytes += Int(mine[end].length)
                end += 1
            }
            let batch = Array(mine[start..<end])
            prefetcher.submit { [self] work in
                if case .active = work { prefetch(batch) } else { cache.abandon(batch) }
            }
            start = end
        }
    }

    /// Loads claimed chunks into the cache: from disk when there (re-hashed), else from the
    /// backend. On failure the claims are released and readers fetch for themselves.
    private func prefetch(_ batch: [RecipeChunk]) {
        var remote: [RecipeChunk] = []
        for c in batch {
            if let b = cache.loadFromDisk(c) { cache.fulfil([c], [b]) } else { remote.append(c) }
        }
        guard !remote.isEmpty else { return }
        do throws(MountError) {
            let got = try backend.chunks(remote)
            guard got.count == remote.count else { throw .integrity(detail: "short chunk batch") }
            cache.fulfil(remote, got)
        } catch {
            cache.abandon(remote)
        }
    }

    /// The verified bytes of `wanted` (in order), from the cache or the backend.
    func chunks(_ wanted: [RecipeChunk]) throws(MountError) -> [[UInt8]] {
        var found: [Digest: [UInt8]] = [:]
        var missing: [RecipeChunk] = []
        var seen = Set<Digest>()
        for c in wanted where seen.insert(c.digest).inserted {
            // A chunk being read ahead is waited for rather than fetched (or hashed) twice.
            cache.waitUntilSettled(c.digest)
            if let b = cache.lookup(c) { found[c.digest] = b } else { missing.append(c) }
        }
        if !missing.isEmpty {
            let (mine, others) = cache.claim(missing)
            let batch = max(1, backend.maxChunksPerRequest)
            var start = 0
            while start < mine.count {
                let part = Array(mine[start..<min(start + batch, mine.count)])
                do throws(MountError) {
                    let got = try backend.chunks(part)
                    guard got.count == part.count else {
                        throw .integrity(detail: "the backend returned \(got.count) chunks for \(part.count)")
                    }
                    cache.fulfil(part, got)
                    for (c, b) in zip(part, got) where found[c.digest] == nil { found[c.digest] = b }
                } catch {
                    cache.abandon(Array(mine[start...]))
                    throw error
                }
                start += batch
            }
            let wantedSet = Set(wanted.map(\.digest))
            for c in others where wantedSet.contains(c.digest) {
                cache.waitUntilSettled(c.digest)
            }
            for c in wanted where found[c.digest] == nil {
                if let b = cache.lookup(c) {
                    found[c.digest] = b
                } else {
                    // The reader that was fetching it failed (or it was evicted at once): fetch it here.
                    let got = try backend.chunks([c])
                    guard got.count == 1 else { throw .integrity(detail: "the backend returned no chunk") }
                    cache.fulfil([c], got)
                    found[c.digest] = got[0]
                }
            }
        }
        var out: [[UInt8]] = []
        out.reserveCapacity(wanted.count)
        for c in wanted {
            guard let b = found[c.digest], b.count == Int(c.length) else {
                throw .integrity(detail: "chunk \(c.digest) is missing or has the wrong length")
            }
            out.append(b)
        }
        return out
    }
}
