import Foundation
import TroveCore

/// Which versions a listing wants. Everything is filtered in SQL: the name prefix as an index
/// range (`name >= 'p/' AND name < 'p0'`), metadata conditions and sorting through `json_each`
/// (Store+MetadataQuery.swift).
public struct VersionQuery: Sendable, Equatable {
    /// Names equal to this or under it (`a/b` matches `a/b` and `a/b/c`, not `a/bc`); "" for all.
    /// A trailing `/` is ignored.
    public var prefix: String
    /// Only this name (a log), instead of a prefix.
    public var name: String?
    public var includeRetired: Bool
    /// Metadata entries every version must have (key → value, matching the value's text form:
    /// the same as an `=` condition).
    public var metadata: [String: String]
    /// Conditions every version must meet (`auc>=0.9`, `validated=true`); see `MetadataCondition`.
    public var conditions: [MetadataCondition]
    /// Order by this metadata key first (versions without it last), then as below.
    public var sort: MetadataSort?
    /// Order: newest first; ties by name then version ascending for a listing, by version
    /// descending for a log (`name` set).
    public init(
        prefix: String = "", name: String? = nil, includeRetired: Bool = false, metadata: [String: String] = [:],
        conditions: [MetadataCondition] = [], sort: MetadataSort? = nil
    ) {
        self.prefix = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
        self.name = name
        self.includeRetired = includeRetired
        self.metadata = metadata
        self.conditions = conditions
        self.sort = sort
    }

    /// `metadata` and `conditions` together.
    var allConditions: [MetadataCondition] {
        metadata.sorted(by: { $0.key < $1.key }).map {
            MetadataCondition(key: $0.key, op: .eq, value: MetadataValue(literal: $0.value))
        } + conditions
    }
}

/// Where a listing page ended; pass it back to continue after it (keyset paging).
public struct VersionCursor: Sendable, Hashable {
    public var created: Int64
    public var name: String
    public var version: String
    /// The sort key's value of that version in a sorted listing (NULL if it has none).
    public var sortValue: CatalogValue

    /// The cursor after `v`; pass the query's `sort` for a sorted listing.
    public init(after v: VersionRecord, sort: MetadataSort? = nil) {
        created = v.created
        name = v.name
        version = v.version
        sortValue = sort.flatMap { v.metadata[$0.key] }.flatMap { MetadataSQL.atom($0)?.catalogValue } ?? .null
    }
}

extension Store {
    /// Up to `limit` versions matching `query` that come after `cursor` in the query's order.
    /// Memory and time per page are bounded by the page, not by the number of versions.
    public func versions(_ query: VersionQuery, after cursor: VersionCursor? = nil, limit: Int)
        throws(StoreError) -> [VersionRecord]
    {
        let metadata = MetadataSQL(engine: catalog.engine)
        var clauses: [String] = []
        var args: [(any CatalogValueConvertible)?] = []
        if let name = query.name {
            clauses.append("name = ?")
            args.append(name)
        } else if !query.prefix.isEmpty {
            // '0' is the byte after '/': the range holds exactly the names under `prefix/`.
            clauses.append("(name = ? OR (name >= ? AND name < ?))")
            args += [query.prefix, query.prefix + "/", query.prefix + "0"]
        }
        if !query.includeRetired { clauses.append("retired IS NULL") }
        let conditions = query.allConditions
        if cursor == nil && (query.sort != nil || conditions.contains { $0.op.isOrdering }) {
            try checkComparable(
                query, scope: clauses.map { $0 + " AND " }.joined(), args: args)
        }
        for c in conditions {
            let (clause, a) = metadata.clause(c)
            clauses.append(clause)
            args += a
        }
        // Newest first; ties by (name, version) ascending, or descending for a log.
        let log = query.name != nil
        if let c = cursor {
            let cmp = log ? "<" : ">"
            let tie = "(created < ? OR (created = ? AND (name \(cmp) ? OR (name = ? AND version \(cmp) ?))))"
            let tieArgs: MetadataSQL.Args = [c.created, c.created, c.name, c.name, c.version]
            if let s = query.sort {
                let (clause, a) = metadata.after(s, value: c.sortValue, tie: tie, tieArgs: tieArgs)
                clauses.append(clause)
                args += a
            } else {
                // `created <= c` first: a bound the index range can use, so a page starts at the
                // cursor instead of re-reading (and re-filtering) every version before it.
                clauses.insert("created <= ?", at: 0)
                args.insert(c.created, at: 0)
                clauses.append(tie)
                args += tieArgs
            }
        }
        var order = log ? "created DESC, name DESC, version DESC" : "created DESC, name, version"
        if let s = query.sort {
            let (o, a) = metadata.order(s)
            order = o + ", " + order
            args += a
        }
        let sql =
            "SELECT * FROM versions"
            + (clauses.isEmpty ? "" : " WHERE " + clauses.joined(separator: " AND "))
            + " ORDER BY \(order) LIMIT ?"
        args.append(max(1, limit))
        let arguments = CatalogArguments(args)
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
            cursor = VersionCursor(after: last, sort: query.sort)
        }
    }

    /// Versions whose name is `prefix` or under it (all when empty), newest first.
    public func listVersions(prefix: String = "", includeRetired: Bool = false) throws(StoreError)
        -> [VersionRecord]
    {
        try allVersions(VersionQuery(prefix: prefix, includeRetired: includeRetired))
    }
}
