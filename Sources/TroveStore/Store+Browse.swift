import TroveCore

/// A name and its live versions (the web view's name index).
public struct NameSummary: Sendable, Equatable {
    public var name: String
    /// Live versions of the name, counted up to `Store.nameCountLimit`.
    public var versions: Int
    /// The name has more live versions than `versions` (the count stopped at the limit).
    public var moreVersions: Bool
    /// When its newest live version was created (ms since the epoch).
    public var latest: Int64
}

/// The names index of the read-only web view (TroveWeb): names in pages. A page of N names is
/// about 3N indexed lookups, whatever the number of versions: the next live name after the last
/// one (primary key order), its newest live version, and its live versions counted up to a cap.
extension Store {
    /// Version counts on a name page stop here (`moreVersions`).
    public static let nameCountLimit = 1000

    /// Up to `limit` names with live versions, `prefix` or under it ("" for all), in name order,
    /// after `after` (keyset paging).
    public func names(prefix: String = "", after: String? = nil, limit: Int) throws(StoreError) -> [NameSummary] {
        let p = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        let cap = Store.nameCountLimit
        return try catalog.read { db in
            var out: [NameSummary] = []
            func summary(_ name: String) throws -> NameSummary {
                let n =
                    try Int.fetchOne(
                        db,
                        sql: "SELECT COUNT(*) FROM (SELECT 1 FROM versions WHERE name = ? AND retired IS NULL LIMIT ?) AS page",
                        arguments: [name, cap + 1]) ?? 0
                // SQLite is told the index (its planner may pick another); PostgreSQL's finds it.
                let indexed = db.engine == .sqlite ? " INDEXED BY versions_by_name_created" : ""
                let latest =
                    try Int64.fetchOne(
                        db,
                        sql: """
                            SELECT created FROM versions\(indexed)
                            WHERE name = ? AND retired IS NULL ORDER BY created DESC LIMIT 1
                            """, arguments: [name]) ?? 0
                return NameSummary(name: name, versions: min(n, cap), moreVersions: n > cap, latest: latest)
            }
            var last = after
            var inclusive = false
            if !p.isEmpty {
                // The prefix itself is a name too, and sorts before every name under it.
                if (after ?? "") < p,
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM versions WHERE name = ? AND retired IS NULL LIMIT 1", arguments: [p])
                        ?? false
                {
                    out.append(try summary(p))
                }
                if (last ?? "") < p + "/" {
                    last = p + "/"
                    inclusive = true
                }
            }
            let upper = p.isEmpty ? nil : p + "0"
            while out.count < max(1, limit) {
                var sql = "SELECT name FROM versions WHERE retired IS NULL"
                var args: [(any CatalogValueConvertible)?] = []
                if let l = last {
                    sql += inclusive ? " AND name >= ?" : " AND name > ?"
                    args.append(l)
                }
                if let upper {
                    sql += " AND name < ?"
                    args.append(upper)
                }
                sql += " ORDER BY name LIMIT 1"
                guard let name = try String.fetchOne(db, sql: sql, arguments: CatalogArguments(args)) else { break }
                out.append(try summary(name))
                last = name
                inclusive = false
            }
            return out
        }
    }
}
