import Foundation
import GRDBSQLite
import TroveCore

/// The engine behind a `CatalogDatabase`, for the few statements whose SQL must differ.
public enum CatalogEngine: String, Sendable, Hashable {
    /// SQLite through GRDB (`catalog.sqlite` in the store's root; the default).
    case sqlite
    /// PostgreSQL (module `TrovePostgres`).
    case postgres
}

/// Where the store's catalog lives: the chunk index, packs, blobs → recipes, trees, versions,
/// aliases, ref log, leases, GC and scrub state, buckets (docs/STORE.md, docs/SCALING.md).
///
/// The Store talks to its catalog only through this protocol, in SQL of a common subset both
/// engines run unchanged: `?` placeholders, `INSERT … ON CONFLICT …`, `INSERT … RETURNING id`
/// instead of a last-inserted-row id, `COALESCE`, digests and bytes as BLOB/`bytea`, 64-bit
/// integers; `engine` picks between two spellings where no common one exists.
///
/// Errors: every method and every `CatalogTransaction`/`CatalogStatement` method throws
/// `StoreError`: `.noSpace` when the database or its disk is full (the transaction rolled back;
/// the store stays writable), `.catalog(message)` for everything else (a unique-constraint
/// violation included; its message says which constraint).
///
/// Thread safety: all methods may be called from any thread; they block.
public protocol CatalogDatabase: Sendable {
    /// The engine, for SQL that differs between engines.
    var engine: CatalogEngine { get }

    /// Where the catalog is, for messages: a file path, or a URL without its password.
    var location: String { get }

    /// Creates or upgrades the schema to this build's (idempotent; run when a store opens).
    func migrate() throws(StoreError)

    /// Runs `body` in a read transaction that sees one consistent snapshot. Errors `body` throws
    /// are rethrown unchanged; the engine's own failures (begin, commit) as `StoreError`.
    /// Use `read` unless the body throws errors of another type.
    func readTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T

    /// Runs `body` in a write transaction, serialised with every other write to this catalog
    /// (PostgreSQL: SERIALIZABLE, or the locks the statements take; serialization failures are
    /// retried a few times, so `body` may run more than once and must not accumulate state
    /// outside the transaction across runs). Committed durably before it returns. Errors `body`
    /// throws roll the transaction back and are rethrown unchanged.
    func writeTransaction<T>(_ body: (any CatalogTransaction) throws -> T) throws -> T

    /// The digests of `sorted` (ascending, duplicates allowed) that are in the chunk index: the
    /// hot path of every push (SQLite: raw point lookups; PostgreSQL: `= ANY($1)` per batch).
    func presentDigests(_ sorted: [Digest]) throws(StoreError) -> Set<Digest>

    /// Takes the catalog-wide lock `key` if it is free, else nil; held until `release()`. One
    /// GC at a time across every instance serving this catalog (SQLite: within this process,
    /// which holds the store's exclusive lock anyway; PostgreSQL: `pg_try_advisory_lock` on a
    /// connection kept for the lock).
    func tryGlobalLock(_ key: Int64) throws(StoreError) -> (any CatalogLock)?
}

/// A held `CatalogDatabase.tryGlobalLock` lock.
public protocol CatalogLock: AnyObject, Sendable {
    /// Releases the lock (idempotent).
    func release()
}

extension CatalogDatabase {
    /// `readTransaction` with every error as a `StoreError` (others become `.catalog`).
    public func read<T>(_ body: (any CatalogTransaction) throws -> T) throws(StoreError) -> T {
        do { return try readTransaction(body) } catch let e as StoreError { throw e } catch {
            throw .catalog("\(error)")
        }
    }

    /// `writeTransaction` with every error as a `StoreError` (others become `.catalog`).
    public func write<T>(_ body: (any CatalogTransaction) throws -> T) throws(StoreError) -> T {
        do { return try writeTransaction(body) } catch let e as StoreError { throw e } catch {
            throw .catalog("\(error)")
        }
    }
}

/// One open transaction, spelled like GRDB's `Database` so Store code reads the same:
/// `db.execute(sql:arguments:)`, `db.cachedStatement(sql:)`, `db.changesCount`, and fetches
/// through static helpers (`Row.fetchAll(db, sql:arguments:)`, `Int.fetchOne(db, …)`).
/// Valid only inside the `read`/`write` body that received it.
public protocol CatalogTransaction: AnyObject {
    /// The engine, for SQL that differs between engines.
    var engine: CatalogEngine { get }

    /// Runs one statement (no result rows expected; rows are discarded).
    func execute(sql: String, arguments: CatalogArguments) throws(StoreError)

    /// Runs several `;`-separated statements without arguments (schema scripts).
    func executeScript(sql: String) throws(StoreError)

    /// A statement prepared once per connection and reused (hot loops); valid in this
    /// transaction only.
    func cachedStatement(sql: String) throws(StoreError) -> any CatalogStatement

    /// Rows changed by the last INSERT, UPDATE or DELETE run in this transaction.
    var changesCount: Int { get }

    /// Every row of a query.
    func fetchRows(sql: String, arguments: CatalogArguments) throws(StoreError) -> [CatalogRow]

    /// The first row of a query, or nil (the rest are not read).
    func fetchFirstRow(sql: String, arguments: CatalogArguments) throws(StoreError) -> CatalogRow?
}

extension CatalogTransaction {
    /// Runs one statement without arguments.
    public func execute(sql: String) throws(StoreError) { try execute(sql: sql, arguments: []) }
}

/// A prepared statement (`CatalogTransaction.cachedStatement`), run many times with different
/// arguments; fetch through the same static helpers (`Row.fetchOne(st, arguments:)`).
public protocol CatalogStatement: AnyObject {
    /// Runs it (rows are discarded).
    func execute(arguments: CatalogArguments) throws(StoreError)

    /// Every row it returns.
    func fetchRows(arguments: CatalogArguments) throws(StoreError) -> [CatalogRow]

    /// The first row it returns, or nil.
    func fetchFirstRow(arguments: CatalogArguments) throws(StoreError) -> CatalogRow?

    /// Runs it once per row `0..<count` (an INSERT of many rows), `row` writing row i's
    /// arguments in placeholder order. SQLite binds them straight from the caller's values (no
    /// argument list, no `Data` per digest); other engines get `execute(arguments:)` per row
    /// (``executeEachRow(count:row:)``, the reference both are tested against).
    func executeEach(count: Int, row: (Int, inout CatalogRowWriter) -> Void) throws(StoreError)
}

extension CatalogStatement {
    /// Runs it without arguments.
    public func execute() throws(StoreError) { try execute(arguments: []) }

    public func executeEach(count: Int, row: (Int, inout CatalogRowWriter) -> Void) throws(StoreError) {
        try executeEachRow(count: count, row: row)
    }

    /// `executeEach` through `execute(arguments:)`: each row's values as `CatalogValue`s.
    public func executeEachRow(count: Int, row: (Int, inout CatalogRowWriter) -> Void) throws(StoreError) {
        for i in 0..<count {
            var w = CatalogRowWriter(collecting: ())
            row(i, &w)
            try execute(arguments: CatalogArguments(values: w.values))
        }
    }
}

/// One row's arguments for `CatalogStatement.executeEach`, in placeholder order: bound into an
/// SQLite statement as they come, or collected as `CatalogValue`s.
public struct CatalogRowWriter {
    /// The SQLite statement bound into; nil: collecting `values`.
    let sqlite: OpaquePointer?
    /// Placeholders bound so far (SQLite).
    private(set) var bound: Int32 = 0
    /// The first failed binding's SQLite result code (0: none).
    private(set) var failure: Int32 = 0
    /// The values, when collecting.
    public private(set) var values: [CatalogValue] = []

    init(collecting: Void) {
        sqlite = nil
        values.reserveCapacity(4)
    }

    init(sqlite statement: OpaquePointer) { sqlite = statement }

    /// A digest, as a 32-byte BLOB.
    public mutating func digest(_ d: Digest) {
        guard let st = sqlite else { return values.append(.blob(d.data)) }
        var bytes = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &bytes) { buf in
            d.write(to: buf.baseAddress!)
            bind { sqlite3_bind_blob(st, $0, buf.baseAddress, 32, catalogRowTransient) }
        }
    }

    /// Bytes, as a BLOB (zero bytes are an empty BLOB, not NULL).
    public mutating func bytes(_ b: UnsafeRawBufferPointer) {
        guard let st = sqlite else { return values.append(.blob(Data(b))) }
        if let base = b.baseAddress, b.count > 0 {
            bind { sqlite3_bind_blob(st, $0, base, Int32(b.count), catalogRowTransient) }
        } else {
            bind { sqlite3_bind_zeroblob(st, $0, 0) }
        }
    }

    /// An integer.
    public mutating func integer(_ v: Int64) {
        guard let st = sqlite else { return values.append(.integer(v)) }
        bind { sqlite3_bind_int64(st, $0, v) }
    }

    private mutating func bind(_ call: (Int32) -> Int32) {
        bound += 1
        let rc = call(bound)
        if rc != SQLITE_OK && failure == 0 { failure = rc }
    }
}

/// SQLite's "copy the bytes now" destructor (`SQLITE_TRANSIENT`, a macro Swift cannot import).
private let catalogRowTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)

// MARK: - Fetch helpers, spelled like GRDB's

extension CatalogValueConvertible {
    /// The first column of the first row; nil if there is no row or the value is NULL. Traps
    /// if the value does not convert.
    public static func fetchOne(_ db: any CatalogTransaction, sql: String, arguments: CatalogArguments = [])
        throws(StoreError) -> Self?
    {
        try firstColumn(db.fetchFirstRow(sql: sql, arguments: arguments))
    }

    /// The first column of every row. Traps on NULL or a value that does not convert.
    public static func fetchAll(_ db: any CatalogTransaction, sql: String, arguments: CatalogArguments = [])
        throws(StoreError) -> [Self]
    {
        try db.fetchRows(sql: sql, arguments: arguments).map { $0[0] as Self }
    }

    /// `fetchOne` with a prepared statement.
    public static func fetchOne(_ statement: any CatalogStatement, arguments: CatalogArguments = [])
        throws(StoreError) -> Self?
    {
        try firstColumn(statement.fetchFirstRow(arguments: arguments))
    }

    /// `fetchAll` with a prepared statement.
    public static func fetchAll(_ statement: any CatalogStatement, arguments: CatalogArguments = [])
        throws(StoreError) -> [Self]
    {
        try statement.fetchRows(arguments: arguments).map { $0[0] as Self }
    }

    private static func firstColumn(_ row: CatalogRow?) -> Self? {
        guard let row, row.count > 0, !row.values[0].isNull else { return nil }
        return row[0] as Self
    }
}

extension CatalogValueConvertible where Self: Hashable {
    /// The first column of every row, as a set. Traps on NULL or a value that does not convert.
    public static func fetchSet(_ db: any CatalogTransaction, sql: String, arguments: CatalogArguments = [])
        throws(StoreError) -> Set<Self>
    {
        try Set(fetchAll(db, sql: sql, arguments: arguments))
    }
}

extension CatalogRow {
    /// Every row of a query.
    public static func fetchAll(_ db: any CatalogTransaction, sql: String, arguments: CatalogArguments = [])
        throws(StoreError) -> [CatalogRow]
    {
        try db.fetchRows(sql: sql, arguments: arguments)
    }

    /// The first row of a query, or nil.
    public static func fetchOne(_ db: any CatalogTransaction, sql: String, arguments: CatalogArguments = [])
        throws(StoreError) -> CatalogRow?
    {
        try db.fetchFirstRow(sql: sql, arguments: arguments)
    }

    /// Every row of a prepared statement.
    public static func fetchAll(_ statement: any CatalogStatement, arguments: CatalogArguments = [])
        throws(StoreError) -> [CatalogRow]
    {
        try statement.fetchRows(arguments: arguments)
    }

    /// The first row of a prepared statement, or nil.
    public static func fetchOne(_ statement: any CatalogStatement, arguments: CatalogArguments = [])
        throws(StoreError) -> CatalogRow?
    {
        try statement.fetchFirstRow(arguments: arguments)
    }
}
