import Foundation
import TroveCore
import TroveProtocol

/// Server-side state of live push leases: objects uploaded under each lease but not yet
/// committed, and multi-part uploads in progress. Survives dropped connections (a client resumes
/// with its lease id), not restarts (the client's HAS then reports what to resend).
final class LeaseTable: @unchecked Sendable {
    final class Entry {
        let name: String
        var expires: Int64
        /// Blob digest → object digest of a recipe stored ahead of its commit.
        var recipes: [Digest: Digest] = [:]
        /// Trees stored ahead of their commit.
        var trees: Set<Digest> = []
        /// (kind, digest) → bytes received so far of a multi-part upload.
        var partial: [ObjectKey: UInt64] = [:]

        init(name: String, expires: Int64) {
            self.name = name
            self.expires = expires
        }
    }

    struct ObjectKey: Hashable {
        var kind: ContentKind
        var digest: Digest
    }

    private let lock = NSLock()
    private var entries: [LeaseID: Entry] = [:]

    /// Registers (or refreshes) a lease.
    func register(_ id: LeaseID, name: String, expires: Int64) {
        lock.withLock {
            if let e = entries[id] {
                e.expires = expires
            } else {
                entries[id] = Entry(name: name, expires: expires)
            }
        }
    }

    /// Runs `body` on a live lease's entry; throws `lease-expired` when it is unknown or expired.
    func with<R>(_ id: LeaseID, now: Int64, _ body: (Entry) throws(ServerError) -> R) throws(ServerError) -> R
    {
        lock.lock()
        defer { lock.unlock() }
        guard let e = entries[id], e.expires > now else {
            entries[id] = nil
            throw ServerError(
                .leaseExpired,
                "push lease \(id) is unknown or expired: send BEGIN_PUSH again (stored data is kept)")
        }
        return try body(e)
    }

    /// Forgets a lease; returns its entry.
    @discardableResult
    func remove(_ id: LeaseID) -> Entry? {
        lock.withLock { entries.removeValue(forKey: id) }
    }

    /// Drops expired leases; returns their ids (to clean staging files).
    func expire(now: Int64) -> [LeaseID] {
        lock.withLock {
            let dead = entries.filter { $0.value.expires <= now }.map(\.key)
            for d in dead { entries[d] = nil }
            return dead
        }
    }
}
