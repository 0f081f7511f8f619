/// A small, strict parser for the TOML subset Trove uses: `[table]` and `[a.b]` headers,
/// `key = value` with bare (`A-Za-z0-9_-`) or double-quoted keys, values that are basic strings
/// (`"..."` with `\" \\ \n \t \r \uXXXX` escapes), literal strings (`'...'`), integers
/// (optional sign, `_` separators between digits), floats (`1.5`, `1e3`), booleans, and
/// arrays of strings (may span lines, trailing comma allowed). `#` starts a comment.
/// Anything else — duplicate keys or tables, control characters, unterminated strings,
/// overflowing integers, input above 1 MiB — is a `TOMLError` with a line number.
public enum TOML {
    /// Largest accepted input.
    public static let maxInputBytes = 1 << 20

    /// Parses `text` into its root table.
    public static func parse(_ text: String) throws(TOMLError) -> [String: TOMLValue] {
        var p = Parser(Array(text.utf8))
        return try p.document()
    }
}

private struct Parser {
    let b: [UInt8]
    var i = 0
    var line = 1

    init(_ bytes: [UInt8]) { b = bytes }

    func fail(_ m: String) -> TOMLError { TOMLError(line: line, message: m) }
    var atEnd: Bool { i >= b.count }
    var peek: UInt8? { i < b.count ? b[i] : nil }

    mutating func skipSpaces() {
        while let c = peek, c == 0x20 || c == 0x09 { i += 1 }
    }
    mutating func skipComment() throws(TOMLError) {
        guard peek == UInt8(ascii: "#") else { return }
        while let c = peek, c != 0x0A {
            if c < 0x20 && c != 0x09 && c != 0x0D { throw fail("control character in comment") }
            i += 1
        }
    }
    /// Expects the end of a line (spaces, optional comment, newline or end of input).
    mutating func endOfLine() throws(TOMLError) {
        skipSpaces()
        try skipComment()
        if peek == 0x0D { i += 1 }
        if atEnd { return }
        guard peek == 0x0A else { throw fail("unexpected text after value; expected end of line") }
        i += 1
        line += 1
    }
    /// Skips blank lines, spaces, comments and newlines (inside arrays).
    mutating func skipTrivia() throws(TOMLError) {
        while true {
            skipSpaces()
            try skipComment()
            if peek == 0x0D {
                i += 1
                continue
            }
            if peek == 0x0A {
                i += 1
                line += 1
                continue
            }
            return
        }
    }

    mutating func document() throws(TOMLError) -> [String: TOMLValue] {
        guard b.count <= TOML.maxInputBytes else {
            throw fail("input larger than \(TOML.maxInputBytes) bytes")
        }
        guard String(validating: b, as: UTF8.self) != nil else {
            throw TOMLError(line: 1, message: "not valid UTF-8")
        }
        var root: [String: TOMLValue] = [:]
        var current: [String] = []
        var definedTables = Set<[String]>()
        while true {
            try skipTrivia()
            guard let c = peek else { break }
            if c == UInt8(ascii: "[") {
                i += 1
                skipSpaces()
                var path: [String] = []
                while true {
                    path.append(try key())
                    skipSpaces()
                    if peek == UInt8(ascii: ".") {
                        i += 1
                        skipSpaces()
                        continue
                    }
                    break
                }
                guard peek == UInt8(ascii: "]") else { throw fail("expected ']' to close the table header") }
                i += 1
                guard !definedTables.contains(path) else {
                    throw fail("table [\(path.joined(separator: "."))] defined twice")
                }
                definedTables.insert(path)
                try ensureTable(&root, path[...])
                current = path
                try endOfLine()
            } else {
                let k = try key()
                skipSpaces()
                guard peek == UInt8(ascii: "=") else { throw fail("expected '=' after key \"\(k)\"") }
                i += 1
                skipSpaces()
                let v = try value()
                try insert(&root, current[...], k, v)
                try endOfLine()
            }
        }
        return root
    }

    mutating func ensureTable(_ t: inout [String: TOMLValue], _ path: ArraySlice<String>) throws(TOMLError) {
        guard let first = path.first else { return }
        var sub: [String: TOMLValue]
        switch t[first] {
        case nil: sub = [:]
        case .table(let s): sub = s
        case .some: throw fail("\"\(first)\" is already a value, not a table")
        }
        try ensureTable(&sub, path.dropFirst())
        t[first] = .table(sub)
    }

    mutating func insert(
        _ t: inout [String: TOMLValue], _ path: ArraySlice<String>, _ k: String, _ v: TOMLValue
    ) throws(TOMLError) {
        if let first = path.first {
            guard case .table(var sub) = t[first] else { throw fail("internal: missing table \(first)") }
            t[first] = nil
            try insert(&sub, path.dropFirst(), k, v)
            t[first] = .table(sub)
            return
        }
        guard t[k] == nil else { throw fail("duplicate key \"\(k)\"") }
        t[k] = v
    }

    mutating func key() throws(TOMLError) -> String {
        if peek == UInt8(ascii: "\"") { return try basicString() }
        let start = i
        while let c = peek, Self.isBare(c) { i += 1 }
        guard i > start else { throw fail("expected a key (letters, digits, '_' or '-', or a quoted key)") }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    static func isBare(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x5F
            || c == 0x2D
    }

    mutating func value() throws(TOMLError) -> TOMLValue {
        guard let c = peek else { throw fail("expected a value") }
        switch c {
        case UInt8(ascii: "\""): return .string(try basicString())
        case UInt8(ascii: "'"): return .string(try literalString())
        case UInt8(ascii: "["): return .stringArray(try array())
        case UInt8(ascii: "t"), UInt8(ascii: "f"):
            if match("true") { return .bool(true) }
            if match("false") { return .bool(false) }
            throw fail("expected true or false")
        default: return try number()
        }
    }

    mutating func match(_ word: String) -> Bool {
        let w = Array(word.utf8)
        guard i + w.count <= b.count, Array(b[i..<i + w.count]) == w else { return false }
        if i + w.count < b.count, Self.isBare(b[i + w.count]) { return false }
        i += w.count
        return true
    }

    mutating func array() throws(TOMLError) -> [String] {
        i += 1  // [
        var out: [String] = []
        while true {
            try skipTrivia()
            guard let c = peek else { throw fail("unterminated array") }
            if c == UInt8(ascii: "]") {
                i += 1
                return out
            }
            switch c {
            case UInt8(ascii: "\""): out.append(try basicString())
            case UInt8(ascii: "'"): out.append(try literalString())
            default: throw fail("arrays may only hold strings")
            }
            try skipTrivia()
            if peek == UInt8(ascii: ",") {
                i += 1
                continue
            }
            try skipTrivia()
            guard peek == UInt8(ascii: "]") else { throw fail("expected ',' or ']' in array") }
        }
    }

    mutating func literalString() throws(TOMLError) -> String {
        i += 1
        let start = i
        while let c = peek, c != UInt8(ascii: "'") {
            if c == 0x0A || (c < 0x20 && c != 0x09) || c == 0x7F {
                throw fail("unterminated or invalid literal string")
            }
            i += 1
        }
        guard peek == UInt8(ascii: "'") else { throw fail("unterminated literal string") }
        defer { i += 1 }
        return String(decoding: b[start..<i], as: UTF8.self)
    }

    mutating func basicString() throws(TOMLError) -> String {
        i += 1
        var out: [UInt8] = []
        while true {
            guard let c = peek else { throw fail("unterminated string") }
            i += 1
            switch c {
            case UInt8(ascii: "\""):
                return String(decoding: out, as: UTF8.self)
            case UInt8(ascii: "\\"):
                guard let e = peek else { throw fail("unterminated escape") }
                i += 1
                switch e {
                case UInt8(ascii: "\""): out.append(0x22)
                case UInt8(ascii: "\\"): out.append(0x5C)
                case UInt8(ascii: "n"): out.append(0x0A)
                case UInt8(ascii: "t"): out.append(0x09)
                case UInt8(ascii: "r"): out.append(0x0D)
                case UInt8(ascii: "u"):
                    guard i + 4 <= b.count,
                        let v = UInt32(String(decoding: b[i..<i + 4], as: UTF8.self), radix: 16),
                        let scalar = Unicode.Scalar(v)
                    else { throw fail("invalid \\u escape (expected 4 hex digits of a valid scalar)") }
                    i += 4
                    out.append(contentsOf: Array(String(Character(scalar)).utf8))
                default: throw fail("unknown escape \\\(String(UnicodeScalar(e)))")
                }
            default:
                if c == 0x0A { throw fail("unterminated string (newline inside)") }
                if (c < 0x20 && c != 0x09) || c == 0x7F { throw fail("control character in string") }
                out.append(c)
            }
        }
    }

    mutating func number() throws(TOMLError) -> TOMLValue {
        let start = i
        while let c = peek, Self.isBare(c) || c == UInt8(ascii: "+") || c == UInt8(ascii: ".") { i += 1 }
        let text = String(decoding: b[start..<i], as: UTF8.self)
        guard !text.isEmpty else { throw fail("expected a value (string, number, boolean or array)") }
        // Underscores only between digits.
        let chars = Array(text.utf8)
        for (k, ch) in chars.enumerated() where ch == UInt8(ascii: "_") {
            let isDigit: (UInt8) -> Bool = { $0 >= 0x30 && $0 <= 0x39 }
            guard k > 0, k + 1 < chars.count, isDigit(chars[k - 1]), isDigit(chars[k + 1]) else {
                throw fail("misplaced '_' in number \(text)")
            }
        }
        let clean = text.replacingUnderscores()
        if let v = Int64(clean) {
            let digits = clean.hasPrefix("-") || clean.hasPrefix("+") ? String(clean.dropFirst()) : clean
            if digits.count > 1 && digits.hasPrefix("0") {
                throw fail("leading zeros are not allowed in \(text)")
            }
            return .integer(v)
        }
        let isIntLike = clean.allSatisfy { $0.isNumber || $0 == "-" || $0 == "+" }
        if isIntLike { throw fail("integer \(text) is out of range") }
        if let d = Double(clean), d.isFinite, clean.contains(where: { $0 == "." || $0 == "e" || $0 == "E" }) {
            return .float(d)
        }
        throw fail("invalid value \(text) (strings need quotes)")
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String { String(self.filter { $0 != "_" }) }
}
