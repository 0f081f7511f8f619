import PostgresNIO
import TroveStore

/// A PostgreSQL failure, classified for the Store: what a call site or the retry loop acts on.
public struct PostgresCatalogError: Error, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A unique or primary-key constraint refused a row (SQLSTATE 23505).
        case uniqueViolation
        /// The server's disk is full (53100).
        case diskFull
        /// A serialization failure (40001) or deadlock (40P01): the transaction may be run again.
        case conflict
        /// The connection failed, did not answer within the deadline (and was closed), or the
        /// server is shutting down or not accepting connections: retry later.
        case connectionLost
        /// Anything else (a bad statement, a type mismatch, …).
        case other
    }

    public let kind: Kind
    /// SQLSTATE, when the server sent one.
    public let sqlState: String?
    public let message: String
    public var description: String { message }

    init(_ kind: Kind, sqlState: String? = nil, _ message: String) {
        self.kind = kind
        self.sqlState = sqlState
        self.message = message
    }

    /// Classifies an error from postgres-nio (or passes one of ours through). `sql` is the
    /// statement it came from, for the message.
    static func from(_ error: any Error, sql: String? = nil) -> PostgresCatalogError {
        if let e = error as? PostgresCatalogError { return e }
        let statement = sql.map { " in `\($0.prefix(200))`" } ?? ""
        guard let e = error as? PSQLError else {
            return PostgresCatalogError(.other, "PostgreSQL client error\(statement): \(error)")
        }
        if let info = e.serverInfo {
            let state = info[.sqlState] ?? ""
            var text = "PostgreSQL \(info[.severity] ?? "ERROR") \(state): \(info[.message] ?? "")"
            if let d = info[.detail] { text += " (\(d))" }
            text += statement
            let kind: Kind =
                switch state {
                case "23505": .uniqueViolation
                case "53100": .diskFull
                case "40001", "40P01": .conflict
                case "57P01", "57P02", "57P03": .connectionLost
                case _ where state.hasPrefix("08"): .connectionLost
                default: .other
                }
            return PostgresCatalogError(kind, sqlState: state, text)
        }
        switch e.code {
        case .serverClosedConnection, .clientClosedConnection, .connectionError, .uncleanShutdown, .poolClosed:
            let cause = e.underlying.map { ": \($0)" } ?? ""
            return PostgresCatalogError(.connectionLost, "connection to PostgreSQL lost (\(e.code))\(cause)")
        default:
            let cause = e.underlying.map { ": \($0)" } ?? ""
            return PostgresCatalogError(.other, "PostgreSQL client error \(e.code)\(cause)\(statement)")
        }
    }

    /// As a Store error: a full disk is `.noSpace` (nothing was committed; the store stays
    /// writable), everything else `.catalog` with a message that says whether to retry.
    func storeError(_ where_: String) -> StoreError {
        switch kind {
        case .diskFull: .noSpace(path: where_, free: -1, needed: 0)
        case .connectionLost:
            .catalog(
                "the PostgreSQL catalog at \(where_) is unreachable or not answering (\(message)); "
                    + "the request did not complete: retry once it answers")
        default: .catalog(message)
        }
    }
}
