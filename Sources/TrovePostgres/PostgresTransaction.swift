import Logging
import PostgresNIO
import TroveStore

/// One transaction on one lent connection: the Store's SQL (`?` placeholders) run statement by
/// statement, results as catalog rows. Used only inside `PostgresCatalog.read`/`write`, on the
/// calling thread. A failed statement is kept in `failure` (the transaction is then aborted on
/// the server) so the catalog can tell a retryable conflict from the body's own errors.
final class PostgresTransaction: CatalogTransaction {
    let connection: PostgresConnection
    let logger: Logger
    /// Where the catalog is (for messages).
    let location: String
    /// Seconds to wait for any statement's answer (`PostgresCatalogConfig.answerDeadline`).
    let deadline: Double
    /// Rows the last statement inserted, updated or deleted.
    private(set) var changesCount = 0
    /// The first statement that failed, if any.
    private(set) var failure: PostgresCatalogError?
    /// Placeholder-numbered SQL by the Store's text (statements repeat within a transaction).
    private var rewritten: [String: String] = [:]

    var engine: CatalogEngine { .postgres }

    init(connection: PostgresConnection, logger: Logger, location: String, deadline: Double) {
        self.connection = connection
        self.logger = logger
        self.location = location
        self.deadline = deadline
    }

    /// Runs one statement; its rows (column names from the first row).
    func run(_ sql: String, _ values: [CatalogValue]) throws(PostgresCatalogError) -> [CatalogRow] {
        do {
            return try query(sql, values)
        } catch {
            if failure == nil { failure = error }
            throw error
        }
    }

    private func query(_ sql: String, _ values: [CatalogValue]) throws(PostgresCatalogError) -> [CatalogRow] {
        let numbered: String
        if let r = rewritten[sql] {
            numbered = r
        } else {
            numbered = PostgresSQL.numberPlaceholders(sql).sql
            rewritten[sql] = numbered
        }
        let query = PostgresQuery(unsafeSQL: numbered, binds: PostgresValues.bindings(values))
        let result: PostgresQueryResult
        do {
            result = try connection.query(query, logger: logger).wait(within: deadline, "`\(sql.prefix(80))`")
        } catch {
            throw PostgresCatalogError.from(error, sql: sql)
        }
        changesCount = result.metadata.rows ?? 0
        guard let first = result.rows.first else { return [] }
        let columns = first.map(\.columnName)
        var rows = [CatalogRow]()
        rows.reserveCapacity(result.rows.count)
        for row in result.rows {
            var values = [CatalogValue]()
            values.reserveCapacity(columns.count)
            for cell in row {
                do { values.append(try PostgresValues.value(cell)) } catch {
                    throw PostgresCatalogError(.other, "\(error) in `\(sql.prefix(200))`")
                }
            }
            rows.append(CatalogRow(columns: columns, values: values))
        }
        return rows
    }

    /// Runs a statement with no parameters (transaction control).
    func command(_ sql: String) throws(PostgresCatalogError) {
        _ = try run(sql, [])
    }

    /// `run` with failures as Store errors (what the Store's code sees).
    func rows(_ sql: String, _ values: [CatalogValue]) throws(StoreError) -> [CatalogRow] {
        do { return try run(sql, values) } catch { throw error.storeError(location) }
    }

    func execute(sql: String, arguments: CatalogArguments) throws(StoreError) {
        _ = try rows(sql, arguments.values)
    }

    func executeScript(sql: String) throws(StoreError) {
        for statement in PostgresSQL.statements(sql) { _ = try rows(statement, []) }
    }

    func cachedStatement(sql: String) throws(StoreError) -> any CatalogStatement {
        PostgresStatement(transaction: self, sql: sql)
    }

    func fetchRows(sql: String, arguments: CatalogArguments) throws(StoreError) -> [CatalogRow] {
        try rows(sql, arguments.values)
    }

    func fetchFirstRow(sql: String, arguments: CatalogArguments) throws(StoreError) -> CatalogRow? {
        try rows(sql, arguments.values).first
    }
}

/// A statement reused in a loop (the SQL is rewritten once; the server parses it each time, as
/// an unnamed statement).
final class PostgresStatement: CatalogStatement {
    let transaction: PostgresTransaction
    let sql: String

    init(transaction: PostgresTransaction, sql: String) {
        self.transaction = transaction
        self.sql = sql
    }

    func execute(arguments: CatalogArguments) throws(StoreError) {
        _ = try transaction.rows(sql, arguments.values)
    }

    func fetchRows(arguments: CatalogArguments) throws(StoreError) -> [CatalogRow] {
        try transaction.rows(sql, arguments.values)
    }

    func fetchFirstRow(arguments: CatalogArguments) throws(StoreError) -> CatalogRow? {
        try transaction.rows(sql, arguments.values).first
    }
}
