/// A value of the TOML subset Trove reads (store and daemon configuration).
public enum TOMLValue: Sendable, Equatable {
    case string(String)
    case integer(Int64)
    case float(Double)
    case bool(Bool)
    /// An array of strings (the only array kind the subset allows).
    case stringArray([String])
    /// A table: `[name]` sections and nested `[a.b]` sections.
    case table([String: TOMLValue])

    public var string: String? { if case .string(let s) = self { s } else { nil } }
    public var integer: Int64? { if case .integer(let i) = self { i } else { nil } }
    /// A float, or an integer widened to a float.
    public var float: Double? {
        switch self {
        case .float(let d): d
        case .integer(let i): Double(i)
        default: nil
        }
    }
    public var bool: Bool? { if case .bool(let b) = self { b } else { nil } }
    public var stringArray: [String]? { if case .stringArray(let a) = self { a } else { nil } }
    public var table: [String: TOMLValue]? { if case .table(let t) = self { t } else { nil } }

    /// The member `key` of a table value.
    public subscript(key: String) -> TOMLValue? { table?[key] }

    /// A short name of the value's type for error messages.
    public var typeName: String {
        switch self {
        case .string: "string"
        case .integer: "integer"
        case .float: "float"
        case .bool: "boolean"
        case .stringArray: "array of strings"
        case .table: "table"
        }
    }
}

/// A parse error with the 1-based line where it was found.
public struct TOMLError: Error, Equatable, CustomStringConvertible {
    public var line: Int
    public var message: String

    public init(line: Int, message: String) {
        self.line = line
        self.message = message
    }

    public var description: String { "line \(line): \(message)" }
}
