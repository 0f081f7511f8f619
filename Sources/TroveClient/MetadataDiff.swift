import Foundation
import TroveCore
import TroveProtocol

/// The difference between the metadata of two versions, by key: added, removed, changed (with
/// the numeric delta and relative change when both values are numbers) and unchanged.
public struct MetadataDiff: Sendable, Equatable {
    /// A key present on both sides with different values (or types).
    public struct Change: Sendable, Equatable {
        public var key: String
        public var before: MetadataValue
        public var after: MetadataValue
        /// `after - before` when both are numbers (integers stay exact unless they overflow).
        public var delta: MetadataValue?
        /// `delta / |before|` when both are numbers and `before` is not zero.
        public var relative: Double?

        /// `auc 0.912 → 0.931 (+0.019, +2.1 %)`; `stage a → b`; `epochs "12" → 12 (string → number)`.
        public var text: String {
            var s = "\(key) \(MetadataDiff.show(before)) → \(MetadataDiff.show(after))"
            if let delta {
                s += " (\(MetadataDiff.signed(delta, like: [before, after]))"
                if let relative { s += ", " + MetadataDiff.percent(relative) }
                s += ")"
            } else if before.kind != after.kind {
                s += " (\(before.kind) → \(after.kind))"
            }
            return s
        }
    }

    public var added: [MetadataEntry] = []
    public var removed: [MetadataEntry] = []
    public var changed: [Change] = []
    public var unchanged: [MetadataEntry] = []

    public var isEmpty: Bool { added.isEmpty && removed.isEmpty && changed.isEmpty && unchanged.isEmpty }

    /// Compares `a` (old) with `b` (new); every list is sorted by key.
    public static func compare(_ a: [MetadataEntry], _ b: [MetadataEntry]) -> MetadataDiff {
        var d = MetadataDiff()
        var old: [String: MetadataValue] = [:]
        for e in a { old[e.key] = e.value }
        var new: [String: MetadataValue] = [:]
        for e in b { new[e.key] = e.value }
        for key in Set(old.keys).union(new.keys).sorted() {
            switch (old[key], new[key]) {
            case (nil, let y?): d.added.append(MetadataEntry(key: key, value: y))
            case (let x?, nil): d.removed.append(MetadataEntry(key: key, value: x))
            case (let x?, let y?) where x == y: d.unchanged.append(MetadataEntry(key: key, value: x))
            case (let x?, let y?): d.changed.append(change(key, x, y))
            case (nil, nil): break
            }
        }
        return d
    }

    static func change(_ key: String, _ x: MetadataValue, _ y: MetadataValue) -> Change {
        var c = Change(key: key, before: x, after: y)
        switch (x, y) {
        case (.integer(let i), .integer(let j)):
            let (r, overflow) = j.subtractingReportingOverflow(i)
            c.delta = overflow ? .number(Double(j) - Double(i)) : .integer(r)
            if i != 0 { c.relative = (Double(j) - Double(i)) / abs(Double(i)) }
        default:
            guard let u = x.numeric, let v = y.numeric else { return c }
            c.delta = .number(v - u)
            if u != 0 { c.relative = (v - u) / abs(u) }
        }
        return c
    }

    /// The value as text; a string that would read as another type is quoted.
    static func show(_ v: MetadataValue) -> String {
        guard case .string(let s) = v else { return v.description }
        return s.isEmpty || Double(s) != nil || s == "true" || s == "false" ? "\"\(s)\"" : s
    }

    /// `+0.019`: the delta rounded to the decimals its operands were written with (so 0.931 -
    /// 0.912 prints as 0.019, not 0.019000000000000017).
    static func signed(_ delta: MetadataValue, like operands: [MetadataValue]) -> String {
        let sign: String
        switch delta {
        case .integer(let i): return (i >= 0 ? "+" : "") + String(i)
        case .number(let d): sign = d >= 0 ? "+" : "-"
        case .string, .bool: return delta.description
        }
        let d = abs(delta.numeric ?? 0)
        var decimals = 0
        for o in operands {
            let t = o.description
            if t.contains("e") || t.contains("E") { return sign + String(format: "%.4g", d) }
            if let dot = t.firstIndex(of: ".") {
                decimals = max(decimals, t.distance(from: dot, to: t.endIndex) - 1)
            }
        }
        return sign + String(format: "%.\(min(decimals, 17))f", d)
    }

    /// `+2.1 %`.
    static func percent(_ r: Double) -> String {
        (r >= 0 ? "+" : "-") + String(format: "%.1f", abs(r) * 100) + " %"
    }
}
