import Foundation
import GRDB
import GRDBSQLite
import Synchronization
import TroveCore

/// The SQLite catalog (GRDB `DatabasePool`, WAL, `synchronous = FULL`): the default
/// `CatalogDatabase`, `catalog.sqlite` in the store's root. Schema: SQLiteSchema.swift.
///
/// `synchronous = FULL` makes every committed write transaction durable (the WAL is fsynced at
/// commit); with `NORMAL` a commit acknowledged before a power loss could roll back.
///
/// Statements run through SQLite's C API on GRDB's prepared statements (binding and reading
/// columns directly, no intermediate GRDB rows), so the seam costs the hot paths nothing.
public final class SQLiteCatalog: CatalogDatabase {
    let pool: DatabasePool
    /// The database file.
    public let path: String
    /// Keys of `tryGlobalLock` locks held in this process.
    private let globalLocks = SQLiteGlobalLocks()

    public var engine: CatalogEngine { .sqlite }
    public var location: String { path }

    /// Checkpoints the WAL on its own thread and connection (``WALCheckpointer``); nil: SQLite's
    /// auto-checkpoint, on the writer after the commit that crossed 1000 WAL pages.
    let checkpointer: WALCheckpointer?

    /// Opens (creating if absent) the SQLite catalog at `path`; `migrate()` brings its schema
    /// up to date. `mmapBytes`: the memory-map window for index lookups (0: none).
    /// `checkpointAside`: WAL checkpoints off the writer (``WALCheckpointer``).
    public init(path: String, mmapBytes: Int = 1 << 30, checkpointAside: Bool = false) throws(StoreError) {
        self.path = path
        let checkpointer = checkpointAside ? WALCheckpointer(path: path) : nil
        self.checkpointer = checkpointer
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Index lookups read through a memory map (page cache, not heap) and a 16 MiB cache.
            try db.execute(sql: "PRAGMA mmap_size = \(mmapBytes)")
            try db.execute(sql: "PRAGMA cache_size = -16384")
            // Only the writer commits, so only its hook fires; on readers it is never called.
            if let checkpointer, let connection = db.sqliteConnection { checkpointer.install(on: connection) }
        }
        config.busyMode = .timeout(30)
        do {
            pool = try DatabasePool(path: path, configuration: config)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_FULL {
            throw .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        } catch {
            throw .catalog("cannot open \(path): \(error)")
        }
    }

    deinit { checkpointer?.close() }

    public func migrate() throws(StoreError) {
        do { try SQLiteCatalog.migrator.migrate(pool) } catch let e as DatabaseError
            where e.resultCode == .SQLITE_FULL
        {
            throw .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        } catch {
            throw .catalog("cannot migrate \(path): \(error)")
        }
    }

    public func readTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T {
        do { return try pool.read { db in try body(SQLiteTransaction(db, catalog: self)) } } catch let e
            as DatabaseError
        {
            throw failure(e)
        }
    }

    public func writeTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T {
        do { return try pool.write { db in try body(SQLiteTransaction(db, catalog: self)) } } catch let e
            as DatabaseError
        {
            throw failure(e)
        }
    }

    public func presentDigests(_ sorted: [Digest]) throws(StoreError) -> Set<Digest> {
        guard !sorted.isEmpty else { return [] }
        // Point lookups in one read transaction, in digest order (B-tree locality), binding the
        // 32 bytes straight from the stack: ~1 µs each on a warm index.
        return try read { tx in
            let db = (tx as! SQLiteTransaction).db
            var present = Set<Digest>()
            let st = try db.cachedStatement(sql: "SELECT 1 FROM chunks WHERE digest = ?")
            let raw = st.sqliteStatement
            var previous: Digest? = nil
            for d in sorted where d != previous {
                previous = d
                var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
                let rc = withUnsafeMutableBytes(of: &bytes) { buf -> Int32 in
                    d.write(to: buf.baseAddress!)
                    sqlite3_reset(raw)
                    guard sqlite3_bind_blob(raw, 1, buf.baseAddress, 32, nil) == SQLITE_OK else {
                        return SQLITE_ERROR
                    }
                    return sqlite3_step(raw)
                }
                switch rc {
                case SQLITE_ROW: present.insert(d)
                case SQLITE_DONE: break
                default:
                    throw StoreError.catalog(
                        "chunk lookup failed: \(String(cString: sqlite3_errmsg(db.sqliteConnection)))")
                }
            }
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
            return present
        }
    }

    public func tryGlobalLock(_ key: Int64) throws(StoreError) -> (any CatalogLock)? {
        globalLocks.take(key)
    }

    /// A GRDB failure as a store error: "database or disk is full" is `.noSpace` (the
    /// transaction rolled back; the store stays writable), anything else `.catalog`.
    func failure(_ error: any Error) -> StoreError {
        if let e = error as? DatabaseError, e.resultCode == .SQLITE_FULL {
            return .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        }
        if let e = error as? StoreError { return e }
        return .catalog("\(error)")
    }

    /// A failed `sqlite3_*` call on `connection` as a store error (`.noSpace` when full).
    func failure(code: Int32, connection: OpaquePointer?, sql: String) -> StoreError {
        if code & 0xff == SQLITE_FULL {
            return .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        }
        let message = connection.map { String(cString: sqlite3_errmsg($0)) } ?? "SQLite error \(code)"
        return .catalog("\(message) (SQLite \(code)) in: \(sql)")
    }
}

/// The in-process table of `SQLiteCatalog.tryGlobalLock` keys.
final class SQLiteGlobalLocks: Sendable {
    /// Keys currently held; guarded by itself.
    let held = Mutex<Set<Int64>>([])

    func take(_ key: Int64) -> (any CatalogLock)? {
        held.withLock { $0.insert(key).inserted } ? SQLiteGlobalLock(table: self, key: key) : nil
    }
}

/// A held in-process global lock; released by `release()` or when dropped.
final class SQLiteGlobalLock: CatalogLock {
    let table: SQLiteGlobalLocks
    let key: Int64
    /// Whether `release()` ran; guarded by itself.
    let released = Mutex(false)

    init(table: SQLiteGlobalLocks, key: Int64) {
        self.table = table
        self.key = key
    }

    func release() {
        guard
            released.withLock({ r in
                defer { r = true }
                return !r
            })
        else { return }
        _ = table.held.withLock { $0.remove(key) }
    }

    deinit { release() }
}
