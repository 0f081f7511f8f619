import Foundation
import GRDB
import TroveCore

/// Which versions a listing wants. Everything is filtered in SQL: the name prefix as an index
/// range (`name >= 'p/' AND name < 'p0'`), metadata through `json_each`.
public struct VersionQuery: Sendable, Equatable {
    /// Names equal to this or under it (`a/b` matches `a/b` and `a/b/c`, not `a/bc`); "" for all.
    /// A trailing `/` is ignored.
    public var prefix: String
    /// Only this name (a log), instead of a prefix.
    public var name: String?
    public var includeRetired: Bool
    /// Metadata entries every version must have (key → value, compared as text).
    public var metadata: [String: String]
    /// Order: newest first; ties by name then version ascending for a listing, by version
    /// descending for a log (`name` set).
    public init(
        prefix: String = "", name: String? = nil, includeRetired: Bool = false, metadata: [String: String] = [:]
    ) {
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.name = name
        self.includeRetired = includeRetired
        self.metadata = metadata
    }
}

/// Where a listing page ended; pass it back to continue after it (keyset paging).
public struct VersionCursor: Sendable, Hashable {
    public var created: Int64
    public var name: String
    public var version: String

    public init(after v: VersionRecord) {
        created = v.created
        name = v.name
        version = v.version
    }
}

extension Store {
    /// Up to `limit` versions matching `query` that come after `cursor` in the query's order.
    /// Memory and time per page are bounded by the page, not by the number of versions.
    public func versions(_ query: VersionQuery, after cursor: VersionCursor? = nil, limit: Int)
        throws(StoreError) -> [VersionRecord]
    {
        var clauses: [String] = []
        var args: [(any DatabaseValueConvertible)?] = []
        if let name = query.name {
            clauses.append("name = ?")
            args.append(name)
        } else if !query.prefix.isEmpty {
            // '0' is the byte after '/': the range holds exactly the names under `prefix/`.
            clauses.append("(name = ? OR (name >= ? AND name < ?))")
            args += [query.prefix, query.prefix + "/", query.prefix + "0"]
        }
        if !query.includeRetired { clauses.append("retired IS NULL") }
        for (key, value) in query.metadata.sorted(by: { $0.key < $1.key }) {
            clauses.append(
                "EXISTS (SELECT 1 FROM json_each(versions.metadata) j WHERE j.key = ? AND j.value = ?)")
            args += [key, value]
        }
        // Newest first; ties by (name, version) ascending, or descending for a log.
        let log = query.name != nil
        if let c = cursor {
            let cmp = log ? "<" : ">"
            clauses.append(
                "(created < ? OR (created = ? AND (name \(cmp) ? OR (name = ? AND version \(cmp) ?))))")
            args += [c.created, c.created, c.name, c.name, c.version]
        }
        let order = log ? "created DESC, name DESC, version DESC" : "created DESC, name, version"
        let sql =
            "SELECT * FROM versions"
            + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
            + " ORDER BY \(order) LIMIT ?"
        args.append(max(1, limit))
        let arguments = StatementArguments(args)
        return try catalog.read { db in
            try Row.fetchAll(db, sql: sql, arguments: arguments).map { try Store.versionInfo(db, $0) }
        }
    }

    /// Every version matching `query` (all pages), in the query's order.
    public func allVersions(_ query: VersionQuery) throws(StoreError) -> [VersionRecord] {
        var out: [VersionRecord] = []
        var cursor: VersionCursor? = nil
        while true {
            let page = try versions(query, after: cursor, limit: 1000)
            out += page
            guard let last = page.last, page.count == 1000 else { return out }
            cursor = VersionCursor(after: last)
        }
    }

    /// Versions whose name is `prefix` or under it (all when empty), newest first.
    public func listVersions(prefix: String = "", includeRetired: Bool = false) throws(StoreError)
        -> [VersionRecord]
    {
        try allVersions(VersionQuery(prefix: prefix, includeRetired: includeRetired))
    }
}

extension Catalog {
    /// Indexes for `Store.versions`: newest first over all names, and per name (a log).
    static func createVersionOrderIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX versions_by_created ON versions(created DESC, name, version);
                CREATE INDEX versions_by_name_created ON versions(name, created DESC, version DESC);
                """)
    }
}
