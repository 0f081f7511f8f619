import TroveCore

/// Sorting a listing by a metadata key.
public struct MetadataSort: Sendable, Hashable {
    /// The metadata key.
    public var key: String
    /// Largest first.
    public var descending: Bool

    public init(key: String, descending: Bool = false) {
        self.key = key
        self.descending = descending
    }
}

/// SQL for metadata conditions and sorting over the `versions.metadata` JSON object, as rows
/// `j(key, type, atom)` of its members (SQLite's `json_each`: `type` is `integer`, `real`,
/// `text`, `true` or `false`; `atom` the value, a boolean as 1 or 0).
struct MetadataSQL {
    typealias Args = [(any CatalogValueConvertible)?]

    /// The catalog's engine: the one place the listing SQL differs between engines.
    let engine: CatalogEngine

    /// The members of the row's metadata as `j(key, type, atom)`, for a FROM clause.
    var each: String {
        switch engine {
        case .sqlite: "json_each(versions.metadata) j"
        case .postgres:
            // TODO(pgengine): untested. `atom` must compare as a number for numbers and as text
            // for text (SQLite's json_each atom is typed); here it is text for strings and
            // booleans (1/0) and a number cast for numbers only where `type` says so.
            """
            LATERAL (SELECT e.key AS key,
              CASE jsonb_typeof(e.value)
                WHEN 'number' THEN CASE WHEN e.value::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
                WHEN 'string' THEN 'text' WHEN 'boolean' THEN e.value::text ELSE jsonb_typeof(e.value) END AS type,
              e.value AS atom
              FROM jsonb_each(versions.metadata::jsonb) e) j
            """
        }
    }

    /// The value of `key` in the row's metadata (SQL NULL if absent); one bound argument (the key).
    var valueOf: String { "(SELECT j.atom FROM \(each) WHERE j.key = ?)" }

    static func types(_ kind: MetadataValue.Kind) -> String {
        switch kind {
        case .number: "('integer','real')"
        case .string: "('text')"
        case .boolean: "('true','false')"
        }
    }

    /// The value as SQLite compares it (a boolean as json_each's atom, 1 or 0).
    static func atom(_ v: MetadataValue) -> (any CatalogValueConvertible)? {
        switch v {
        case .string(let s): s
        case .integer(let i): i
        case .number(let d): d
        case .bool(let b): b ? 1 : 0
        }
    }

    /// A WHERE clause (and its arguments) for one condition. Versions without the key match none.
    /// Equality also matches the value's text form in a string (`epochs=12` matches "12").
    func clause(_ c: MetadataCondition) -> (String, Args) {
        let text = c.value.description
        var match: String
        var args: Args
        if c.op.isOrdering {
            match = "j.type IN \(MetadataSQL.types(c.value.kind)) AND j.atom \(c.op) ?"
            args = [MetadataSQL.atom(c.value)]
        } else {
            switch c.value {
            case .string(let s):
                match = "j.type = 'text' AND j.atom = ?"
                args = [s]
            case .bool(let b):
                match = "(j.type = ? OR (j.type = 'text' AND j.atom = ?))"
                args = [b ? "true" : "false", text]
            case .integer, .number:
                match = "((j.type IN ('integer','real') AND j.atom = ?) OR (j.type = 'text' AND j.atom = ?))"
                args = [MetadataSQL.atom(c.value), text]
            }
            if c.op == .ne { match = "NOT (\(match))" }
        }
        return (
            "EXISTS (SELECT 1 FROM \(each) WHERE j.key = ? AND \(match))",
            [c.key] + args
        )
    }

    /// `(s IS NULL), s ASC|DESC` for a sort, versions without the key last.
    func order(_ s: MetadataSort) -> (String, Args) {
        ("(\(valueOf) IS NULL), \(valueOf) \(s.descending ? "DESC" : "ASC")", [s.key, s.key])
    }

    /// Keyset condition for rows after `cursor` in a sorted listing; `tie` (with `tieArgs`) orders
    /// rows with equal sort values.
    func after(_ s: MetadataSort, value: CatalogValue, tie: String, tieArgs: Args) -> (String, Args) {
        if value.isNull { return ("(\(valueOf) IS NULL AND \(tie))", [s.key] + tieArgs) }
        let cmp = s.descending ? "<" : ">"
        return (
            "(\(valueOf) IS NULL OR \(valueOf) \(cmp) ? OR (\(valueOf) = ? AND \(tie)))",
            [s.key, s.key, value, s.key, value] + tieArgs
        )
    }
}

extension Store {
    /// Refuses conditions and sorts that would compare values of different kinds: an ordering
    /// (`<`, `<=`, `>`, `>=`) on a boolean, or on a key some version in scope holds as another
    /// kind; a sort on a key held as more than one kind. `scope` is the name/retired clause.
    func checkComparable(_ query: VersionQuery, scope: String, args: MetadataSQL.Args) throws(StoreError) {
        let under = query.name ?? (query.prefix.isEmpty ? "the store" : "'\(query.prefix)'")
        let kindOf = """
            CASE WHEN j.type IN ('integer','real') THEN 'number' WHEN j.type = 'text' THEN 'string'
            WHEN j.type IN ('true','false') THEN 'boolean' ELSE j.type END
            """
        let from = "FROM versions, \(MetadataSQL(engine: catalog.engine).each) WHERE \(scope) j.key = ?"
        for c in query.conditions where c.op.isOrdering {
            let kind = c.value.kind
            guard kind != .boolean else {
                throw .invalidArgument(
                    "cannot evaluate \(c): booleans have no order; use \(c.key)=\(c.value) or \(c.key)!=\(c.value)")
            }
            let other = try catalog.read { db in
                try String.fetchOne(
                    db, sql: "SELECT \(kindOf) \(from) AND j.type NOT IN \(MetadataSQL.types(kind)) LIMIT 1",
                    arguments: CatalogArguments(args + [c.key]))
            }
            if let other {
                throw .invalidArgument(
                    "cannot evaluate \(c): it compares \(kind)s, but \(c.key) is a \(other) in some versions "
                        + "under \(under); values of different types are never ordered against each other. "
                        + (kind == .number
                            ? "Metadata pushed with --meta is text: push numbers with --meta-file, or "
                                + "match the text with \(c.key)=VALUE"
                            : "Quote nothing and write a number to compare numbers (\(c.key)>=0.9)"))
            }
        }
        if let s = query.sort {
            let kinds = try catalog.read { db in
                try String.fetchAll(
                    db, sql: "SELECT DISTINCT \(kindOf) \(from) LIMIT 2",
                    arguments: CatalogArguments(args + [s.key]))
            }
            if kinds.count > 1 {
                throw .invalidArgument(
                    "cannot sort by \(s.key): it is a \(kinds[0]) in some versions under \(under) and a "
                        + "\(kinds[1]) in others; values of different types are never ordered against each other")
            }
        }
    }
}
