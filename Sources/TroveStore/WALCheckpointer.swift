import Dispatch
import GRDBSQLite
import Synchronization

/// Checkpoints the SQLite catalog's WAL on a thread and connection of its own, instead of on
/// the writer right after the commit that grew the WAL past ``pages`` (SQLite's default
/// auto-checkpoint, which copies every WAL page into the database file and fsyncs it before the
/// committing call returns: ≈ 10–60 ms on the path of the request that happened to cross it — a
/// group commit's index transaction, a push's COMMIT).
///
/// Durability is the WAL's: a transaction is durable when its commit's WAL fsync returns
/// (`synchronous = FULL`), whoever checkpoints later. A PASSIVE checkpoint runs beside readers and
/// the writer (it copies what no reader still needs; the writer restarts the WAL once all of it
/// was copied); one that could not finish is retried at the writer's next commit past the
/// threshold. Installed by `SQLiteCatalog` (its `checkpointAside`) through `sqlite3_wal_hook`,
/// which replaces the auto-checkpoint on the connection it is installed on.
final class WALCheckpointer: Sendable {
    /// WAL pages after which a commit asks for a checkpoint (SQLite's auto-checkpoint default).
    static let pages: Int32 = 1000

    let path: String
    private let queue = DispatchQueue(label: "trove.catalog.checkpoint", qos: .utility)
    /// A checkpoint is queued; closed: no more.
    private let state = Mutex<(queued: Bool, closed: Bool)>((false, false))
    /// The checkpointing connection (opened on `queue` at first use, used only there).
    private let connection = Mutex<OpaquePointer?>(nil)
    /// Checkpoints run (tests).
    let runs = Atomic<Int>(0)

    init(path: String) { self.path = path }

    /// What the hook points at: never freed (one small object per catalog), so a hook that fires
    /// while the catalog goes away finds nil here instead of freed memory.
    private final class HookTarget: @unchecked Sendable {
        weak var checkpointer: WALCheckpointer?
        init(_ c: WALCheckpointer) { checkpointer = c }
    }

    /// Makes `db`'s commits ask for a checkpoint here instead of checkpointing themselves.
    func install(on db: OpaquePointer) {
        let target = Unmanaged.passRetained(HookTarget(self)).toOpaque()
        sqlite3_wal_hook(
            db,
            { context, _, _, pages in
                if pages >= WALCheckpointer.pages, let context {
                    Unmanaged<HookTarget>.fromOpaque(context).takeUnretainedValue().checkpointer?.request()
                }
                return SQLITE_OK
            }, target)
    }

    /// Queues a checkpoint unless one is queued already.
    func request() {
        let go = state.withLock { s -> Bool in
            guard !s.queued && !s.closed else { return false }
            s.queued = true
            return true
        }
        if go { queue.async { self.run() } }
    }

    /// Waits for a queued checkpoint (tests).
    func settle() { queue.sync {} }

    private func run() {
        let closed = state.withLock { s -> Bool in
            s.queued = false
            return s.closed
        }
        guard !closed else { return }
        connection.withLock { c in
            if c == nil {
                var db: OpaquePointer?
                guard sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, nil) == SQLITE_OK,
                    let db
                else {
                    sqlite3_close(db)
                    return
                }
                // Copies are fsynced before the WAL is reused (as the auto-checkpoint does).
                sqlite3_exec(db, "PRAGMA synchronous = FULL", nil, nil, nil)
                c = db
            }
            var log: Int32 = 0
            var copied: Int32 = 0
            // A failure (busy, I/O) leaves the WAL as it is: the next request tries again.
            _ = sqlite3_wal_checkpoint_v2(c, nil, SQLITE_CHECKPOINT_PASSIVE, &log, &copied)
            runs.add(1, ordering: .relaxed)
        }
    }

    /// Stops: no checkpoint after the one running, the connection closed.
    func close() {
        state.withLock { $0.closed = true }
        queue.sync {}
        connection.withLock { c in
            if let db = c { sqlite3_close_v2(db) }
            c = nil
        }
    }
}
