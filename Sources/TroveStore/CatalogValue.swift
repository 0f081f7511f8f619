import Foundation

/// One value in the catalog, the same on every engine (see CatalogDatabase.swift): SQL `NULL`,
/// a 64-bit integer, a double, UTF-8 text or bytes. Engines convert their own types to these:
/// PostgreSQL `bool` arrives as `.integer(0/1)`, `numeric` sums as `.integer`, `bytea` as `.blob`.
public enum CatalogValue: Sendable, Hashable {
    case null
    case integer(Int64)
    case real(Double)
    case text(String)
    case blob(Data)

    /// `true` for `.null`.
    public var isNull: Bool {
        if case .null = self { return true }
        return false
    }
}

/// A Swift value that can be bound as a statement argument and decoded from a result column.
///
/// Decoding is lenient the way GRDB's is, so SQL written for SQLite reads the same on
/// PostgreSQL: integers from whole reals, reals from integers, `Bool` from any number (non-zero
/// is true), `String` from UTF-8 bytes, `Data` from text.
public protocol CatalogValueConvertible {
    /// The value as a catalog value (for binding).
    var catalogValue: CatalogValue { get }
    /// The value from a catalog value; `nil` if it is NULL or cannot convert (for non-optional
    /// types); `Optional` returns `.some(nil)` for NULL.
    static func fromCatalog(_ v: CatalogValue) -> Self?
}

extension Int64: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(self) }
    public static func fromCatalog(_ v: CatalogValue) -> Int64? {
        switch v {
        case .integer(let i): i
        case .real(let d): Int64(exactly: d)
        default: nil
        }
    }
}

extension Int: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(Int64(self)) }
    public static func fromCatalog(_ v: CatalogValue) -> Int? {
        Int64.fromCatalog(v).flatMap { Int(exactly: $0) }
    }
}

extension Int32: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(Int64(self)) }
    public static func fromCatalog(_ v: CatalogValue) -> Int32? {
        Int64.fromCatalog(v).flatMap { Int32(exactly: $0) }
    }
}

extension Bool: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .integer(self ? 1 : 0) }
    public static func fromCatalog(_ v: CatalogValue) -> Bool? {
        switch v {
        case .integer(let i): i != 0
        case .real(let d): d != 0
        default: nil
        }
    }
}

extension Double: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .real(self) }
    public static func fromCatalog(_ v: CatalogValue) -> Double? {
        switch v {
        case .integer(let i): Double(i)
        case .real(let d): d
        default: nil
        }
    }
}

extension String: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .text(self) }
    public static func fromCatalog(_ v: CatalogValue) -> String? {
        switch v {
        case .text(let s): s
        case .blob(let d): String(data: d, encoding: .utf8)
        default: nil
        }
    }
}

extension Data: CatalogValueConvertible {
    public var catalogValue: CatalogValue { .blob(self) }
    public static func fromCatalog(_ v: CatalogValue) -> Data? {
        switch v {
        case .blob(let d): d
        case .text(let s): Data(s.utf8)
        default: nil
        }
    }
}

extension CatalogValue: CatalogValueConvertible {
    public var catalogValue: CatalogValue { self }
    public static func fromCatalog(_ v: CatalogValue) -> CatalogValue? { v }
}

extension Optional: CatalogValueConvertible where Wrapped: CatalogValueConvertible {
    public var catalogValue: CatalogValue { self?.catalogValue ?? .null }
    /// `.some(nil)` for NULL, `.some(value)` when it converts, `nil` (a mismatch) otherwise.
    public static func fromCatalog(_ v: CatalogValue) -> Wrapped?? {
        if case .null = v { return .some(nil) }
        return Wrapped.fromCatalog(v).map { .some($0) }
    }
}

/// Statement arguments, bound in order to the `?` placeholders. An array literal of optional
/// values (`[name, version, nil]`) converts, so GRDB-style call sites compile unchanged.
public struct CatalogArguments: Sendable, Hashable, ExpressibleByArrayLiteral {
    /// The values, in placeholder order.
    public var values: [CatalogValue]

    /// Arguments from catalog values.
    public init(values: [CatalogValue] = []) { self.values = values }

    /// Arguments from convertible values; `nil` binds NULL.
    public init(_ elements: [(any CatalogValueConvertible)?]) {
        values = elements.map { $0?.catalogValue ?? .null }
    }

    public init(arrayLiteral elements: (any CatalogValueConvertible)?...) { self.init(elements) }

    /// Both argument lists, `self`'s first.
    public static func + (lhs: CatalogArguments, rhs: CatalogArguments) -> CatalogArguments {
        CatalogArguments(values: lhs.values + rhs.values)
    }

    /// Appends `rhs`'s values.
    public static func += (lhs: inout CatalogArguments, rhs: CatalogArguments) { lhs.values += rhs.values }
}
