import TroveCore

/// Text forms the pages share: links, sizes, times.
enum WebFormat {
    /// `/_ui/PAGE?k=v&…` with every value percent-encoded (parameters in the given order).
    static func link(_ page: String, _ params: [(String, String)] = []) -> String {
        let base = "/_ui/" + page
        let q = params.map { "\($0.0)=\(encode($0.1))" }.joined(separator: "&")
        return q.isEmpty ? base : base + "?" + q
    }

    static func versionLink(_ name: String, _ version: String) -> String {
        link("version", [("name", name), ("version", version)])
    }

    static func nameLink(_ name: String) -> String { link("name", [("name", name)]) }

    static func aliasLink(_ name: String, _ alias: String) -> String {
        link("alias", [("name", name), ("alias", alias)])
    }

    /// Percent-encodes every byte but `A-Z a-z 0-9 - . _ ~` (and `/` when `keepSlash`).
    static func encode(_ s: String, keepSlash: Bool = false) -> String {
        URIEncoding.encode(s, keepSlash: keepSlash)
    }

    /// `1.5 MiB` style, exact below 1 KiB.
    static func bytes(_ n: UInt64) -> String {
        if n < 1024 { return "\(n) B" }
        let units = ["KiB", "MiB", "GiB", "TiB", "PiB"]
        var v = Double(n) / 1024
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        return "\(fixed(v, 1)) \(units[i])"
    }

    /// `v` with `digits` decimals (no Foundation formatter).
    static func fixed(_ v: Double, _ digits: Int) -> String {
        guard v.isFinite else { return "–" }
        var scale = 1.0
        for _ in 0..<digits { scale *= 10 }
        let r = (abs(v) * scale).rounded()
        let whole = Int64(r / scale)
        var frac = String(Int64(r) - whole * Int64(scale))
        while frac.count < digits { frac = "0" + frac }
        return (v < 0 && r != 0 ? "-" : "") + String(whole) + (digits > 0 ? "." + frac : "")
    }

    /// `2026-10-15T14:30:00Z` (UTC, whole seconds).
    static func time(_ millis: Int64) -> String { RefTime.format(millis, milliseconds: false) }

    /// The first line of `s`, at most `limit` characters (with `…` when cut).
    static func excerpt(_ s: String, _ limit: Int = 80) -> String {
        let line = s.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? ""
        return line.count > limit ? String(line.prefix(limit - 1)) + "…" : line
    }

    /// The type a metadata value is shown with.
    static func kind(_ v: MetadataValue) -> String {
        switch v {
        case .string: "string"
        case .integer: "integer"
        case .number: "number"
        case .bool: "boolean"
        }
    }

    /// `k=v, k=v` for the first few metadata entries, by key.
    static func metadataSummary(_ m: [String: MetadataValue], limit: Int = 4) -> String {
        let keys = m.keys.sorted()
        var parts = keys.prefix(limit).map { "\($0)=\(excerpt(m[$0]!.description, 24))" }
        if keys.count > limit { parts.append("+\(keys.count - limit)") }
        return parts.joined(separator: ", ")
    }
}
