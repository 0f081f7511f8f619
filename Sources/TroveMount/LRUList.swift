/// Keys in least-recently-used order with O(1) touch, insert, remove and pop-oldest
/// (a doubly linked list in arrays, indexed by a dictionary).
struct LRUList<Key: Hashable> {
    private var keys: [Key?] = []
    private var prev: [Int] = []
    private var next: [Int] = []
    private var slot: [Key: Int] = [:]
    private var free: [Int] = []
    /// Oldest and newest slots (-1 when empty).
    private var head = -1
    private var tail = -1

    var count: Int { slot.count }

    func contains(_ key: Key) -> Bool { slot[key] != nil }

    /// Inserts `key` as the newest, or marks it newest when present.
    mutating func touch(_ key: Key) {
        if let i = slot[key] {
            unlink(i)
            append(i)
            return
        }
        let i: Int
        if let f = free.popLast() {
            i = f
            keys[i] = key
        } else {
            i = keys.count
            keys.append(key)
            prev.append(-1)
            next.append(-1)
        }
        slot[key] = i
        append(i)
    }

    /// Removes `key` if present.
    mutating func remove(_ key: Key) {
        guard let i = slot.removeValue(forKey: key) else { return }
        unlink(i)
        keys[i] = nil
        free.append(i)
    }

    /// Removes and returns the least recently used key.
    mutating func popOldest() -> Key? {
        guard head >= 0, let k = keys[head] else { return nil }
        remove(k)
        return k
    }

    private mutating func unlink(_ i: Int) {
        if prev[i] >= 0 { next[prev[i]] = next[i] } else { head = next[i] }
        if next[i] >= 0 { prev[next[i]] = prev[i] } else { tail = prev[i] }
        prev[i] = -1
        next[i] = -1
    }

    private mutating func append(_ i: Int) {
        prev[i] = tail
        next[i] = -1
        if tail >= 0 { next[tail] = i } else { head = i }
        tail = i
    }
}

extension LRUList: Sendable where Key: Sendable {}
