import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `--meta-file FILE.json`: a flat JSON object of string, number and boolean values.
enum MetaFile {
    /// Largest metadata file read (the protocol caps metadata at 256 entries of ≤ 4 KiB values).
    static let maxFileBytes = 1 << 20

    /// A JSON scalar; anything else (object, array, null) fails to decode.
    enum Scalar: Decodable {
        case bool(Bool)
        case integer(Int64)
        case number(Double)
        case string(String)

        init(from decoder: Decoder) throws {
            let c = try decoder.singleValueContainer()
            if let b = try? c.decode(Bool.self) {
                self = .bool(b)
            } else if let i = try? c.decode(Int64.self) {
                self = .integer(i)
            } else if let d = try? c.decode(Double.self) {
                self = .number(d)
            } else if let s = try? c.decode(String.self) {
                self = .string(s)
            } else {
                throw DecodingError.typeMismatch(
                    Scalar.self, .init(codingPath: c.codingPath, debugDescription: "not a scalar"))
            }
        }
    }

    /// Reads and validates `path`; the entries it holds, sorted by key.
    static func load(_ path: String) throws(ClientError) -> [MetadataEntry] {
        let attrs = try? FileManager.default.attributesOfItem(atPath: path)
        guard let size = attrs?[.size] as? Int else {
            throw .usage(detail: "cannot read --meta-file \(path): no such file")
        }
        guard size <= maxFileBytes else {
            throw .usage(detail: "--meta-file \(path) is \(size) bytes; at most \(maxFileBytes) are accepted")
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw .usage(detail: "cannot read --meta-file \(path)")
        }
        return try parse(data, source: path)
    }

    /// Parses a flat JSON object; nested values, arrays, null and oversized keys or values are refused.
    static func parse(_ data: Data, source: String) throws(ClientError) -> [MetadataEntry] {
        guard (try? JSONSerialization.jsonObject(with: data)) is [String: Any] else {
            throw .usage(detail: "--meta-file \(source) must hold one JSON object, e.g. {\"auc\": 0.97}")
        }
        let object: [String: Scalar]
        do { object = try JSONDecoder().decode([String: Scalar].self, from: data) } catch {
            var key = "a value"
            if case DecodingError.typeMismatch(_, let ctx) = error, let k = ctx.codingPath.first?.stringValue
            {
                key = "\"\(k)\""
            }
            throw .usage(
                detail: "--meta-file \(source): \(key) is not a string, number or boolean "
                    + "(nested objects, arrays and null are not accepted)")
        }
        guard object.count <= ProtocolLimits.maxMetadataEntries else {
            throw .usage(
                detail:
                    "--meta-file \(source) has \(object.count) keys; at most \(ProtocolLimits.maxMetadataEntries)"
            )
        }
        var out: [MetadataEntry] = []
        for (k, v) in object {
            guard !k.isEmpty, k.utf8.count <= ProtocolLimits.maxMetadataKeyLength else {
                throw .usage(
                    detail: "--meta-file \(source): key \"\(k.prefix(40))\" is empty or longer than 128 bytes"
                )
            }
            let value: MetadataValue
            switch v {
            case .bool(let b): value = .bool(b)
            case .integer(let i): value = .integer(i)
            case .number(let d):
                guard d.isFinite else { throw .usage(detail: "--meta-file \(source): \(k) is not finite") }
                value = .number(d)
            case .string(let s):
                guard s.utf8.count <= ProtocolLimits.maxMetadataValueLength else {
                    throw .usage(detail: "--meta-file \(source): the value of \(k) is longer than 4096 bytes")
                }
                value = .string(s)
            }
            out.append(MetadataEntry(key: k, value: value))
        }
        return out.sorted { $0.key < $1.key }
    }

    /// `--meta` entries and `--meta-file` entries together; a key given by both is refused.
    static func merge(_ a: [MetadataEntry], _ b: [MetadataEntry]) throws(ClientError) -> [MetadataEntry] {
        let keys = Set(a.map(\.key))
        for e in b where keys.contains(e.key) {
            throw .usage(detail: "metadata key \(e.key) is given by both --meta and --meta-file")
        }
        let all = (a + b).sorted { $0.key < $1.key }
        guard all.count <= ProtocolLimits.maxMetadataEntries else {
            throw .usage(detail: "at most \(ProtocolLimits.maxMetadataEntries) metadata entries")
        }
        return all
    }
}
