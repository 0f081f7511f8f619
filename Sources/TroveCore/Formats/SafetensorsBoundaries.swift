/// safetensors structure: an 8-byte little-endian header length N, N bytes of JSON, then the
/// byte buffer that the tensors' `data_offsets` index. Cuts at the end of the header and at the
/// start of every tensor.
///
/// Strict, as the safetensors library: N at most 100 000 000 and inside the input, the header a
/// JSON object (trailing spaces allowed), every tensor's `[begin, end]` with begin <= end, and the
/// tensors, sorted by offset, tiling the byte buffer exactly (no holes, no overlaps).
enum SafetensorsBoundaries {
    static let maxHeader: UInt64 = 100_000_000

    static func cuts<R: RandomAccessReader>(_ reader: R) throws(FormatRejection) -> [UInt64] {
        let size = reader.size
        guard size >= 10 else { throw .rejected("safetensors: too short") }
        var r = WindowReader(reader, readahead: 4096)
        let n = try r.u64(0)
        guard n >= 2, n <= maxHeader, n <= size - 8 else {
            throw .rejected("safetensors: header length \(n) is not plausible")
        }
        guard try r.u8(8) == UInt8(ascii: "{") else {
            throw .rejected("safetensors: header is not a JSON object")
        }
        let header = Array(try r.bytes(8, Int(n)))
        var tensors: [(begin: UInt64, end: UInt64)] = []
        do {
            var parser = SafetensorsHeaderParser(header)
            tensors = try parser.parse()
        } catch { throw .rejected("safetensors: \(error.reason)") }
        guard tensors.count < BoundaryPlan.maxCuts else { throw .rejected("safetensors: too many tensors") }
        let dataStart = 8 + n
        let bufferLength = size - dataStart
        tensors.sort { $0.begin != $1.begin ? $0.begin < $1.begin : $0.end < $1.end }
        var expected: UInt64 = 0
        var cuts: [UInt64] = [dataStart]
        cuts.reserveCapacity(tensors.count + 1)
        for t in tensors {
            guard t.begin == expected, t.begin <= t.end else {
                throw .rejected("safetensors: tensors overlap or leave a hole at \(t.begin)")
            }
            guard t.end <= bufferLength else {
                throw .rejected("safetensors: tensor past the end of the file")
            }
            cuts.append(dataStart + t.begin)
            expected = t.end
        }
        guard expected == bufferLength else {
            throw .rejected("safetensors: tensors do not cover the byte buffer exactly")
        }
        return cuts
    }
}

/// Why a safetensors header was refused.
struct HeaderParseError: Error {
    var reason: String
}

/// A small strict JSON reader for safetensors headers: an object whose values are objects; for
/// tensors (every key but `__metadata__`) it returns `data_offsets`. Nesting is limited, numbers
/// in `data_offsets` must be non-negative integers that fit 64 bits, and strings are decoded so
/// keys compare as a JSON library would see them.
struct SafetensorsHeaderParser {
    private let bytes: [UInt8]
    private var i = 0
    static let maxDepth = 32

    init(_ bytes: [UInt8]) { self.bytes = bytes }

    mutating func parse() throws(HeaderParseError) -> [(begin: UInt64, end: UInt64)] {
        var out: [(begin: UInt64, end: UInt64)] = []
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            i += 1
        } else {
            while true {
                skipSpace()
                let key = try string()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                if key == Array("__metadata__".utf8) {
                    guard peek() == UInt8(ascii: "{") else {
                        throw HeaderParseError(reason: "__metadata__ is not an object")
                    }
                    try skipValue(depth: 1)
                } else {
                    out.append(try tensor())
                }
                skipSpace()
                let c = try next()
                if c == UInt8(ascii: "}") { break }
                guard c == UInt8(ascii: ",") else {
                    throw HeaderParseError(reason: "expected , or } at \(i - 1)")
                }
            }
        }
        skipSpace()
        guard i == bytes.count else { throw HeaderParseError(reason: "bytes after the header object") }
        return out
    }

    /// A tensor's object; returns its data_offsets (required, exactly once).
    private mutating func tensor() throws(HeaderParseError) -> (begin: UInt64, end: UInt64) {
        try expect(UInt8(ascii: "{"))
        var offsets: (UInt64, UInt64)?
        skipSpace()
        if peek() == UInt8(ascii: "}") { throw HeaderParseError(reason: "tensor without data_offsets") }
        while true {
            skipSpace()
            let key = try string()
            skipSpace()
            try expect(UInt8(ascii: ":"))
            skipSpace()
            if key == Array("data_offsets".utf8) {
                guard offsets == nil else { throw HeaderParseError(reason: "data_offsets given twice") }
                try expect(UInt8(ascii: "["))
                skipSpace()
                let a = try integer()
                skipSpace()
                try expect(UInt8(ascii: ","))
                skipSpace()
                let b = try integer()
                skipSpace()
                try expect(UInt8(ascii: "]"))
                offsets = (a, b)
            } else {
                try skipValue(depth: 2)
            }
            skipSpace()
            let c = try next()
            if c == UInt8(ascii: "}") { break }
            guard c == UInt8(ascii: ",") else {
                throw HeaderParseError(reason: "expected , or } at \(i - 1)")
            }
        }
        guard let o = offsets else { throw HeaderParseError(reason: "tensor without data_offsets") }
        return (o.0, o.1)
    }

    private func peek() -> UInt8? { i < bytes.count ? bytes[i] : nil }

    private mutating func next() throws(HeaderParseError) -> UInt8 {
        guard i < bytes.count else { throw HeaderParseError(reason: "header ends early") }
        i += 1
        return bytes[i - 1]
    }

    private mutating func expect(_ c: UInt8) throws(HeaderParseError) {
        guard try next() == c else {
            throw HeaderParseError(reason: "expected '\(Character(Unicode.Scalar(c)))' at \(i - 1)")
        }
    }

    private mutating func skipSpace() {
        while i < bytes.count, bytes[i] == 0x20 || bytes[i] == 0x0A || bytes[i] == 0x0D || bytes[i] == 0x09 {
            i += 1
        }
    }

    private mutating func integer() throws(HeaderParseError) -> UInt64 {
        var v: UInt64 = 0
        let start = i
        while i < bytes.count, bytes[i] >= 0x30, bytes[i] <= 0x39 {
            let (m, o1) = v.multipliedReportingOverflow(by: 10)
            let (s, o2) = m.addingReportingOverflow(UInt64(bytes[i] - 0x30))
            guard !o1, !o2 else { throw HeaderParseError(reason: "offset does not fit 64 bits") }
            v = s
            i += 1
        }
        guard i > start else { throw HeaderParseError(reason: "data_offsets must be non-negative integers") }
        guard i - start == 1 || bytes[start] != 0x30 else { throw HeaderParseError(reason: "leading zero") }
        if let c = peek(), c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E") {
            throw HeaderParseError(reason: "data_offsets must be integers")
        }
        return v
    }

    /// A JSON string, decoded to UTF-8 bytes.
    private mutating func string() throws(HeaderParseError) -> [UInt8] {
        try expect(UInt8(ascii: "\""))
        var out: [UInt8] = []
        while true {
            let c = try next()
            if c == UInt8(ascii: "\"") { return out }
            if c < 0x20 { throw HeaderParseError(reason: "control character in a string") }
            if c != UInt8(ascii: "\\") {
                out.append(c)
                continue
            }
            let e = try next()
            switch e {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(e)
            case UInt8(ascii: "b"): out.append(0x08)
            case UInt8(ascii: "f"): out.append(0x0C)
            case UInt8(ascii: "n"): out.append(0x0A)
            case UInt8(ascii: "r"): out.append(0x0D)
            case UInt8(ascii: "t"): out.append(0x09)
            case UInt8(ascii: "u"):
                var scalar = try hex4()
                if scalar >= 0xD800 && scalar < 0xDC00 {
                    guard try next() == UInt8(ascii: "\\"), try next() == UInt8(ascii: "u") else {
                        throw HeaderParseError(reason: "unpaired surrogate")
                    }
                    let low = try hex4()
                    guard low >= 0xDC00 && low < 0xE000 else {
                        throw HeaderParseError(reason: "unpaired surrogate")
                    }
                    scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                } else if scalar >= 0xDC00 && scalar < 0xE000 {
                    throw HeaderParseError(reason: "unpaired surrogate")
                }
                guard let u = Unicode.Scalar(scalar) else { throw HeaderParseError(reason: "bad escape") }
                out.append(contentsOf: Array(String(Character(u)).utf8))
            default:
                throw HeaderParseError(reason: "bad escape in a string")
            }
        }
    }

    private mutating func hex4() throws(HeaderParseError) -> UInt32 {
        var v: UInt32 = 0
        for _ in 0..<4 {
            let c = try next()
            let d: UInt32
            switch c {
            case 0x30...0x39: d = UInt32(c - 0x30)
            case 0x41...0x46: d = UInt32(c - 0x41 + 10)
            case 0x61...0x66: d = UInt32(c - 0x61 + 10)
            default: throw HeaderParseError(reason: "bad \\u escape")
            }
            v = v << 4 | d
        }
        return v
    }

    /// Skips any JSON value, nesting at most `maxDepth`.
    private mutating func skipValue(depth: Int) throws(HeaderParseError) {
        guard depth <= Self.maxDepth else { throw HeaderParseError(reason: "nesting too deep") }
        skipSpace()
        guard let c = peek() else { throw HeaderParseError(reason: "header ends early") }
        switch c {
        case UInt8(ascii: "\""):
            _ = try string()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = c == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            i += 1
            skipSpace()
            if peek() == close {
                i += 1
                return
            }
            while true {
                skipSpace()
                if close == UInt8(ascii: "}") {
                    _ = try string()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                let d = try next()
                if d == close { return }
                guard d == UInt8(ascii: ",") else { throw HeaderParseError(reason: "expected , at \(i - 1)") }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default:
            // A number: -?digits(.digits)?([eE][+-]?digits)?
            let start = i
            if peek() == UInt8(ascii: "-") { i += 1 }
            var digits = 0
            func isDigit(_ b: UInt8?) -> Bool { b.map { $0 >= 0x30 && $0 <= 0x39 } ?? false }
            while isDigit(peek()) {
                i += 1
                digits += 1
            }
            guard digits > 0 else { throw HeaderParseError(reason: "unexpected byte at \(start)") }
            if peek() == UInt8(ascii: ".") {
                i += 1
                guard isDigit(peek()) else { throw HeaderParseError(reason: "bad number") }
                while isDigit(peek()) { i += 1 }
            }
            if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
                i += 1
                if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { i += 1 }
                guard isDigit(peek()) else { throw HeaderParseError(reason: "bad number") }
                while isDigit(peek()) { i += 1 }
            }
        }
    }

    private mutating func literal(_ word: String) throws(HeaderParseError) {
        for c in word.utf8 { try expect(c) }
    }
}
