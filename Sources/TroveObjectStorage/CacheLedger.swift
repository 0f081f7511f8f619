import Synchronization

/// The local cache of an S3 storage (packs or objects): least-recently-used bookkeeping by name
/// and size, bounded by `limit` bytes. Entries found on disk at start are evicted only once the
/// object store confirms it holds them. The bookkeeping lives in the `index` Mutex.
final class CacheLedger: Sendable {
    let limit: Int64
    private let index: Mutex<CacheIndex>

    /// `found`: (name, size) of the copies on disk at start (not known to be stored remotely).
    init(limit: Int64, found: [(String, Int64)]) {
        self.limit = limit
        var i = CacheIndex()
        for (name, size) in found { i.add(name, size: size, stored: false) }
        index = Mutex(i)
    }

    /// Marks `name` used; false if it is not cached.
    func use(_ name: String) -> Bool { index.withLock { $0.use(name) } }

    /// Counts a remote read of an uncached item; the count so far.
    func miss(_ name: String) -> Int { index.withLock { $0.miss(name) } }

    func remove(_ name: String) { index.withLock { $0.remove(name) } }

    /// Names of cached copies not known to be in the object store (found at start).
    func unconfirmed() -> [String] {
        index.withLock { i in i.entries.filter { !$0.value.stored }.map(\.key).sorted() }
    }

    /// Records a cached copy and evicts the least recently used beyond `limit`: `confirm(name,
    /// size)` says whether the object store holds one found at start (else it is kept for good),
    /// `evict(name)` removes a local copy.
    func cached(
        _ name: String, size: Int64, stored: Bool, confirm: (String, Int64) -> Bool, evict: (String) -> Void
    ) {
        let candidates = index.withLock { i -> [(String, Int64, Bool)] in
            i.add(name, size: size, stored: stored)
            return i.overflow(limit: limit, keep: name)
        }
        for (victim, victimSize, known) in candidates {
            if !known && !confirm(victim, victimSize) {
                index.withLock { $0.pin(victim) }
                continue
            }
            index.withLock { $0.remove(victim) }
            evict(victim)
        }
    }
}

/// Least-recently-used bookkeeping of the local pack cache.
struct CacheIndex {
    struct Entry {
        var size: Int64
        var lastUse: UInt64
        /// Known to be in the object store (written or fetched by this process).
        var stored: Bool
        /// Never evict (a file from before the start the object store does not hold).
        var pinned = false
    }
    var entries: [String: Entry] = [:]
    var total: Int64 = 0
    var tick: UInt64 = 0
    /// Ranged reads of packs not cached, by name (reset when the pack is fetched).
    var misses: [String: Int] = [:]

    mutating func add(_ name: String, size: Int64, stored: Bool) {
        tick += 1
        if let old = entries[name] { total -= old.size }
        entries[name] = Entry(size: size, lastUse: tick, stored: stored)
        total += size
        misses[name] = nil
    }

    /// Marks `name` used; false if it is not cached.
    mutating func use(_ name: String) -> Bool {
        guard entries[name] != nil else { return false }
        tick += 1
        entries[name]!.lastUse = tick
        return true
    }

    /// Counts a ranged read of an uncached pack; returns the count so far.
    mutating func miss(_ name: String) -> Int {
        if misses.count > 4096 { misses.removeAll() }
        misses[name, default: 0] += 1
        return misses[name]!
    }

    mutating func remove(_ name: String) {
        if let e = entries.removeValue(forKey: name) { total -= e.size }
    }

    mutating func pin(_ name: String) { entries[name]?.pinned = true }

    /// The least recently used entries (never `keep`, never pinned) whose removal brings the
    /// total under `limit`: (name, size, known to be stored).
    func overflow(limit: Int64, keep: String) -> [(String, Int64, Bool)] {
        guard total > limit else { return [] }
        var excess = total - limit
        var out: [(String, Int64, Bool)] = []
        for (name, e) in entries.sorted(by: { $0.value.lastUse < $1.value.lastUse })
        where name != keep && !e.pinned {
            guard excess > 0 else { break }
            out.append((name, e.size, e.stored))
            excess -= e.size
        }
        return out
    }
}
