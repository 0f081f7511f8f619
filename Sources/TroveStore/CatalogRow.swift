import Foundation

/// One result row: column names and values, read like GRDB's `Row` (`row["size"] as Int`,
/// `row[0] as Data`, `row["retired"] as Int64?`).
///
/// Column lookup by name is exact first, then case-insensitive (PostgreSQL folds unquoted
/// aliases to lower case). Ask for an optional type where a value may be NULL. A non-optional
/// read of NULL or of a missing column, and any read of a value that does not convert, traps
/// with the column's name, as GRDB's does: it is a bug in the SQL.
public struct CatalogRow: Sendable, Hashable {
    /// Column names, in select order (shared between the rows of one result).
    public let columns: [String]
    /// Values, one per column.
    public let values: [CatalogValue]

    /// A row from names and values (`columns.count == values.count`).
    public init(columns: [String], values: [CatalogValue]) {
        precondition(
            columns.count == values.count, "catalog row: \(columns.count) names, \(values.count) values")
        self.columns = columns
        self.values = values
    }

    /// The number of columns.
    public var count: Int { values.count }

    /// The index of `column`, or nil.
    public func index(of column: String) -> Int? {
        if let i = columns.firstIndex(of: column) { return i }
        return columns.firstIndex { $0.caseInsensitiveCompare(column) == .orderedSame }
    }

    /// Whether the row has this column.
    public func hasColumn(_ column: String) -> Bool { index(of: column) != nil }

    /// The raw value of `column` (`.null` if there is no such column).
    public func value(_ column: String) -> CatalogValue {
        index(of: column).map { values[$0] } ?? .null
    }

    /// The value of `column` as `T`; traps on a value that does not convert, and on NULL or a
    /// missing column unless `T` is optional (`row["retired"] as Int64?` is nil then).
    public subscript<T: CatalogValueConvertible>(_ column: String) -> T {
        guard let i = index(of: column) else {
            if let absent = T.fromCatalog(.null) { return absent }
            fatalError("catalog row has no column '\(column)' (\(columns))")
        }
        return decode(i, column)
    }

    /// The value at `index` as `T`; traps on a value that does not convert, and on NULL unless
    /// `T` is optional.
    public subscript<T: CatalogValueConvertible>(_ index: Int) -> T { decode(index, "#\(index)") }

    private func decode<T: CatalogValueConvertible>(_ i: Int, _ name: String) -> T {
        guard let v = T.fromCatalog(values[i]) else {
            fatalError("catalog column '\(name)': cannot read \(values[i]) as \(T.self)")
        }
        return v
    }
}

/// Store code reads rows as `Row`, as it did under GRDB.
typealias Row = CatalogRow
