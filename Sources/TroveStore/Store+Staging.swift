import Foundation
import GRDB
import TroveCore

/// Objects uploaded ahead of a commit (the protocol's PUT_OBJECTS), and counts for `stat`.
extension Store {
    /// Path of a staging file for a multi-part upload. Staging files live in `tmp/`, so a
    /// restart clears them (an interrupted upload is re-sent from offset 0).
    public func stagingPath(_ name: String) -> String {
        tmpDir + "/staging-" + name
    }

    /// Writes a recipe or tree object durably (tmp → fsync → rename → fsync dir) without
    /// registering it: the objects table only learns of it at `commit`. Returns its digest.
    /// Already-present objects are not rewritten.
    @discardableResult
    public func storeObject(canonical bytes: [UInt8]) throws(StoreError) -> Digest {
        let d = SHA256.hash(bytes)
        try writeObjects([(d, bytes)])
        return d
    }

    /// Whether an object file exists (committed or stored ahead of a commit).
    public func hasObject(_ digest: Digest) -> Bool {
        FileIO.exists(objectPath(digest))
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
