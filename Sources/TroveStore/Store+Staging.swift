import Foundation
import TroveCore

/// Objects uploaded ahead of a commit (the protocol's PUT_OBJECTS), and counts for `stat`.
extension Store {
    /// Writes recipe or tree objects durably (small recipes as catalog rows in one transaction,
    /// the others as files: tmp → fsync → rename, then one fsync per shard directory touched)
    /// without registering them: the `blobs` and `trees` rows only come at `commit`. Returns
    /// their digests, in order.
    @discardableResult
    func storeObjects(canonical objects: [[UInt8]]) throws(StoreError) -> (digests: [Digest], rowsEpoch: Int64?) {
        let pairs = objects.map { (SHA256.hash($0), $0) }
        let epoch = try writeObjects(pairs)
        return (pairs.map(\.0), epoch)
    }

    /// Whether an object is stored, as a catalog row or in the object storage (committed or
    /// stored ahead of a commit).
    /// False when it cannot tell (see `objectStored` for scrub, which must not take an outage
    /// for a loss).
    func hasObject(_ digest: Digest) -> Bool {
        (try? objectStored(digest)) == true
    }

    /// Whether an object is stored; throws when the catalog or the object storage does not answer.
    func objectStored(_ digest: Digest) throws(StoreError) -> Bool {
        // The catalog first: most recipes are rows, and a remote storage costs a request.
        if try inlineObjectBytes(digest) != nil { return true }
        return try objectStorage.exists(digest)
    }

    /// Committed objects (recipes + trees) and aliases.
    public func objectAndAliasCounts() throws(StoreError) -> (objects: Int, aliases: Int) {
        try catalog.read { db in
            let blobs = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM blobs") ?? 0
            let trees = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM trees") ?? 0
            let aliases = try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM aliases") ?? 0
            return (blobs + trees, aliases)
        }
    }
}
