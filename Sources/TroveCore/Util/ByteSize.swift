/// Parses human byte sizes: `16K`, `64KiB`, `1M`, `1MiB`, `2G`, `4096`.
///
/// Suffixes are binary (`K` = `KiB` = 1024, `M` = 1024², `G` = 1024³, `T` = 1024⁴), case-insensitive,
/// optionally followed by `B` (`KB`, `MB`), and may be separated from the number by one space.
public enum ByteSize {
    /// Why a size did not parse.
    public struct ParseError: Error, Equatable, CustomStringConvertible {
        /// The text that was given.
        public let text: String

        public var description: String {
            "'\(text)' is not a byte size; use a whole number of bytes, optionally with a binary suffix "
                + "K, M, G or T (KiB, MiB, ... also accepted), e.g. 16K, 64KiB, 1M"
        }
    }

    /// The number of bytes `text` denotes.
    public static func parse(_ text: String) throws(ParseError) -> Int {
        var s = Substring(text.trimmingWhitespace())
        guard !s.isEmpty else { throw ParseError(text: text) }
        var digits = Substring()
        if let firstNonDigit = s.firstIndex(where: { !("0"..."9").contains($0) }) {
            digits = s[..<firstNonDigit]
            s = s[firstNonDigit...]
        } else {
            digits = s
            s = ""
        }
        guard !digits.isEmpty, digits.count <= 19, let value = Int(digits) else {
            throw ParseError(text: text)
        }
        if s.first == " " { s = s.dropFirst() }
        let shift: Int
        switch s.lowercased() {
        case "", "b": shift = 0
        case "k", "kb", "kib": shift = 10
        case "m", "mb", "mib": shift = 20
        case "g", "gb", "gib": shift = 30
        case "t", "tb", "tib": shift = 40
        default: throw ParseError(text: text)
        }
        let (result, overflow) = value.multipliedReportingOverflow(by: 1 << shift)
        guard !overflow else { throw ParseError(text: text) }
        return result
    }
}

extension String {
    fileprivate func trimmingWhitespace() -> Substring {
        var s = Substring(self)
        while let c = s.first, c == " " || c == "\t" { s = s.dropFirst() }
        while let c = s.last, c == " " || c == "\t" { s = s.dropLast() }
        return s
    }
}
