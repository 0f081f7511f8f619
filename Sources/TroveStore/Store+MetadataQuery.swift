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
/// `j(key, type, …)` of its members, `type` being `integer`, `real`, `text`, `true` or `false`
/// (SQLite's `json_each` names). The value: SQLite's `j.atom` is dynamically typed (a boolean
/// as 1 or 0); PostgreSQL's columns have one type each, so its `j` has `num` (numbers, and
/// booleans as 1/0, as `numeric`) and `txt` (strings, byte-ordered like SQLite's text), and
/// every comparison names the one that matches the compared value.
struct MetadataSQL {
    typealias Args = [(any CatalogValueConvertible)?]

    /// The catalog's engine: the one place the listing SQL differs between engines.
    let engine: CatalogEngine

    /// The members of the row's metadata as `j(key, type, atom)` (SQLite) or
    /// `j(key, type, num, txt)` (PostgreSQL), for a FROM clause.
    var each: String {
        switch engine {
        case .sqlite: "json_each(versions.metadata) j"
        case .postgres:
            """
            LATERAL (SELECT e.key AS key,
              CASE jsonb_typeof(e.value)
                WHEN 'number' THEN CASE WHEN e.value::text ~ '^-?[0-9]+$' THEN 'integer' ELSE 'real' END
                WHEN 'string' THEN 'text' WHEN 'boolean' THEN e.value::text ELSE jsonb_typeof(e.value) END AS type,
              CASE jsonb_typeof(e.value)
                WHEN 'number' THEN (e.value::text)::numeric
                WHEN 'boolean' THEN CASE WHEN e.value = 'true'::jsonb THEN 1 ELSE 0 END END AS num,
              CASE jsonb_typeof(e.value) WHEN 'string' THEN (e.value #>> '{}') COLLATE "C" END AS txt
              FROM jsonb_each(versions.metadata::jsonb) e) j
            """
        }
    }

    /// The column of `j` compared with a number or boolean (`numeric`) or a string.
    func atom(numeric: Bool) -> String {
        switch engine {
        case .sqlite: "j.atom"
        case .postgres: numeric ? "j.num" : "j.txt"
        }
    }

    /// The column of `j` a bound `value` compares with.
    func atom(for value: CatalogValue) -> String {
        if case .text = value { return atom(numeric: false) }
        return atom(numeric: true)
    }

    /// `column` of `key`'s member in the row's metadata (SQL NULL if absent); one bound argument (the key).
    func valueOf(_ column: String) -> String { "(SELECT \(column) FROM \(each) WHERE j.key = ?)" }

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
        let txt = atom(numeric: false), num = atom(numeric: true)
        var match: String
        var args: Args
        if c.op.isOrdering {
            match = "j.type IN \(MetadataSQL.types(c.value.kind)) AND \(atom(numeric: c.value.kind != .string)) \(c.op) ?"
            args = [MetadataSQL.atom(c.value)]
        } else {
            switch c.value {
            case .string(let s):
                match = "j.type = 'text' AND \(txt) = ?"
                args = [s]
            case .bool(let b):
                match = "(j.type = ? OR (j.type = 'text' AND \(txt) = ?))"
                args = [b ? "true" : "false", text]
            case .integer, .number:
                match = "((j.type IN ('integer','real') AND \(num) = ?) OR (j.type = 'text' AND \(txt) = ?))"
                args = [MetadataSQL.atom(c.value), text]
            }
            if c.op == .ne { match = "NOT (\(match))" }
        }
        return (
            "EXISTS (SELECT 1 FROM \(each) WHERE j.key = ? AND \(match))",
            [c.key] + args
        )
    }

    /// `(s IS NULL), s ASC|DESC` for a sort, versions without the key last. (PostgreSQL sorts by
    /// both typed columns: a sorted key holds one kind, so the other is NULL throughout.)
    func order(_ s: MetadataSort) -> (String, Args) {
        let dir = s.descending ? "DESC" : "ASC"
        switch engine {
        case .sqlite:
            return ("(\(valueOf("j.atom")) IS NULL), \(valueOf("j.atom")) \(dir)", [s.key, s.key])
        case .postgres:
            return (
                "(\(valueOf("j.type")) IS NULL), \(valueOf("j.num")) \(dir), \(valueOf("j.txt")) \(dir)",
                [s.key, s.key, s.key]
            )
        }
    }

    /// Keyset condition for rows after `cursor` in a sorted listing; `tie` (with `tieArgs`) orders
    /// rows with equal sort values.
    func after(_ s: MetadataSort, value: CatalogValue, tie: String, tieArgs: Args) -> (String, Args) {
        let present = valueOf(engine == .sqlite ? "j.atom" : "j.type")
        if value.isNull { return ("(\(present) IS NULL AND \(tie))", [s.key] + tieArgs) }
        let cmp = s.descending ? "<" : ">"
        let v = valueOf(atom(for: value))
        return (
            "(\(present) IS NULL OR \(v) \(cmp) ? OR (\(v) = ? AND \(tie)))",
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
