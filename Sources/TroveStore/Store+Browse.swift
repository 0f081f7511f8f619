import GRDB
import TroveCore

/// A name and its live versions (the web view's name index).
public struct NameSummary: Sendable, Equatable {
    public var name: String
    /// Live versions of the name.
    public var versions: Int
    /// When its newest live version was created (ms since the epoch).
    public var latest: Int64
}

/// The names index of the read-only web view (TroveWeb): names in pages, one SQL statement bounded
/// by its `limit`.
extension Store {
    /// Up to `limit` names with live versions, `prefix` or under it ("" for all), in name order,
    /// after `after` (keyset paging).
    public func names(prefix: String = "", after: String? = nil, limit: Int) throws(StoreError) -> [NameSummary] {
        let p = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        var clauses = ["retired IS NULL"]
        var args: [(any DatabaseValueConvertible)?] = []
        if !p.isEmpty {
            clauses.append("(name = ? OR (name >= ? AND name < ?))")
            args += [p, p + "/", p + "0"]
        }
        if let after {
            clauses.append("name > ?")
            args.append(after)
        }
        args.append(max(1, limit))
        let sql = """
            SELECT name, COUNT(*) AS n, MAX(created) AS latest FROM versions
            WHERE \(clauses.joined(separator: " AND ")) GROUP BY name ORDER BY name LIMIT ?
            """
        let arguments = StatementArguments(args)
        return try catalog.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map {
                NameSummary(name: $0["name"], versions: $0["n"], latest: $0["latest"])
            }
        }
    }
}
