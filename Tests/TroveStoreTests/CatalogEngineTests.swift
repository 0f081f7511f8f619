import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// What every `CatalogDatabase` engine must do the same way, run against a real database:
/// value round trips (an empty blob or string is not NULL), `RETURNING id`, `ON CONFLICT`, prepared
/// statements, `changesCount`, errors thrown by a transaction body (rolled back, rethrown
/// unchanged), the presence lookup and the global lock. `catalog` must have the store schema.
func checkCatalogEngine(_ catalog: any CatalogDatabase) throws {
    let a = SHA256.hash([1])
    let b = SHA256.hash([2])
    let c = SHA256.hash([3])
    // A pack and a chunk through RETURNING and ON CONFLICT.
    let pack: Int64 = try catalog.write { db in
        let id = try #require(
            try Int64.fetchOne(
                db, sql: "INSERT INTO packs (name, state, size, created) VALUES (?, 0, ?, ?) RETURNING id",
                arguments: ["p-engine", 5, 7]))
        let insert = try db.cachedStatement(
            sql: """
                INSERT INTO chunks (digest, pack, "offset", stored_len, raw_len, codec, created, touched)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
                """)
        for (i, d) in [a, b, a].enumerated() {
            try insert.execute(arguments: [d.data, id, i * 10, 3, 4, 0, 1, 1])
        }
        try db.execute(sql: "UPDATE chunks SET touched = ? WHERE pack = ?", arguments: [9, id])
        #expect(db.changesCount == 2)
        return id
    }
    try catalog.read { db in
        let rows = try Row.fetchAll(
            db, sql: "SELECT digest, \"offset\", touched FROM chunks WHERE pack = ? ORDER BY \"offset\"",
            arguments: [pack])
        #expect(rows.map { $0["offset"] as Int } == [0, 10])
        #expect(rows.map { Digest(data: $0["digest"]) } == [a, b])
        #expect(
            try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks WHERE pack = ?", arguments: [pack]) == 2)
        #expect(
            try Int64.fetchOne(db, sql: "SELECT MAX(touched) FROM chunks WHERE pack = ?", arguments: [-1])
                == nil)
        #expect(
            try Bool.fetchOne(
                db, sql: "SELECT EXISTS(SELECT 1 FROM chunks WHERE pack = ?)", arguments: [pack]) == true)
        let st = try db.cachedStatement(sql: "SELECT raw_len FROM chunks WHERE digest = ?")
        #expect(
            try Int.fetchOne(st, arguments: [a.data]) == 4 && Int.fetchOne(st, arguments: [c.data]) == nil)
    }
    #expect(try catalog.presentDigests([a, a, b, c].sorted()) == [a, b])
    // Values: text, NULL, an empty blob and an upsert.
    try catalog.write { db in
        for report in ["first", "second"] {
            try db.execute(
                sql: """
                    INSERT INTO maintenance_log (kind, finished, ok, report) VALUES (?, ?, ?, ?)
                    ON CONFLICT (kind) DO UPDATE SET report = excluded.report
                    """, arguments: ["engine-test", 1, true, report])
        }
        try db.execute(
            sql: "INSERT INTO objects (digest, data, created) VALUES (?, ?, ?)",
            arguments: [c.data, Data(), 1])
        try db.execute(
            sql:
                "INSERT INTO alias_history (name, alias, from_version, to_version, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
            arguments: ["n", "a", nil, "é", "", 1])
    }
    try catalog.read { db in
        #expect(
            try String.fetchOne(db, sql: "SELECT report FROM maintenance_log WHERE kind = 'engine-test'")
                == "second")
        let row = try #require(
            try Row.fetchOne(db, sql: "SELECT data FROM objects WHERE digest = ?", arguments: [c.data]))
        #expect(row.value("data") == .blob(Data()))
        let h = try #require(
            try Row.fetchOne(db, sql: "SELECT from_version, to_version, actor FROM alias_history"))
        #expect(h["from_version"] as String? == nil && h["to_version"] as String == "é")
        #expect(h.value("actor") == .text(""))
    }
    // A body's own error rolls the transaction back and comes out unchanged.
    struct Refused: Error {}
    #expect(throws: Refused.self) {
        try catalog.writeTransaction { db in
            try db.execute(sql: "DELETE FROM chunks")
            throw Refused()
        }
    }
    #expect(try catalog.presentDigests([a, b].sorted()).count == 2)
    // Wrong SQL is a `.catalog` error naming the statement.
    do {
        try catalog.read { db in _ = try Row.fetchAll(db, sql: "SELECT nope FROM chunks") }
        Issue.record("a query of a missing column ran")
    } catch {
        guard case .catalog(let m) = error else { throw error }
        #expect(m.contains("nope"), "\(m)")
    }
    // One holder of a global lock at a time.
    let lock = try #require(try catalog.tryGlobalLock(42))
    #expect(try catalog.tryGlobalLock(42) == nil)
    lock.release()
    let again = try #require(try catalog.tryGlobalLock(42))
    again.release()
}

@Suite("Catalog engine: SQLite")
struct CatalogEngineTests {
    @Test("SQLiteCatalog does what every catalog engine must")
    func sqlite() throws {
        let root = tempStorePath("engine")
        defer { cleanup(root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let catalog = try SQLiteCatalog(path: root + "/catalog.sqlite")
        try catalog.migrate()
        try catalog.migrate()  // idempotent
        #expect(catalog.engine == .sqlite)
        try checkCatalogEngine(catalog)
    }

    @Test("SQLiteCatalog with WAL checkpoints aside does what every engine must, and checkpoints")
    func checkpointAside() throws {
        let root = tempStorePath("engine-checkpoint")
        defer { cleanup(root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let path = root + "/catalog.sqlite"
        var catalog: SQLiteCatalog? = try SQLiteCatalog(path: path, checkpointAside: true)
        try catalog!.migrate()
        try checkCatalogEngine(catalog!)
        let checkpointer = try #require(catalog!.checkpointer)
        let before = try catalog!.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM objects") } ?? 0
        // ≈ 12 MB of rows in three transactions: each grows the WAL past 1000 pages.
        var rows: [(Data, Data)] = []
        var rng = SplitMix64(seed: 71)
        for _ in 0..<3000 {
            var key = Data()
            for _ in 0..<4 { withUnsafeBytes(of: rng.next()) { key.append(contentsOf: $0) } }
            rows.append((key, Data(repeating: UInt8(truncatingIfNeeded: rng.next()), count: 4000)))
        }
        for part in 0..<3 {
            try catalog!.write { db in
                for (k, v) in rows[(part * 1000)..<((part + 1) * 1000)] {
                    try db.execute(sql: "INSERT INTO objects (digest, data, created) VALUES (?, ?, 1)", arguments: [k, v])
                }
            }
            checkpointer.settle()
        }
        #expect(checkpointer.runs.load(ordering: .relaxed) >= 1)
        // The database file holds what was checkpointed; every row reads back, also after a reopen.
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        #expect(size > 4_000_000)
        for reopen in [false, true] {
            if reopen {
                catalog = nil
                catalog = try SQLiteCatalog(path: path, checkpointAside: true)
            }
            let stored = try catalog!.read { db in
                try Row.fetchAll(db, sql: "SELECT digest, data FROM objects").map { (($0[0] as Data), ($0[1] as Data)) }
            }
            #expect(stored.count == before + rows.count)
            let byKey = Dictionary(uniqueKeysWithValues: stored)
            #expect(rows.allSatisfy { byKey[$0.0] == $0.1 })
        }
    }

    @Test("a store opened with an injected catalog uses it")
    func injected() throws {
        let root = tempStorePath("engine-injected")
        defer { cleanup(root) }
        try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
        let catalog = try SQLiteCatalog(path: root + "/elsewhere.sqlite")
        let store = try Store.create(at: root + "/store", options: StoreOptions(catalog: catalog))
        _ = try storeFile(store, Array(repeating: 7, count: 1000))
        #expect(!FileManager.default.fileExists(atPath: root + "/store/catalog.sqlite"))
        let chunks = try catalog.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM chunks") }
        #expect(chunks == 1)
    }
}
