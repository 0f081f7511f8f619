#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The date forms S3 uses: RFC 7231 HTTP dates (`Last-Modified`), ISO 8601 with milliseconds
/// (listings) and SigV4's basic form (`20250101T000000Z`).
enum HTTPDate {
    private static func parts(_ seconds: Int64) -> tm {
        var t = time_t(seconds)
        var out = tm()
        gmtime_r(&t, &out)
        return out
    }

    private static func format(_ seconds: Int64, _ pattern: String) -> String {
        var t = parts(seconds)
        var buf = [Int8](repeating: 0, count: 64)
        let n = strftime(&buf, 64, pattern, &t)
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    /// `Wed, 21 Oct 2015 07:28:00 GMT`.
    static func rfc7231(millis: Int64) -> String { format(millis / 1000, "%a, %d %b %Y %H:%M:%S GMT") }

    /// `2015-10-21T07:28:00.123Z`.
    static func iso8601(millis: Int64) -> String {
        let ms = Int(millis % 1000)
        return format(millis / 1000, "%Y-%m-%dT%H:%M:%S") + "." + String(format3(ms)) + "Z"
    }

    private static func format3(_ n: Int) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, 3 - s.count)) + s
    }

    private static func seconds(_ y: Int, _ mo: Int, _ d: Int, _ h: Int, _ mi: Int, _ se: Int) -> Int64? {
        guard (1970...9999).contains(y), (1...12).contains(mo), (1...31).contains(d), (0...23).contains(h),
            (0...59).contains(mi), (0...60).contains(se)
        else { return nil }
        var t = tm()
        t.tm_year = Int32(y - 1900)
        t.tm_mon = Int32(mo - 1)
        t.tm_mday = Int32(d)
        t.tm_hour = Int32(h)
        t.tm_min = Int32(mi)
        t.tm_sec = Int32(se)
        return Int64(timegm(&t))
    }

    /// Parses `20150830T123600Z` (seconds since the epoch).
    static func parseAmz(_ s: String) -> Int64? {
        let u = Array(s.utf8)
        guard u.count == 16, u[8] == UInt8(ascii: "T"), u[15] == UInt8(ascii: "Z") else { return nil }
        func num(_ r: Range<Int>) -> Int? { Int(String(decoding: u[r], as: UTF8.self)) }
        guard let y = num(0..<4), let mo = num(4..<6), let d = num(6..<8), let h = num(9..<11), let mi = num(11..<13),
            let se = num(13..<15)
        else { return nil }
        return seconds(y, mo, d, h, mi, se)
    }

    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    /// Parses an RFC 7231 HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`).
    static func parseHTTP(_ s: String) -> Int64? {
        let f = s.split(separator: " ")
        guard f.count == 6, f[5] == "GMT", let d = Int(f[1]), let mo = months.firstIndex(of: String(f[2])),
            let y = Int(f[3])
        else { return nil }
        let hms = f[4].split(separator: ":").compactMap { Int($0) }
        guard hms.count == 3 else { return nil }
        return seconds(y, mo + 1, d, hms[0], hms[1], hms[2])
    }
}
