import Foundation
import TroveCore
import TroveStore

/// One table `CatalogCopy` copies: its columns (the source's order), the primary key it pages
/// and hashes in, and the target's identity columns (their sequences follow the copied ids).
struct CopiedTable: Sendable, Equatable {
    let name: String
    let columns: [String]
    let key: [String]
    var identity: [String] = []
}

/// The count and SHA-256 of one table's rows read in key order (every column of every row).
public struct TableChecksum: Sendable, Equatable {
    public var rows: Int
    public var sha256: Digest
}

extension CopiedTable {
    /// `"name"`: every identifier quoted (`offset` is reserved in PostgreSQL).
    static func quote(_ identifier: String) -> String {
        "\"" + identifier.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    var quotedName: String { Self.quote(name) }
    var quotedColumns: [String] { columns.map(Self.quote) }

    /// The positions of the key columns among `columns`.
    var keyPositions: [Int] { key.map { k in columns.firstIndex(of: k)! } }

    /// A page of rows in key order: the first (`after` nil) or the one after `after`'s key values.
    /// Keys compare the same on both engines: integers, bytes (memcmp) and text as UTF-8 bytes
    /// (SQLite's BINARY collation, PostgreSQL's `COLLATE "C"` columns).
    func page(_ db: any CatalogTransaction, after: [CatalogValue]?, limit: Int) throws(StoreError)
        -> [CatalogRow]
    {
        let order = key.map(Self.quote).joined(separator: ", ")
        var sql = "SELECT \(quotedColumns.joined(separator: ", ")) FROM \(quotedName)"
        var arguments = CatalogArguments()
        if let after {
            let keys = key.map(Self.quote)
            sql +=
                keys.count == 1
                ? " WHERE \(keys[0]) > ?"
                : " WHERE (\(keys.joined(separator: ", "))) > (\(Array(repeating: "?", count: keys.count).joined(separator: ", ")))"
            arguments = CatalogArguments(values: after)
        }
        sql += " ORDER BY \(order) LIMIT ?"
        arguments.values.append(.integer(Int64(limit)))
        return try db.fetchRows(sql: sql, arguments: arguments)
    }

    /// Reads every row in key order, page by page, handing each page to `each`; the table's
    /// count and checksum.
    func scan(_ db: any CatalogTransaction, pageSize: Int, _ each: ([CatalogRow]) throws -> Void) throws
        -> TableChecksum
    {
        let hash = SHA256()
        var count = 0
        var after: [CatalogValue]? = nil
        let keyAt = keyPositions
        while true {
            let rows = try page(db, after: after, limit: pageSize)
            if rows.isEmpty { break }
            for row in rows { Self.update(hash, with: row.values) }
            count += rows.count
            try each(rows)
            guard rows.count == pageSize, let last = rows.last else { break }
            after = keyAt.map { last.values[$0] }
        }
        return TableChecksum(rows: count, sha256: hash.finalize())
    }

    /// Feeds one row to `hash` unambiguously: per value a type tag and its length-prefixed bytes.
    static func update(_ hash: SHA256, with values: [CatalogValue]) {
        func feed(_ tag: UInt8, _ payload: [UInt8]) {
            var header = [tag]
            withUnsafeBytes(of: UInt64(payload.count).littleEndian) { header += $0 }
            hash.update(header)
            hash.update(payload)
        }
        for v in values {
            switch v {
            case .null: feed(0, [])
            case .integer(let i): withUnsafeBytes(of: i.littleEndian) { feed(1, Array($0)) }
            case .real(let d): withUnsafeBytes(of: d.bitPattern.littleEndian) { feed(2, Array($0)) }
            case .text(let s): feed(3, Array(s.utf8))
            case .blob(let d): feed(4, Array(d))
            }
        }
    }
}

/// Reading the two catalogs' schemas: the tables to copy from the SQLite catalog (every table
/// but SQLite's and GRDB's own) and what the PostgreSQL catalog has of them.
enum CatalogSchemas {
    /// The SQLite catalog's tables (sorted by name) with their columns and primary keys, and its
    /// applied migrations.
    static func sqlite(_ db: any CatalogTransaction) throws(StoreError) -> (
        tables: [CopiedTable], migrations: Set<String>
    ) {
        let names = try String.fetchAll(
            db,
            sql: """
                SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'
                AND name <> 'grdb_migrations' ORDER BY name
                """)
        var tables: [CopiedTable] = []
        for name in names {
            let info = try db.fetchRows(
                sql: "SELECT name, pk FROM pragma_table_info(?) ORDER BY cid", arguments: [name])
            let columns = info.map { $0["name"] as String }
            let key = info.filter { ($0["pk"] as Int) > 0 }.sorted { ($0["pk"] as Int) < ($1["pk"] as Int) }
                .map { $0["name"] as String }
            tables.append(CopiedTable(name: name, columns: columns, key: key.isEmpty ? columns : key))
        }
        let migrations = try String.fetchSet(db, sql: "SELECT identifier FROM grdb_migrations")
        return (tables, migrations)
    }

    /// The PostgreSQL catalog's tables (but `schema_migrations`): name → (columns, identity
    /// columns); and its applied migrations.
    static func postgres(_ db: any CatalogTransaction) throws(StoreError)
        -> (tables: [String: (columns: [String], identity: [String])], migrations: Set<String>)
    {
        let rows = try db.fetchRows(
            sql: """
                SELECT c.table_name::text AS t, c.column_name::text AS c, c.is_identity::text AS i
                FROM information_schema.columns c JOIN information_schema.tables t
                  ON t.table_schema = c.table_schema AND t.table_name = c.table_name
                WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
                  AND c.table_name <> 'schema_migrations'
                ORDER BY c.table_name, c.ordinal_position
                """, arguments: [])
        var tables: [String: (columns: [String], identity: [String])] = [:]
        for r in rows {
            let t: String = r["t"]
            let c: String = r["c"]
            let i: String = r["i"]
            tables[t, default: ([], [])].columns.append(c)
            if i == "YES" { tables[t, default: ([], [])].identity.append(c) }
        }
        let migrations = try String.fetchSet(db, sql: "SELECT version FROM schema_migrations")
        return (tables, migrations)
    }

    /// The source's tables with the target's identity columns, after checking that both
    /// catalogs have the same tables, columns and migrations; else why not.
    static func match(
        source: (tables: [CopiedTable], migrations: Set<String>),
        target: (tables: [String: (columns: [String], identity: [String])], migrations: Set<String>)
    ) -> Result<[CopiedTable], CatalogCopyError> {
        var problems: [String] = []
        let missingMigrations = source.migrations.subtracting(target.migrations).sorted()
        let extraMigrations = target.migrations.subtracting(source.migrations).sorted()
        if !missingMigrations.isEmpty { problems.append("PostgreSQL lacks migrations \(missingMigrations)") }
        if !extraMigrations.isEmpty { problems.append("SQLite lacks migrations \(extraMigrations)") }
        var matched: [CopiedTable] = []
        for var t in source.tables {
            guard let there = target.tables[t.name] else {
                problems.append("PostgreSQL has no table \(t.name)")
                continue
            }
            if Set(there.columns) != Set(t.columns) {
                problems.append(
                    "table \(t.name): SQLite columns \(t.columns), PostgreSQL columns \(there.columns)")
            }
            t.identity = there.identity
            matched.append(t)
        }
        for name in Set(target.tables.keys).subtracting(source.tables.map(\.name)).sorted() {
            problems.append("SQLite has no table \(name)")
        }
        guard problems.isEmpty else {
            return .failure(
                CatalogCopyError(
                    "the SQLite and PostgreSQL catalogs' schemas differ (" + problems.joined(separator: "; ")
                        + "): run this troved's own build on both (troved opens the SQLite store and upgrades it "
                        + "when it starts) and copy again"))
        }
        return .success(matched)
    }
}
