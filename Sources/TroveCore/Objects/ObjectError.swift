/// Why a canonical object (recipe or tree) or a name was rejected.
public enum ObjectError: Error, Equatable, CustomStringConvertible {
    /// The bytes do not start with the expected magic and version.
    case badHeader(expected: String)
    /// The encoding ends before a field that it declares.
    case truncated(field: String)
    /// A declared count or length is larger than the bytes present (or than the limit).
    case countTooLarge(field: String, declared: UInt64, available: Int)
    /// Bytes follow the last field.
    case trailingBytes(count: Int)
    /// Tree entries are not strictly sorted by path bytes, or a path repeats.
    case unsorted(path: String)
    /// A tree path is unsafe or malformed.
    case unsafePath(path: String, reason: String)
    /// A field holds a value the format does not allow.
    case invalidField(field: String, reason: String)
    /// A recipe's chunk lengths do not add up to its size.
    case sizeMismatch(declared: UInt64, sum: UInt64)

    public var description: String {
        switch self {
        case .badHeader(let expected):
            "not a \(expected) (bad magic or unsupported version)"
        case .truncated(let field):
            "encoding ends inside field \(field); the object is truncated"
        case .countTooLarge(let field, let declared, let available):
            "\(field) declares \(declared), but only \(available) bytes remain; the object is corrupt or hostile"
        case .trailingBytes(let count):
            "\(count) unexpected bytes after the last field; the encoding is not canonical"
        case .unsorted(let path):
            "tree entries must be strictly sorted by path bytes; \"\(path)\" is out of order or repeated"
        case .unsafePath(let path, let reason):
            "unsafe tree path \"\(path)\": \(reason)"
        case .invalidField(let field, let reason):
            "invalid \(field): \(reason)"
        case .sizeMismatch(let declared, let sum):
            "recipe declares size \(declared) but its chunk lengths sum to \(sum)"
        }
    }
}
