import Foundation
import TroveCore
import TroveStore

/// Copies a store's SQLite catalog into a PostgreSQL catalog (`troved migrate`, docs/SCALING.md
/// "Moving an existing store"): every table of the SQLite catalog (versions, aliases and their
/// history, the ref log, the chunk index, packs, blobs, trees, inline objects, buckets and their
/// keys, multipart uploads, leases, GC and scrub state, the maintenance log), in pages of rows
/// read in primary-key order and written with multi-row INSERTs.
///
/// All or nothing: the whole copy is ONE PostgreSQL write transaction (holding the catalog's
/// write lock, so no troved writes to it meanwhile). Before it commits, every table is read
/// back and its row count and SHA-256 (of every column of every row, in key order) compared with
/// the source's; any failure, a crash or a kill rolls it back and leaves the target as it was.
/// Identity sequences (`packs.id`, `alias_history.id`, …) continue after the copied ids.
///
/// The target must be fresh (only what the schema creates: tables, `gc_state`'s first row).
/// A target that already holds exactly the source's rows is reported as copied (a re-run after
/// a copy that committed); one that holds anything else is refused unless `replace` is set.
/// The source is only read (in one read transaction: one snapshot).
public struct CatalogCopy {
    /// The SQLite catalog to copy from.
    public let source: any CatalogDatabase
    /// The PostgreSQL catalog to copy into (its schema is created or upgraded first).
    public let target: PostgresCatalog
    /// Overwrite a target that holds other rows (they are lost).
    public var replace: Bool
    /// Rows per page read (and per few INSERTs written).
    public var pageSize: Int = 4000

    public init(source: any CatalogDatabase, target: PostgresCatalog, replace: Bool = false) {
        self.source = source
        self.target = target
        self.replace = replace
    }

    /// Runs the copy; `progress` hears one line per table copied (for the operator).
    public func run(progress: (String) -> Void = { _ in }) throws(CatalogCopyError) -> CatalogCopyReport {
        guard source.engine == .sqlite else {
            throw CatalogCopyError("the catalog to copy from is not SQLite (\(source.location))")
        }
        do { try target.migrate() } catch {
            throw CatalogCopyError("cannot prepare the PostgreSQL catalog \(target.location): \(error)")
        }
        do {
            return try target.writeTransaction { pg in
                try source.readTransaction { sqlite in try copy(from: sqlite, to: pg, progress: progress) }
            }
        } catch let e as CatalogCopyError {
            throw e
        } catch {
            throw CatalogCopyError(
                "copying the catalog to \(target.location) failed, nothing was written there "
                    + "(the copy is one transaction): \(error)")
        }
    }

    /// The copy inside the two transactions.
    private func copy(
        from sqlite: any CatalogTransaction, to pg: any CatalogTransaction, progress: (String) -> Void
    ) throws -> CatalogCopyReport {
        let tables = try CatalogSchemas.match(
            source: try CatalogSchemas.sqlite(sqlite), target: try CatalogSchemas.postgres(pg)
        ).get()
        let held = try heldRows(pg, tables)
        if !held.isEmpty {
            let sourceSums = try checksums(sqlite, tables)
            if try checksums(pg, tables) == sourceSums {
                return CatalogCopyReport(
                    target: target.location,
                    tables: zip(tables, sourceSums).map { (name: $0.name, checksum: $1) }, alreadyThere: true)
            }
            guard replace else {
                let what = held.map { "\($0.table) \($0.rows)" }.joined(separator: ", ")
                throw CatalogCopyError(
                    "the PostgreSQL catalog \(target.location) is not empty and differs from the SQLite catalog "
                        + "(rows: \(what)): point [catalog] url at a new, empty database, or pass --replace-catalog "
                        + "to overwrite it (its rows are lost)")
            }
        }
        try pg.execute(sql: "TRUNCATE " + tables.map(\.quotedName).joined(separator: ", "))
        var copied: [(name: String, checksum: TableChecksum)] = []
        for t in tables {
            let insert = CatalogBulkInsert(table: t.quotedName, columns: t.quotedColumns)
            let sum = try t.scan(sqlite, pageSize: pageSize) { rows in
                var values = [CatalogValue]()
                values.reserveCapacity(rows.count * t.columns.count)
                for r in rows { values += r.values }
                try pg.insertRows(insert, values: values)
            }
            for column in t.identity {
                try pg.execute(
                    sql: """
                        SELECT setval(pg_get_serial_sequence(?, ?),
                          COALESCE((SELECT MAX(\(CopiedTable.quote(column))) FROM \(t.quotedName)), 0) + 1, false)
                        """, arguments: [t.name, column])
            }
            copied.append((name: t.name, checksum: sum))
            if sum.rows > 0 { progress("catalog: \(t.name): \(sum.rows) rows copied") }
        }
        // Read back what the transaction wrote before it commits.
        let written = try checksums(pg, tables)
        for (i, t) in tables.enumerated() where written[i] != copied[i].checksum {
            throw CatalogCopyError(
                "verifying table \(t.name) in \(target.location) failed (\(written[i].rows) rows read back, "
                    + "\(copied[i].checksum.rows) copied, checksums \(written[i].sha256 == copied[i].checksum.sha256 ? "equal" : "differ")): "
                    + "nothing was written (the copy is one transaction)")
        }
        return CatalogCopyReport(target: target.location, tables: copied, alreadyThere: false)
    }

    /// The tables of the target holding rows beyond what its schema creates (`gc_state`'s
    /// first row), with their counts.
    private func heldRows(_ pg: any CatalogTransaction, _ tables: [CopiedTable]) throws -> [(
        table: String, rows: Int
    )] {
        var held: [(String, Int)] = []
        for t in tables {
            let n = try Int.fetchOne(pg, sql: "SELECT COUNT(*) FROM \(t.quotedName)") ?? 0
            if t.name == "gc_state" {
                let fresh = try Int.fetchOne(
                    pg,
                    sql: """
                        SELECT COUNT(*) FROM gc_state WHERE id = 1 AND active = 0 AND epoch = 0
                          AND started IS NULL AND cutoff IS NULL AND phase IS NULL
                        """)
                if n == 1 && fresh == 1 { continue }
            }
            if n > 0 { held.append((t.name, n)) }
        }
        return held
    }

    private func checksums(_ db: any CatalogTransaction, _ tables: [CopiedTable]) throws -> [TableChecksum] {
        try tables.map { t in try t.scan(db, pageSize: pageSize) { _ in } }
    }
}

/// What `CatalogCopy.run` did.
public struct CatalogCopyReport: Sendable {
    /// The PostgreSQL catalog (its URL without the password).
    public let target: String
    /// Each table copied, by name, with its rows' count and checksum (equal on both sides).
    public let tables: [(name: String, checksum: TableChecksum)]
    /// The target already held exactly these rows (an earlier copy had committed): nothing written.
    public let alreadyThere: Bool

    /// Rows in all tables.
    public var rows: Int { tables.reduce(0) { $0 + $1.checksum.rows } }

    /// One line for the operator.
    public var summary: String {
        let counts = tables.filter { $0.checksum.rows > 0 }.map { "\($0.name) \($0.checksum.rows)" }
            .joined(separator: ", ")
        let what = alreadyThere ? "already there, identical" : "copied and verified"
        return "catalog: \(rows) rows in \(tables.count) tables \(what) in \(target) (\(counts))"
    }
}

/// `CatalogCopy` could not copy; the message says why and what to do.
public struct CatalogCopyError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
