import GRDB
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

/// SQL for metadata conditions and sorting over the `versions.metadata` JSON object (typed values:
/// `json_each` reports `integer`, `real`, `text`, `true` or `false`).
enum MetadataSQL {
    typealias Args = [(any DatabaseValueConvertible)?]

    /// The value of `key` in the row's metadata (SQL NULL if absent); one bound argument (the key).
    static let valueOf = "(SELECT j.atom FROM json_each(versions.metadata) j WHERE j.key = ?)"

    static func types(_ kind: MetadataValue.Kind) -> String {
        switch kind {
        case .number: "('integer','real')"
        case .string: "('text')"
        case .boolean: "('true','false')"
        }
    }

    /// The value as SQLite compares it (a boolean as json_each's atom, 1 or 0).
    static func atom(_ v: MetadataValue) -> (any DatabaseValueConvertible)? {
        switch v {
        case .string(let s): s
        case .integer(let i): i
        case .number(let d): d
        case .bool(let b): b ? 1 : 0
        }
    }

    /// A WHERE clause (and its arguments) for one condition. Versions without the key match none.
    /// Equality also matches the value's text form in a string (`epochs=12` matches "12").
    static func clause(_ c: MetadataCondition) -> (String, Args) {
        let text = c.value.description
        var match: String
        var args: Args
        if c.op.isOrdering {
            match = "j.type IN \(types(c.value.kind)) AND j.atom \(c.op) ?"
            args = [atom(c.value)]
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
                args = [atom(c.value), text]
            }
            if c.op == .ne { match = "NOT (\(match))" }
        }
        return (
            "EXISTS (SELECT 1 FROM json_each(versions.metadata) j WHERE j.key = ? AND \(match))",
            [c.key] + args
        )
    }

    /// `(s IS NULL), s ASC|DESC` for a sort, versions without the key last.
    static func order(_ s: MetadataSort) -> (String, Args) {
        ("(\(valueOf) IS NULL), \(valueOf) \(s.descending ? "DESC" : "ASC")", [s.key, s.key])
    }

    /// Keyset condition for rows after `cursor` in a sorted listing; `tie` (with `tieArgs`) orders
    /// rows with equal sort values.
    static func after(_ s: MetadataSort, value: DatabaseValue, tie: String, tieArgs: Args) -> (String, Args) {
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
        let from = "FROM versions, json_each(versions.metadata) j WHERE \(scope) j.key = ?"
        for c in query.conditions where c.op.isOrdering {
            let kind = c.value.kind
            guard kind != .boolean else {
                throw .invalidArgument(
                    "cannot evaluate \(c): booleans have no order; use \(c.key)=\(c.value) or \(c.key)!=\(c.value)")
            }
            let other = try catalog.read { db in
                try String.fetchOne(
                    db, sql: "SELECT \(kindOf) \(from) AND j.type NOT IN \(MetadataSQL.types(kind)) LIMIT 1",
                    arguments: StatementArguments(args + [c.key]))
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
                    arguments: StatementArguments(args + [s.key]))
            }
            if kinds.count > 1 {
                throw .invalidArgument(
                    "cannot sort by \(s.key): it is a \(kinds[0]) in some versions under \(under) and a "
                        + "\(kinds[1]) in others; values of different types are never ordered against each other")
            }
        }
    }
}
