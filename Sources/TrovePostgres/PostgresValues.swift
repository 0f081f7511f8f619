import Foundation
import NIOCore
import PostgresNIO
import TroveStore

/// Catalog values to PostgreSQL parameters and result cells back to catalog values, so the
/// Store reads the same values from both engines: `bytea` ↔ blob, `int2/4/8` → integer,
/// `bool` → integer 0/1 (what SQLite returns for comparisons and `EXISTS`), `numeric` (from
/// `SUM` of integers) → integer when whole, `float4/8` → real, text-like types → text.
enum PostgresValues {
    /// The parameters of one statement, each typed by its value (`NULL` untyped: the server infers it).
    static func bindings(_ values: [CatalogValue]) -> PostgresBindings {
        var b = PostgresBindings(capacity: values.count)
        for v in values {
            switch v {
            case .null: b.appendNull()
            case .integer(let i): b.append(i)
            case .real(let d): b.append(d)
            case .text(let s): b.append(s)
            case .blob(let d): b.append(ByteBuffer(bytes: d))
            }
        }
        return b
    }

    /// One result cell as a catalog value.
    static func value(_ cell: PostgresCell) throws(PostgresCellError) -> CatalogValue {
        guard let bytes = cell.bytes else { return .null }
        do {
            switch cell.dataType {
            case .int2, .int4, .int8, .oid:
                return .integer(try cell.decode(Int64.self))
            case .bool:
                return .integer(try cell.decode(Bool.self) ? 1 : 0)
            case .float4, .float8:
                return .real(try cell.decode(Double.self))
            case .numeric:
                let decimal = try cell.decode(Decimal.self)
                let text = "\(decimal)"
                if let i = Int64(text) { return .integer(i) }
                return .real(NSDecimalNumber(decimal: decimal).doubleValue)
            case .bytea:
                return .blob(Data(bytes.readableBytesView))
            default:
                return .text(try cell.decode(String.self))
            }
        } catch {
            throw PostgresCellError(
                column: cell.columnName, type: "\(cell.dataType)", detail: "\(error)")
        }
    }
}

/// A result cell this engine cannot turn into a catalog value (a type the catalog never uses).
struct PostgresCellError: Error, CustomStringConvertible {
    let column: String
    let type: String
    let detail: String
    var description: String { "cannot read column \(column) of PostgreSQL type \(type): \(detail)" }
}
