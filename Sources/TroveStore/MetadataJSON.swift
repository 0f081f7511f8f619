import Foundation
import TroveCore

/// Version metadata in the catalog: a JSON object with sorted keys whose values keep their type
/// (string, integer, real, boolean), so SQL (`json_each`) compares numbers as numbers. Stores
/// written before typed metadata hold only strings; they decode as strings.
enum MetadataJSON {
    static func encode(_ m: [String: MetadataValue]) -> String {
        "{" + m.sorted { $0.key < $1.key }.map { MetadataValue.jsonString($0.key) + ":" + $0.value.json }
            .joined(separator: ",") + "}"
    }

    static func decode(_ s: String) -> [String: MetadataValue] {
        (try? JSONDecoder().decode([String: Value].self, from: Data(s.utf8)))?.mapValues(\.value) ?? [:]
    }

    /// One value: a boolean, an integer (a JSON number without fraction or exponent that fits),
    /// another number, or a string.
    struct Value: Decodable {
        var value: MetadataValue

        init(from decoder: any Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) {
                value = .bool(b)
            } else if let i = try? c.decode(Int64.self) {
                value = .integer(i)
            } else if let d = try? c.decode(Double.self) {
                value = .number(d)
            } else {
                value = .string(try c.decode(String.self))
            }
        }
    }
}
