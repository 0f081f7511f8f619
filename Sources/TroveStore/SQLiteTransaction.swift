import Foundation
import GRDB
import GRDBSQLite

/// `CatalogTransaction` over one GRDB `Database` inside `SQLiteCatalog.read`/`write`.
final class SQLiteTransaction: CatalogTransaction {
    let db: Database
    let catalog: SQLiteCatalog

    init(_ db: Database, catalog: SQLiteCatalog) {
        self.db = db
        self.catalog = catalog
    }

    var engine: CatalogEngine { .sqlite }

    var changesCount: Int { db.changesCount }

    func execute(sql: String, arguments: CatalogArguments) throws(StoreError) {
        try prepare(sql).execute(arguments: arguments)
    }

    func executeScript(sql: String) throws(StoreError) {
        do { try db.execute(sql: sql) } catch { throw catalog.failure(error) }
    }

    func cachedStatement(sql: String) throws(StoreError) -> any CatalogStatement {
        do { return SQLiteStatement(try db.cachedStatement(sql: sql), sql: sql, in: self) } catch {
            throw catalog.failure(error)
        }
    }

    func fetchRows(sql: String, arguments: CatalogArguments) throws(StoreError) -> [CatalogRow] {
        try prepare(sql).fetchRows(arguments: arguments)
    }

    func fetchFirstRow(sql: String, arguments: CatalogArguments) throws(StoreError) -> CatalogRow? {
        try prepare(sql).fetchFirstRow(arguments: arguments)
    }

    /// A one-off statement (not cached: SQL built per call would fill the cache).
    private func prepare(_ sql: String) throws(StoreError) -> SQLiteStatement {
        do { return SQLiteStatement(try db.makeStatement(sql: sql), sql: sql, in: self) } catch {
            throw catalog.failure(error)
        }
    }
}

/// `CatalogStatement` over a GRDB-prepared statement, run through SQLite's C API: arguments
/// bound straight from `CatalogValue`s, columns read straight into them.
final class SQLiteStatement: CatalogStatement {
    let statement: Statement
    let sql: String
    unowned let transaction: SQLiteTransaction

    init(_ statement: Statement, sql: String, in transaction: SQLiteTransaction) {
        self.statement = statement
        self.sql = sql
        self.transaction = transaction
    }

    func execute(arguments: CatalogArguments) throws(StoreError) {
        let raw = try bind(arguments)
        defer { sqlite3_reset(raw) }
        while try step(raw) {}
    }

    func fetchRows(arguments: CatalogArguments) throws(StoreError) -> [CatalogRow] {
        let raw = try bind(arguments)
        defer { sqlite3_reset(raw) }
        var rows: [CatalogRow] = []
        let columns = statement.columnNames
        while try step(raw) { rows.append(CatalogRow(columns: columns, values: values(raw))) }
        return rows
    }

    func fetchFirstRow(arguments: CatalogArguments) throws(StoreError) -> CatalogRow? {
        let raw = try bind(arguments)
        defer { sqlite3_reset(raw) }
        guard try step(raw) else { return nil }
        return CatalogRow(columns: statement.columnNames, values: values(raw))
    }

    func executeEach(count: Int, row: (Int, inout CatalogRowWriter) -> Void) throws(StoreError) {
        let raw = statement.sqliteStatement
        let expected = sqlite3_bind_parameter_count(raw)
        defer {
            sqlite3_reset(raw)
            sqlite3_clear_bindings(raw)
        }
        for i in 0..<count {
            sqlite3_reset(raw)
            var w = CatalogRowWriter(sqlite: raw)
            row(i, &w)
            if w.failure != 0 { throw failure(w.failure) }
            guard w.bound == expected else {
                throw .catalog("statement takes \(expected) arguments, got \(w.bound): \(sql)")
            }
            while try step(raw) {}
        }
    }

    /// Resets the statement and binds `arguments` to its placeholders, in order.
    private func bind(_ arguments: CatalogArguments) throws(StoreError) -> OpaquePointer {
        let raw = statement.sqliteStatement
        sqlite3_reset(raw)
        sqlite3_clear_bindings(raw)
        let expected = Int(sqlite3_bind_parameter_count(raw))
        guard expected == arguments.values.count else {
            throw .catalog("statement takes \(expected) arguments, got \(arguments.values.count): \(sql)")
        }
        for (i, value) in arguments.values.enumerated() {
            let index = Int32(i + 1)
            let rc: Int32
            switch value {
            case .null: rc = sqlite3_bind_null(raw, index)
            case .integer(let v): rc = sqlite3_bind_int64(raw, index, v)
            case .real(let v): rc = sqlite3_bind_double(raw, index, v)
            case .text(let s):
                var s = s
                rc = s.withUTF8 { buf in
                    // An empty string is bound as "", not NULL (a nil pointer binds NULL).
                    guard let base = buf.baseAddress, buf.count > 0 else {
                        return sqlite3_bind_text(raw, index, "", 0, sqliteTransient)
                    }
                    return sqlite3_bind_text(raw, index, base, Int32(buf.count), sqliteTransient)
                }
            case .blob(let d):
                rc = d.withUnsafeBytes { buf in
                    // An empty blob is bound as zero bytes, not NULL (a nil pointer binds NULL).
                    guard let base = buf.baseAddress, buf.count > 0 else {
                        return sqlite3_bind_zeroblob(raw, index, 0)
                    }
                    return sqlite3_bind_blob(raw, index, base, Int32(buf.count), sqliteTransient)
                }
            }
            guard rc == SQLITE_OK else { throw failure(rc) }
        }
        return raw
    }

    /// Steps once: true when a row is available, false when done.
    private func step(_ raw: OpaquePointer) throws(StoreError) -> Bool {
        switch sqlite3_step(raw) {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        case let rc: throw failure(rc)
        }
    }

    /// The current row's values.
    private func values(_ raw: OpaquePointer) -> [CatalogValue] {
        let n = sqlite3_column_count(raw)
        var values: [CatalogValue] = []
        values.reserveCapacity(Int(n))
        for i in 0..<n {
            switch sqlite3_column_type(raw, i) {
            case SQLITE_INTEGER: values.append(.integer(sqlite3_column_int64(raw, i)))
            case SQLITE_FLOAT: values.append(.real(sqlite3_column_double(raw, i)))
            case SQLITE_TEXT:
                let text = sqlite3_column_text(raw, i)
                let count = Int(sqlite3_column_bytes(raw, i))
                values.append(
                    .text(
                        text.map {
                            String(decoding: UnsafeBufferPointer(start: $0, count: count), as: UTF8.self)
                        } ?? ""))
            case SQLITE_BLOB:
                let bytes = sqlite3_column_blob(raw, i)
                let count = Int(sqlite3_column_bytes(raw, i))
                values.append(.blob(bytes.map { Data(bytes: $0, count: count) } ?? Data()))
            default: values.append(.null)
            }
        }
        return values
    }

    private func failure(_ rc: Int32) -> StoreError {
        transaction.catalog.failure(code: rc, connection: transaction.db.sqliteConnection, sql: sql)
    }
}

/// SQLite's "copy the bytes now" destructor (`SQLITE_TRANSIENT`, a macro Swift cannot import).
private let sqliteTransient = unsafeBitCast(-1, to: sqlite3_destructor_type.self)
