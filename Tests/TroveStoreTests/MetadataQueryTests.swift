import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// Typed metadata in the catalog, conditions and sorting in SQL, checked against a plain Swift
/// evaluation of the same conditions.
@Suite("Metadata conditions and sorting")
struct MetadataQueryTests {
    @Test("values keep their type; a store with text values still reads")
    func typedRoundTrip() throws {
        let root = tempStorePath("meta")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 11)
        let t = try storeFile(store, rng.bytes(100))
        let meta: [String: MetadataValue] = [
            "auc": .number(0.9731), "epochs": .integer(12), "validated": .bool(true), "git": "abc\"1\\\n",
            "whole": .number(3.5e20), "neg": .integer(-7),
        ]
        _ = try store.createVersion(name: "m", version: "1", tree: t, creator: "t", metadata: meta)
        #expect(try store.version(name: "m", version: "1")?.metadata == meta)
        // A version written before typed metadata (JSONSerialization of strings, escaped slashes).
        try store.catalog.write { db in
            try db.execute(
                sql: "UPDATE versions SET metadata = ? WHERE name = 'm'",
                arguments: [#"{"auc":"0.9731","path":"a\/b"}"#])
        }
        #expect(try store.version(name: "m", version: "1")?.metadata == ["auc": "0.9731", "path": "a/b"])
        #expect(try store.allVersions(VersionQuery(metadata: ["auc": "0.9731"])).count == 1)
    }

    @Test("every operator agrees with a Swift evaluation; sorting pages with a keyset cursor")
    func operatorsAndSorting() throws {
        let root = tempStorePath("meta")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 12)
        let t = try storeFile(store, rng.bytes(100))
        var all: [String: [String: MetadataValue]] = [:]
        for i in 0..<60 {
            var m: [String: MetadataValue] = ["stage": i % 3 == 0 ? "prod" : "dev", "epochs": .integer(Int64(i % 7))]
            if i % 5 != 0 { m["auc"] = .number(Double(i % 11) / 10) }
            if i % 2 == 0 { m["validated"] = .bool(i % 4 == 0) }
            all["v\(i)"] = m
            _ = try store.createVersion(name: "m", version: "v\(i)", tree: t, creator: "t", metadata: m)
        }
        func swiftEval(_ c: MetadataCondition, _ m: [String: MetadataValue]) -> Bool {
            guard let v = m[c.key] else { return false }
            if !c.op.isOrdering {
                let eq = v == c.value || (v.numeric != nil && v.numeric == c.value.numeric)
                return c.op == .eq ? eq : !eq
            }
            let (a, b) = (v.numeric!, c.value.numeric!)
            switch c.op {
            case .lt: return a < b
            case .le: return a <= b
            case .gt: return a > b
            case .ge: return a >= b
            default: return false
            }
        }
        let conditions: [[MetadataCondition]] = [
            [.init(parsing: "auc>=0.5")!], [.init(parsing: "auc<0.3")!], [.init(parsing: "auc<=0.3")!],
            [.init(parsing: "auc>0.9")!], [.init(parsing: "epochs=3")!], [.init(parsing: "epochs!=3")!],
            [.init(parsing: "validated=true")!, .init(parsing: "auc>=0.2")!],
            [.init(parsing: "stage!=prod")!, .init(parsing: "epochs>=5")!], [.init(parsing: "auc=0.7")!],
        ]
        for cs in conditions {
            let got = Set(try store.allVersions(VersionQuery(conditions: cs)).map(\.version))
            let want = Set(all.filter { _, m in cs.allSatisfy { swiftEval($0, m) } }.keys)
            #expect(got == want, "\(cs)")
        }
        // Sorted by auc descending, versions without auc last, in pages of 7.
        let query = VersionQuery(conditions: [.init(parsing: "epochs<6")!], sort: MetadataSort(key: "auc", descending: true))
        var paged: [VersionRecord] = []
        var cursor: VersionCursor? = nil
        while true {
            let page = try store.versions(query, after: cursor, limit: 7)
            paged += page
            guard let last = page.last, page.count == 7 else { break }
            cursor = VersionCursor(after: last, sort: query.sort)
        }
        #expect(paged == (try store.allVersions(query)))
        let aucs = paged.map { $0.metadata["auc"]?.numeric }
        let present = aucs.prefix { $0 != nil }.map { $0! }
        #expect(present == present.sorted(by: >))
        #expect(aucs.dropFirst(present.count).allSatisfy { $0 == nil })
        #expect(paged.count == all.values.filter { ($0["epochs"]?.numeric ?? 9) < 6 }.count)
    }

    @Test("comparisons across types are refused with a message naming the key and the types")
    func mixedTypesRefused() throws {
        let root = tempStorePath("meta")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 13)
        let t = try storeFile(store, rng.bytes(100))
        _ = try store.createVersion(name: "m", version: "1", tree: t, creator: "t", metadata: ["auc": .number(0.9)])
        _ = try store.createVersion(name: "m", version: "2", tree: t, creator: "t", metadata: ["auc": "0.95"])
        _ = try store.createVersion(name: "n", version: "1", tree: t, creator: "t", metadata: ["auc": .number(0.8)])
        func refusal(_ q: VersionQuery) -> String? {
            do {
                _ = try store.allVersions(q)
                return nil
            } catch { return "\(error)" }
        }
        let m = refusal(VersionQuery(prefix: "m", conditions: [.init(parsing: "auc>=0.9")!]))
        #expect(m?.contains("auc is a string") == true && m?.contains("compares numbers") == true, "\(m ?? "")")
        #expect(refusal(VersionQuery(prefix: "m", sort: MetadataSort(key: "auc")))?.contains("cannot sort by auc") == true)
        #expect(refusal(VersionQuery(conditions: [.init(parsing: "ok<true")!]))?.contains("booleans have no order") == true)
        // Another prefix holds only numbers; equality never refuses.
        #expect(try store.allVersions(VersionQuery(prefix: "n", conditions: [.init(parsing: "auc>=0.5")!])).count == 1)
        #expect(try store.allVersions(VersionQuery(prefix: "m", conditions: [.init(parsing: "auc=0.95")!])).count == 1)
    }
}
