import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// Listing and log in SQL: prefix ranges, metadata filters, keyset pages.
@Suite("Version queries")
struct VersionQueryTests {
    @Test("a prefix selects the name and what is under it, not names that merely start with it")
    func prefixRange() throws {
        let root = tempStorePath("query")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 1)
        let t = try storeFile(store, rng.bytes(100))
        for name in ["a/b", "a/b/c", "a/b/c/d", "a/bc", "a/b-c", "a/b.x", "a", "b"] {
            _ = try store.createVersion(name: name, version: "1", tree: t, creator: "t")
        }
        func names(_ prefix: String) throws -> [String] {
            try store.allVersions(VersionQuery(prefix: prefix)).map(\.name).sorted()
        }
        #expect(try names("a/b") == ["a/b", "a/b/c", "a/b/c/d"])
        #expect(try names("a/b/") == ["a/b", "a/b/c", "a/b/c/d"])
        #expect(try names("a") == ["a", "a/b", "a/b-c", "a/b.x", "a/b/c", "a/b/c/d", "a/bc"])
        #expect(try names("").count == 8)
        #expect(try names("c").isEmpty)
        // The query plan uses the name range, not a scan with substr (SQLite's plan; PostgreSQL's
        // planner scans a table of 8 rows whatever the indexes).
        guard store.catalog.engine == .sqlite else { return }
        let plan = try store.catalog.read { db in
            try Row.fetchAll(
                db,
                sql: "EXPLAIN QUERY PLAN SELECT * FROM versions WHERE (name = ? OR (name >= ? AND name < ?))",
                arguments: ["a/b", "a/b/", "a/b0"]
            ).map { $0["detail"] as String }
        }
        #expect(plan.joined().contains("USING") && !plan.joined().contains("SCAN"), "\(plan)")
    }

    @Test("metadata filters, retired versions, and a log of one name")
    func filtersAndLog() throws {
        let root = tempStorePath("query")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 2)
        let t = try storeFile(store, rng.bytes(100))
        for i in 0..<6 {
            _ = try store.createVersion(
                name: "m", version: "v\(i)", tree: t, creator: "t",
                metadata: ["stage": i % 2 == 0 ? "prod" : "dev", "odd key.with \"quotes\"": "ü\(i % 3)"])
        }
        _ = try store.createVersion(name: "m2", version: "v0", tree: t, creator: "t", metadata: ["stage": "prod"])
        try store.retireVersion(name: "m", version: "v4", actor: "t")
        let prod = try store.allVersions(VersionQuery(metadata: ["stage": "prod"]))
        #expect(Set(prod.map(\.key.description)) == ["m:v0", "m:v2", "m2:v0"])
        let both = try store.allVersions(VersionQuery(prefix: "m", metadata: ["stage": "prod", "odd key.with \"quotes\"": "ü0"]))
        #expect(both.map(\.key.description) == ["m:v0"])
        let withRetired = try store.allVersions(VersionQuery(includeRetired: true, metadata: ["stage": "prod"]))
        #expect(withRetired.count == 4)
        // A log is one name only, newest first (ties: version descending).
        let log = try store.allVersions(VersionQuery(name: "m"))
        #expect(log.map(\.version) == ["v5", "v3", "v2", "v1", "v0"])
        #expect(try store.allVersions(VersionQuery(name: "m", includeRetired: true)).count == 6)
    }

    @Test("pages of any size walk every version once, in order, with long multi-byte messages")
    func keysetPages() throws {
        let root = tempStorePath("query")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 3)
        let t = try storeFile(store, rng.bytes(100))
        // Many versions share a millisecond: the cursor must break ties exactly.
        let message = String(repeating: "é→", count: 1000)
        for i in 0..<240 {
            _ = try store.createVersion(
                name: ["x/a", "x/b", "y"][i % 3], version: "v\(i)", tree: t, creator: "t", message: message)
        }
        for query in [VersionQuery(), VersionQuery(prefix: "x"), VersionQuery(name: "x/b")] {
            let all = try store.allVersions(query)
            for pageSize in [1, 7, 100] {
                var walked: [VersionRecord] = []
                var cursor: VersionCursor? = nil
                while true {
                    let page = try store.versions(query, after: cursor, limit: pageSize)
                    #expect(page.count <= pageSize)
                    walked += page
                    guard let last = page.last else { break }
                    cursor = VersionCursor(after: last)
                }
                #expect(walked.map(\.key) == all.map(\.key), "page size \(pageSize)")
            }
            #expect(all.allSatisfy { $0.message == message })
            let sorted = all.sorted {
                query.name == nil
                    ? ($0.created, $1.name, $1.version) > ($1.created, $0.name, $0.version)
                    : ($0.created, $0.version) > ($1.created, $1.version)
            }
            #expect(all.map(\.key) == sorted.map(\.key))
        }
        #expect(try store.allVersions(VersionQuery()).count == 240)
        #expect(try store.allVersions(VersionQuery(prefix: "x")).count == 160)
    }

    @Test("setting an alias returns its previous target")
    func aliasPrevious() throws {
        let root = tempStorePath("query")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 4)
        let t = try storeFile(store, rng.bytes(100))
        for v in ["1", "2"] { _ = try store.createVersion(name: "m", version: v, tree: t, creator: "t") }
        #expect(try store.setAlias(name: "m", alias: "prod", version: "1", actor: "t") == nil)
        #expect(try store.setAlias(name: "m", alias: "prod", version: "2", actor: "t") == "1")
        #expect(try store.setAlias(name: "m", alias: "prod", version: "2", actor: "t") == "2")
    }
}
