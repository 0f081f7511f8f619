/// RFC 3339 instants for time-travel references (`NAME:ALIAS@TIME`), as milliseconds since the
/// Unix epoch, without Foundation (the parser runs on hostile input on the server).
///
/// Accepted: a date `YYYY-MM-DD` (00:00:00 UTC that day) or a date-time
/// `YYYY-MM-DDTHH:MM[:SS[.fraction]][Z|±HH:MM]`; without a zone the time is UTC. A fraction finer
/// than a millisecond is truncated (history times are whole milliseconds, so "at or before" is
/// unchanged). Years 0001…9999.
public enum RefTime {
    /// Parses `text`; throws a `NameError` saying what is wrong.
    public static func parse(_ text: some StringProtocol) throws(NameError) -> Int64 {
        let u = Array(text.utf8)
        var i = 0
        func fail(_ reason: String) -> NameError {
            .invalid(
                what: "time", value: String(text),
                reason: reason + " (expected an RFC 3339 date or time: 2026-10-15, 2026-10-15T14:30:00Z, "
                    + "2026-10-15T16:30:00+02:00; UTC if no zone)")
        }
        func digits(_ n: Int, _ what: String) throws(NameError) -> Int {
            guard i + n <= u.count else { throw fail("\(what) is missing") }
            var v = 0
            for k in i..<(i + n) {
                guard u[k] >= 0x30, u[k] <= 0x39 else { throw fail("\(what) must be \(n) digits") }
                v = v * 10 + Int(u[k] - 0x30)
            }
            i += n
            return v
        }
        func expect(_ c: UInt8, _ what: String) throws(NameError) {
            guard i < u.count, u[i] == c else { throw fail("expected '\(UnicodeScalar(c))' \(what)") }
            i += 1
        }
        let year = try digits(4, "the year")
        try expect(UInt8(ascii: "-"), "after the year")
        let month = try digits(2, "the month")
        try expect(UInt8(ascii: "-"), "after the month")
        let day = try digits(2, "the day")
        guard year >= 1, (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else {
            throw fail("no such date")
        }
        var seconds = Int64(daysFromCivil(year: year, month: month, day: day)) * 86_400
        var millis: Int64 = 0
        if i < u.count {
            guard u[i] == UInt8(ascii: "T") || u[i] == UInt8(ascii: "t") else {
                throw fail("expected 'T' between the date and the time")
            }
            i += 1
            let hour = try digits(2, "the hour")
            try expect(UInt8(ascii: ":"), "after the hour")
            let minute = try digits(2, "the minute")
            var second = 0
            if i < u.count, u[i] == UInt8(ascii: ":") {
                i += 1
                second = try digits(2, "the second")
                if i < u.count, u[i] == UInt8(ascii: ".") {
                    i += 1
                    var n = 0
                    while i < u.count, u[i] >= 0x30, u[i] <= 0x39 {
                        if n < 3 { millis = millis * 10 + Int64(u[i] - 0x30) }
                        n += 1
                        i += 1
                    }
                    guard (1...9).contains(n) else {
                        throw fail("a fraction of a second needs 1 to 9 digits")
                    }
                    for _ in min(n, 3)..<3 { millis *= 10 }
                }
            }
            guard hour < 24, minute < 60, second < 60 else { throw fail("no such time of day") }
            seconds += Int64(hour * 3600 + minute * 60 + second)
            if i < u.count {
                switch u[i] {
                case UInt8(ascii: "Z"), UInt8(ascii: "z"): i += 1
                case UInt8(ascii: "+"), UInt8(ascii: "-"):
                    let sign: Int64 = u[i] == UInt8(ascii: "+") ? 1 : -1
                    i += 1
                    let oh = try digits(2, "the zone's hours")
                    try expect(UInt8(ascii: ":"), "in the zone offset")
                    let om = try digits(2, "the zone's minutes")
                    guard oh < 24, om < 60 else { throw fail("no such zone offset") }
                    seconds -= sign * Int64(oh * 3600 + om * 60)
                default: throw fail("expected Z or ±HH:MM after the time")
                }
            }
        }
        guard i == u.count else { throw fail("unexpected text after the time") }
        return seconds * 1000 + millis
    }

    /// RFC 3339 UTC text for `millis` since the epoch: `2026-10-15T14:30:00Z`, with `.mmm` when
    /// the milliseconds are not zero (and `milliseconds` is true; else they are dropped).
    /// `parse(format(t)) == t` for years 1…9999.
    public static func format(_ millis: Int64, milliseconds: Bool = true) -> String {
        let ms = ((millis % 1000) + 1000) % 1000
        let secs = (millis - ms) / 1000
        let sod = ((secs % 86_400) + 86_400) % 86_400
        let (y, m, d) = civil(fromDays: (secs - sod) / 86_400)
        func pad(_ v: Int64, _ n: Int) -> String {
            let s = String(v)
            return String(repeating: "0", count: max(0, n - s.count)) + s
        }
        var out =
            "\(pad(y, 4))-\(pad(m, 2))-\(pad(d, 2))T\(pad(sod / 3600, 2)):\(pad(sod / 60 % 60, 2)):\(pad(sod % 60, 2))"
        if ms != 0 && milliseconds { out += "." + pad(ms, 3) }
        return out + "Z"
    }

    static func isLeap(_ y: Int) -> Bool { y % 4 == 0 && (y % 100 != 0 || y % 400 == 0) }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: isLeap(year) ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 (Howard Hinnant's `days_from_civil`).
    static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    /// The inverse of `daysFromCivil`.
    static func civil(fromDays days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let d = doy - (153 * mp + 2) / 5 + 1
        let m = mp < 10 ? mp + 3 : mp - 9
        return (yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
    }
}
