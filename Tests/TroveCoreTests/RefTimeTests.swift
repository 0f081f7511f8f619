import Foundation
import Testing

@testable import TroveCore

@Suite("RFC 3339 times in NAME:ALIAS@TIME")
struct RefTimeTests {
    @Test func parsesDatesTimesFractionsAndZones() throws {
        #expect(try RefTime.parse("1970-01-01") == 0)
        #expect(try RefTime.parse("2026-10-15") == 1_792_022_400_000)
        #expect(try RefTime.parse("2026-10-15T00:00:00Z") == 1_792_022_400_000)
        #expect(try RefTime.parse("2026-10-15T14:30") == 1_792_022_400_000 + 52_200_000)
        #expect(try RefTime.parse("2026-10-15T16:30:00+02:00") == 1_792_022_400_000 + 52_200_000)
        #expect(try RefTime.parse("2026-10-15T14:30:00.5z") == 1_792_022_400_000 + 52_200_500)
        #expect(try RefTime.parse("2026-10-15T14:30:00.123999999Z") == 1_792_022_400_000 + 52_200_123)
        #expect(try RefTime.parse("2026-10-14T22:00:00-02:00") == 1_792_022_400_000)
        #expect(try RefTime.parse("2024-02-29") == 1_709_164_800_000)
        #expect(try RefTime.parse("1969-12-31T23:59:59.999Z") == -1)
    }

    @Test func refusesWhatIsNotAnInstant() {
        for bad in [
            "", "2026", "2026-10", "2026-1-5", "2026-13-01", "2026-00-10", "2025-02-29", "2026-04-31",
            "0000-01-01", "2026-10-15T", "2026-10-15T24:00", "2026-10-15T10:60", "2026-10-15T10:00:60",
            "2026-10-15T10:00:00.", "2026-10-15T10:00:00.1234567890", "2026-10-15T10:00+2",
            "2026-10-15T10:00+02:60", "2026-10-15T10:00Zx", "2026-10-15 10:00", "yesterday", "2026-10-15Z",
        ] {
            #expect(throws: NameError.self, "\(bad)") { try RefTime.parse(bad) }
        }
    }

    @Test func formatAndParseAgreeWithFoundation() throws {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            // From 1600 on: Foundation switches to the Julian calendar before 1582.
            let ms = Int64.random(in: -11_676_096_000_000...253_402_300_799_999, using: &rng)
            let text = RefTime.format(ms)
            #expect(try RefTime.parse(text) == ms, "\(text)")
            let date = try #require(f.date(from: text.contains(".") ? text : text.replacing("Z", with: ".000Z")))
            #expect(Int64((date.timeIntervalSince1970 * 1000).rounded()) == ms, "\(text)")
        }
        #expect(RefTime.format(0) == "1970-01-01T00:00:00Z")
        #expect(RefTime.format(1_792_022_400_123) == "2026-10-15T00:00:00.123Z")
    }

    @Test func refsWithATimeParseAndPrintCanonically() throws {
        let r = try Ref(parsing: "models/churn:prod@2026-10-15T16:30:00+02:00")
        #expect(r == .aliasAt(name: "models/churn", alias: "prod", at: 1_792_022_400_000 + 52_200_000))
        #expect(r.description == "models/churn:prod@2026-10-15T14:30:00Z")
        #expect(try Ref(parsing: r.description) == r)
        #expect(r.name == "models/churn")
        for bad in ["models/churn:prod@", "models/churn:@2026-10-15", "bad name:prod@2026-10-15", "m:a/b@2026-10-15"]
        {
            #expect(throws: NameError.self, "\(bad)") { try Ref(parsing: bad) }
        }
    }
}

@Suite("RefTime.format without milliseconds")
struct RefTimeWholeSecondsTests {
    /// The listing form agrees with Foundation's internet date-time in UTC (seconds truncated).
    @Test func agreesWithISO8601DateFormatter() {
        let f = ISO8601DateFormatter()
        f.formatOptions = [.withInternetDateTime]
        f.timeZone = TimeZone(identifier: "UTC")
        for ms: Int64 in [0, 999, 1_000, 1_792_022_400_123, 1_792_022_459_999, 253_402_300_799_999] {
            #expect(
                RefTime.format(ms, milliseconds: false) == f.string(from: Date(timeIntervalSince1970: Double(ms) / 1000)),
                "\(ms)")
        }
    }
}
