import Foundation
import NIOCore
import PostgresNIO
import Synchronization
import TroveCore
import TroveStore

/// The Store's catalog in PostgreSQL (docs/SCALING.md): the same tables as the SQLite catalog,
/// shared by every troved of one store.
///
/// Transactions: a read runs at `REPEATABLE READ READ ONLY` (one snapshot, like a SQLite WAL
/// reader). A write takes a transaction-scoped advisory lock first, so writes are serialised
/// across every instance exactly as SQLite's single writer serialises them in one process, and
/// then runs at `READ COMMITTED` (each statement sees every write committed before the lock was
/// granted): the Store's read-check-write sequences (alias compare-and-swap, version
/// create-only, GC's candidate sweep) keep their meaning without per-site locking. A
/// serialization failure or deadlock (40001 / 40P01) runs the transaction again (a few times).
public final class PostgresCatalog: CatalogDatabase {
    public let config: PostgresCatalogConfig
    let pool: PostgresConnectionPool
    /// The advisory lock (two-key form, a key space apart from `tryGlobalLock`'s) every write holds.
    static let writeLock = (Int32(0x5472_6F76), Int32(1))  // "Trov", 1
    /// Attempts of a write transaction that meets a serialization failure or deadlock.
    static let conflictAttempts = 5
    /// Digests per `= ANY($1)` lookup.
    public static let lookupBatch = 1000

    public var engine: CatalogEngine { .postgres }

    /// Connects lazily (the first transaction opens the first connection); call `migrate()`
    /// (or `open`) before use.
    public init(config: PostgresCatalogConfig) {
        self.config = config
        self.pool = PostgresConnectionPool(config: config)
    }

    /// Connects, applies the schema's pending migrations and returns the catalog; a server that
    /// does not answer or refuses the login is an error saying so.
    public static func open(_ config: PostgresCatalogConfig) throws(StoreError) -> PostgresCatalog {
        let c = PostgresCatalog(config: config)
        try c.migrate()
        return c
    }

    deinit { pool.shutdown() }

    /// Closes the idle connections (the catalog stays usable: it reconnects on demand).
    public func close() { pool.shutdown() }

    /// Where the catalog is: its URL without the password.
    public var location: String { config.displayURL }

    public func readTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T {
        do { return try transaction(write: false, body) } catch let c as Conflict { throw c.error.storeError(location) }
    }

    public func writeTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T {
        var attempt = 1
        while true {
            do {
                return try transaction(write: true, body)
            } catch let c as Conflict {
                guard attempt < Self.conflictAttempts else { throw c.error.storeError(location) }
                attempt += 1
                usleep(UInt32.random(in: 1_000...(10_000 * UInt32(attempt))))
            }
        }
    }

    /// One transaction on a lent connection. The body's errors leave unchanged, except that a
    /// serialization failure or deadlock leaves as `Conflict` (for `writeTransaction` to run it
    /// again); the engine's own failures (begin, commit) as `StoreError`. A connection found
    /// broken at `BEGIN` (an idle one the server dropped, or one that does not answer within the
    /// deadline) is replaced once, with every other idle one: nothing had run on it. A connection
    /// lost later is closed without a `ROLLBACK` (the server rolls back on its own).
    func transaction<T>(write: Bool, _ body: (any CatalogTransaction) throws -> T) throws -> T {
        var retriedBegin = false
        while true {
            do {
                return try pool.withConnection { connection in
                    let tx = PostgresTransaction(
                        connection: connection, logger: pool.logger, location: location,
                        deadline: config.answerDeadline)
                    do {
                        try tx.command(write ? "BEGIN" : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    } catch {
                        pool.close(connection)
                        throw BeginFailed(error: PostgresCatalogError.from(error))
                    }
                    do {
                        if write {
                            _ = try tx.run(
                                "SELECT pg_advisory_xact_lock(?::int4, ?::int4)",
                                [.integer(Int64(Self.writeLock.0)), .integer(Int64(Self.writeLock.1))])
                        }
                        let result = try body(tx)
                        do { try tx.command("COMMIT") } catch let error as PostgresCatalogError where error.kind == .connectionLost {
                            throw CommitLost(
                                error: PostgresCatalogError(
                                    .connectionLost,
                                    "\(error.message) (at COMMIT: the transaction may have been committed)"))
                        }
                        return result
                    } catch {
                        if let f = tx.failure, f.kind == .connectionLost {
                            pool.close(connection)
                            pool.discardIdle()
                        } else {
                            do { try tx.command("ROLLBACK") } catch { pool.close(connection) }
                        }
                        if let c = error as? CommitLost { throw c.error.storeError(location) }
                        if let f = tx.failure {
                            if f.kind == .conflict { throw Conflict(error: f) }
                            // The engine's own statements (lock, commit) fail as Store errors.
                            if error is PostgresCatalogError { throw f.storeError(location) }
                        }
                        throw error
                    }
                }
            } catch let b as BeginFailed {
                if b.error.kind == .connectionLost && !retriedBegin {
                    retriedBegin = true
                    pool.discardIdle()
                    continue
                }
                throw b.error.storeError(location)
            } catch let e as PostgresCatalogError {
                // No connection could be had.
                throw e.storeError(location)
            }
        }
    }

    private struct CommitLost: Error {
        let error: PostgresCatalogError
    }

    private struct BeginFailed: Error {
        let error: PostgresCatalogError
    }

    private struct Conflict: Error {
        let error: PostgresCatalogError
    }

    /// Runs `body`, mapping PostgreSQL failures to Store errors and anything else to `.catalog`.
    func typed<T>(_ body: () throws -> T) throws(StoreError) -> T {
        do { return try body() } catch let e as StoreError { throw e } catch let e as PostgresCatalogError {
            throw e.storeError(config.displayURL)
        } catch {
            throw .catalog("\(error)")
        }
    }

    /// The subset of `sorted` indexed in `chunks`: one `digest = ANY($1)` query per batch, no
    /// transaction (each chunk row is durable once present). Read-only, so a lost connection is
    /// replaced and the lookup run again once.
    public func presentDigests(_ sorted: [Digest]) throws(StoreError) -> Set<Digest> {
        guard !sorted.isEmpty else { return [] }
        return try typed {
            do { return try lookup(sorted) } catch let e as PostgresCatalogError where e.kind == .connectionLost {
                return try lookup(sorted)
            }
        }
    }

    private func lookup(_ sorted: [Digest]) throws -> Set<Digest> {
        try pool.withConnection { connection in
            var present = Set<Digest>()
            var start = 0
            while start < sorted.count {
                let batch = sorted[start..<min(start + Self.lookupBatch, sorted.count)]
                start += batch.count
                var binds = PostgresBindings(capacity: 1)
                binds.append(batch.map { ByteBuffer(bytes: $0.bytes) })
                let query = PostgresQuery(
                    unsafeSQL: "SELECT digest FROM chunks WHERE digest = ANY($1)", binds: binds)
                do {
                    let result: PostgresQueryResult = try connection.query(query, logger: pool.logger)
                        .wait(within: config.answerDeadline, "a chunk lookup")
                    let rows = result.rows
                    for row in rows {
                        for cell in row {
                            if let b = cell.bytes, let d = Digest(bytes: b.readableBytesView) {
                                present.insert(d)
                            }
                        }
                    }
                } catch {
                    throw PostgresCatalogError.from(error, sql: query.sql)
                }
            }
            return present
        }
    }

    /// Creates `schema_migrations` and applies the migrations it does not list, each in its own
    /// write transaction (so instances starting together apply each exactly once).
    public func migrate() throws(StoreError) {
        // Up to date already (every open after the first): one read.
        let known = PostgresSchema.migrations.map(\.version)
        let applied: [String] = try read { tx in
            let exists = try Int64.fetchOne(tx, sql: "SELECT to_regclass('schema_migrations') IS NOT NULL")
            guard exists == 1 else { return [] }
            return try String.fetchAll(tx, sql: "SELECT version FROM schema_migrations")
        }
        if Set(known).isSubset(of: Set(applied)) { return }
        try write { tx in try tx.executeScript(sql: PostgresSchema.createMigrationsTable) }
        for (version, sql) in PostgresSchema.migrations {
            try write { tx in
                let applied = try tx.fetchRows(
                    sql: "SELECT 1 FROM schema_migrations WHERE version = ?", arguments: [version])
                guard applied.isEmpty else { return }
                try tx.executeScript(sql: sql)
                try tx.execute(
                    sql: "INSERT INTO schema_migrations (version, applied) VALUES (?, ?)",
                    arguments: [version, Int64(Date().timeIntervalSince1970 * 1000)])
            }
        }
    }

    /// `pg_try_advisory_lock(key)` on a connection of its own, held (with the lock) until the
    /// returned lock is released; nil if another session holds it. A lost connection releases
    /// the lock on the server, so a crashed instance never leaves it held.
    public func tryGlobalLock(_ key: Int64) throws(StoreError) -> (any CatalogLock)? {
        try typed {
            let connection = try pool.connect()
            do {
                var binds = PostgresBindings(capacity: 1)
                binds.append(key)
                let result: PostgresQueryResult = try connection.query(
                    PostgresQuery(unsafeSQL: "SELECT pg_try_advisory_lock($1)", binds: binds), logger: pool.logger
                ).wait(within: config.answerDeadline, "pg_try_advisory_lock")
                let rows = result.rows
                let got = try rows.first?.first?.decode(Bool.self) ?? false
                guard got else {
                    pool.close(connection)
                    return nil
                }
                return PostgresGlobalLock(connection: connection, key: key, pool: pool)
            } catch {
                pool.close(connection)
                throw PostgresCatalogError.from(error, sql: "SELECT pg_try_advisory_lock($1)")
            }
        }
    }
}

/// A session advisory lock held on its own connection; released (and the connection closed)
/// by `release()` or when dropped.
final class PostgresGlobalLock: CatalogLock {
    /// The held connection; nil once released. Guarded by this Mutex.
    private let connection: Mutex<PostgresConnection?>
    let key: Int64
    let pool: PostgresConnectionPool

    init(connection: PostgresConnection, key: Int64, pool: PostgresConnectionPool) {
        self.connection = Mutex(connection)
        self.key = key
        self.pool = pool
    }

    func release() {
        guard let c = connection.withLock({ c in defer { c = nil }; return c }) else { return }
        var binds = PostgresBindings(capacity: 1)
        binds.append(key)
        _ = try? c.query(PostgresQuery(unsafeSQL: "SELECT pg_advisory_unlock($1)", binds: binds), logger: pool.logger)
            .wait(within: pool.config.answerDeadline, "pg_advisory_unlock")
        // Closing the session releases the lock even if the unlock above failed.
        pool.close(c)
    }

    deinit { release() }
}
