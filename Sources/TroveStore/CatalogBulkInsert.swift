/// A multi-row INSERT for `CatalogTransaction.insertRows`: `INSERT INTO table (columns) VALUES
/// (?, …), (?, …), … suffix`, so many rows cost one statement instead of one each on PostgreSQL,
/// where a statement is a network round trip (~1 ms with the server on another host, a fraction
/// of that on loopback); SQLite keeps one prepared statement run per row (faster there). `suffix` is the common subset's
/// conflict clause, e.g. `ON CONFLICT DO NOTHING` (rows are inserted in order on both engines, so
/// the first of two rows with one key wins, as with one statement per row).
public struct CatalogBulkInsert: Sendable, Hashable {
    /// The table.
    public let table: String
    /// Its columns, in the order each row's values come.
    public let columns: [String]
    /// What follows the VALUES list (a conflict clause; may be empty).
    public let suffix: String

    public init(table: String, columns: [String], suffix: String = "") {
        precondition(!columns.isEmpty, "a bulk insert into \(table) names no column")
        self.table = table
        self.columns = columns
        self.suffix = suffix
    }

    /// The statement for `rows` rows.
    func sql(rows: Int) -> String {
        let tuple = "(" + Array(repeating: "?", count: columns.count).joined(separator: ", ") + ")"
        var sql = "INSERT INTO \(table) (\(columns.joined(separator: ", "))) VALUES "
        sql.reserveCapacity(sql.utf8.count + rows * (tuple.utf8.count + 2) + suffix.utf8.count + 1)
        for r in 0..<rows {
            if r > 0 { sql += ", " }
            sql += tuple
        }
        if !suffix.isEmpty { sql += " " + suffix }
        return sql
    }

    /// Rows per statement on `engine`. SQLite: one, a prepared statement run per row (no round
    /// trip to save; measured with release binaries, 64-row statements took 23.6 ms per 256 chunk
    /// rows against 2.4 ms row by row, docs/SCALING.md "Measuring"). PostgreSQL saves a round trip
    /// per statement, so it takes as many rows as a statement of reasonable size holds, within
    /// its limit of 65535 parameters.
    func rowsPerStatement(_ engine: CatalogEngine) -> Int {
        switch engine {
        case .sqlite: 1
        case .postgres: max(1, min(2000, 65535 / columns.count))
        }
    }
}

extension CatalogTransaction {
    /// Inserts rows with `insert`, as few statements as the engine allows. `values` holds the
    /// rows one after another, each `insert.columns.count` values in column order. Nothing to
    /// insert is no statement. A failure (a constraint, a full disk) throws like `execute` and
    /// leaves the transaction to roll back (some batches may have run).
    public func insertRows(_ insert: CatalogBulkInsert, values: [CatalogValue]) throws(StoreError) {
        let width = insert.columns.count
        precondition(values.count % width == 0, "\(values.count) values do not fill rows of \(width) columns")
        let rows = values.count / width
        guard rows > 0 else { return }
        let perStatement = insert.rowsPerStatement(engine)
        var full: (any CatalogStatement)? = nil
        var start = 0
        while start < rows {
            let n = min(perStatement, rows - start)
            let arguments = CatalogArguments(values: Array(values[(start * width)..<((start + n) * width)]))
            if n == perStatement {
                if full == nil { full = try cachedStatement(sql: insert.sql(rows: n)) }
                try full!.execute(arguments: arguments)
            } else {
                // The remainder: a statement of its own size, run once.
                try execute(sql: insert.sql(rows: n), arguments: arguments)
            }
            start += n
        }
    }
}

extension CatalogBulkInsert {
    /// Chunk index rows: (digest, pack, offset, stored length, raw length, codec, created,
    /// touched); a digest already indexed keeps its row.
    static let chunks = CatalogBulkInsert(
        table: "chunks",
        columns: ["digest", "pack", "\"offset\"", "stored_len", "raw_len", "codec", "created", "touched"],
        suffix: "ON CONFLICT DO NOTHING")
}

extension Array where Element == CatalogValue {
    /// Appends one `CatalogBulkInsert.chunks` row for `entry` in pack `pack` at time `now`.
    mutating func appendChunkRow(_ entry: PackEntry, pack: Int64, now: Int64) {
        append(.blob(entry.digest.data))
        append(.integer(pack))
        append(.integer(Int64(entry.offset)))
        append(.integer(Int64(entry.storedLength)))
        append(.integer(Int64(entry.rawLength)))
        append(.integer(Int64(entry.codec.rawValue)))
        append(.integer(now))
        append(.integer(now))
    }
}
