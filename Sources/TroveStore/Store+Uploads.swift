import Foundation
import Synchronization
import TroveCore

/// The state of one live upload session. All of it is guarded by `Store.uploads`, the one lock
/// of upload sessions: the lease row is written, the staged objects recorded and the staging
/// files appended while holding it.
struct UploadState {
    var name: String
    /// When the lease began (ms); GC keeps what was touched since then.
    var created: Int64
    /// When it expires unless used (ms); the lease row holds the same value.
    var expires: Int64
    /// Lease length (ms), renewed by use.
    var ttl: Int64
    /// Blob digest → object digest of a recipe stored ahead of its commit.
    var recipes: [Digest: Digest] = [:]
    /// Trees stored ahead of their commit.
    var trees: Set<Digest> = []
    /// What COMMIT would otherwise read back (``StagedDecoded``): the staged recipes and the
    /// last staged tree, decoded, within a memory bound.
    var decoded = StagedDecoded()
    /// Chunks this session stored (``SessionChunks``), for its COMMIT's implied recipes.
    var chunks = SessionChunks()
    /// Objects being uploaded in parts → bytes received so far (in their staging file).
    var partial: [UploadObjectRef: UInt64] = [:]
    /// Blob digests of the staged recipes, computed as their chunks arrive (its own lock).
    let streamed = StreamedBlobs()
    /// Blob streams of the push and what closed ones left for COMMIT (its own lock).
    let blobStreams = BlobStreams()
}

/// Upload sessions (push leases): begin or resume, look up, end, expire. See `UploadSession`
/// for what a session does and docs/STORE.md ("Upload sessions") for the guarantees.
extension Store {
    /// Begins an upload session for `name` lasting `ttlSeconds` after its last use, or resumes
    /// `resume` if that session is still live for the same name (after a dropped connection,
    /// or a restart: the lease row survives, staged objects do not and are asked for again).
    /// The lease row is durable on return; while it lives, GC keeps every chunk and object
    /// touched since it began.
    public func beginUpload(name: String, ttlSeconds: Int64, resume: String? = nil) throws(StoreError)
        -> UploadSession
    {
        try checkWritable()
        do { try Names.validateName(name) } catch { throw .invalidName(error) }
        let ttl = max(1, ttlSeconds) * 1000
        return try uploads.withLock { (live) throws(StoreError) -> UploadSession in
            let now = Clock.nowMillis()
            if let resume, let session = try resumeLocked(&live, resume, name: name, ttl: ttl, now: now) {
                return session
            }
            let id = FileIO.randomHex(16)
            try catalog.write { db in
                try db.execute(
                    sql: "INSERT INTO leases (id, name, created, expires) VALUES (?, ?, ?, ?)",
                    arguments: [id, name, now, now + ttl])
            }
            live[id] = UploadState(name: name, created: now, expires: now + ttl, ttl: ttl)
            return UploadSession(store: self, id: id, name: name, resumed: false, expiresAt: now + ttl)
        }
    }

    /// Resumes a live session (in memory, or only as a lease row after a restart); `nil` if it
    /// is unknown, expired or for another name.
    private func resumeLocked(
        _ live: inout [String: UploadState], _ id: String, name: String, ttl: Int64, now: Int64
    ) throws(StoreError) -> UploadSession? {
        var state = live[id]
        if let s = state, s.expires <= now || s.name != name { return nil }
        if state == nil {
            let row = try catalog.read { db in
                try Row.fetchOne(db, sql: "SELECT name, created, expires FROM leases WHERE id = ?", arguments: [id])
            }
            guard let row, (row["expires"] as Int64) > now, (row["name"] as String) == name else { return nil }
            state = UploadState(name: name, created: row["created"], expires: 0, ttl: ttl)
        }
        guard var s = state else { return nil }
        s.ttl = ttl
        s.expires = now + ttl
        try writeLeaseExpiry(id, s.expires)
        live[id] = s
        return UploadSession(store: self, id: id, name: name, resumed: true, expiresAt: s.expires)
    }

    /// The live session `id`; `.uploadExpired` if it is unknown, expired or ended.
    public func upload(_ id: String) throws(StoreError) -> UploadSession {
        let now = Clock.nowMillis()
        let s = uploads.withLock { $0[id] }
        guard let s, s.expires > now else { throw .uploadExpired(id: id) }
        return UploadSession(store: self, id: id, name: s.name, resumed: false, expiresAt: s.expires)
    }

    /// Ends every session whose lease has expired: forgets its staged objects, removes its
    /// staging files and lease row (also rows left from before a restart). Returns how many
    /// sessions it ended. Run it periodically (troved does, every minute).
    @discardableResult
    public func expireUploads(now: Int64 = Clock.nowMillis()) throws(StoreError) -> Int {
        try uploads.withLock { (live) throws(StoreError) -> Int in
            let dead = live.filter { $0.value.expires <= now }
            for (id, s) in dead {
                removeStagingFiles(id, s)
                live[id] = nil
            }
            if !isReadOnly {
                try catalog.write { db in
                    try db.execute(sql: "DELETE FROM leases WHERE expires <= ?", arguments: [now])
                }
            }
            return dead.count
        }
    }

    /// Live upload sessions, oldest first (lease rows: they also cover sessions from before a
    /// restart that were not resumed yet).
    public func liveUploads(now: Int64 = Clock.nowMillis()) throws(StoreError) -> [UploadInfo] {
        try catalog.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM leases WHERE expires > ? ORDER BY created, id", arguments: [now]
            ).map { UploadInfo(id: $0["id"], name: $0["name"], created: $0["created"], expires: $0["expires"]) }
        }
    }

    // MARK: Inside the lock

    /// Checks that session `id` is live and extends it; the lease row is rewritten only when half
    /// its life is gone (a catalog write per request would cost an fsync each). Runs `body` on
    /// the session's state while holding `uploads`.
    func withLiveUpload<R>(_ id: String, _ body: (inout UploadState) throws(StoreError) -> R)
        throws(StoreError) -> R
    {
        try uploads.withLock { (live) throws(StoreError) -> R in
            let now = Clock.nowMillis()
            guard let (expires, ttl) = live[id].map({ ($0.expires, $0.ttl) }) else { throw .uploadExpired(id: id) }
            guard expires > now else {
                if let s = live.removeValue(forKey: id) { removeStagingFiles(id, s) }
                throw .uploadExpired(id: id)
            }
            if expires - now < ttl / 2 {
                try writeLeaseExpiry(id, now + ttl)
                live[id]!.expires = now + ttl
            }
            // In place: a copy of the state would make its dictionaries shared, and the body's
            // first change to one would copy all of it (every staged recipe, per PUT_OBJECTS).
            return try body(&live[id]!)
        }
    }

    /// Ends session `id` (its state, staging files and lease row), live or not; returns whether
    /// it was live. Ending an unknown or ended session is a no-op.
    @discardableResult
    public func endUpload(_ id: String) throws(StoreError) -> Bool {
        try uploads.withLock { (live) throws(StoreError) -> Bool in
            let s = live.removeValue(forKey: id)
            if let s { removeStagingFiles(id, s) }
            try catalog.write { db in try db.execute(sql: "DELETE FROM leases WHERE id = ?", arguments: [id]) }
            return s.map { $0.expires > Clock.nowMillis() } ?? false
        }
    }

    private func writeLeaseExpiry(_ id: String, _ expires: Int64) throws(StoreError) {
        try catalog.write { db in
            try db.execute(sql: "UPDATE leases SET expires = ? WHERE id = ?", arguments: [expires, id])
        }
    }

    /// The staging file of an object uploaded in parts (in tmp/, so a restart clears it).
    func stagingPath(_ id: String, _ object: UploadObjectRef) -> String {
        tmpDir + "/upload-\(id)-\(object.kind)-\(object.digest.hex)"
    }

    private func removeStagingFiles(_ id: String, _ s: UploadState) {
        for key in s.partial.keys { unlink(stagingPath(id, key)) }
    }
}
