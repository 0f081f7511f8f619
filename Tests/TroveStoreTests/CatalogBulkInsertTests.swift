import Foundation
import Testing
import TroveCore
import TrovePostgres
import TroveStore
import TroveTestServers

/// `CatalogTransaction.insertRows` (multi-row INSERTs, the chunk index's write path) against the
/// slow path it replaced, one INSERT per row, on both engines: the same rows end up in the table,
/// duplicates within and across statements keep their first row, a remainder past the last full
/// statement is inserted, and nothing to insert runs nothing.
@Suite("catalog bulk insert")
struct CatalogBulkInsertTests {
    static let one = """
        INSERT INTO chunks (digest, pack, "offset", stored_len, raw_len, codec, created, touched)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING
        """
    static let many = CatalogBulkInsert(
        table: "chunks",
        columns: ["digest", "pack", "\"offset\"", "stored_len", "raw_len", "codec", "created", "touched"],
        suffix: "ON CONFLICT DO NOTHING")

    /// 4 × 2000 + 37 rows (more than a full statement on either engine, and a remainder) with
    /// every 10th digest repeated later with other values.
    static func rows() -> [[CatalogValue]] {
        var rng = SplitMix64(seed: 61)
        var digests: [Data] = []
        var rows: [[CatalogValue]] = []
        for i in 0..<8037 {
            var d = Data()
            if i % 10 == 9, let again = digests.randomElement(using: &rng) {
                d = again
            } else {
                for _ in 0..<4 { withUnsafeBytes(of: rng.next()) { d.append(contentsOf: $0) } }
                digests.append(d)
            }
            rows.append([
                .blob(d), .integer(Int64(i % 7)), .integer(Int64(i) * 4096), .integer(Int64(i % 5000)),
                .integer(4096), .integer(Int64(i % 3)), .integer(Int64(i)), .integer(Int64(i) + 1),
            ])
        }
        return rows
    }

    func check(_ slow: any CatalogDatabase, _ fast: any CatalogDatabase) throws {
        let rows = Self.rows()
        try slow.write { db in
            let st = try db.cachedStatement(sql: Self.one)
            for r in rows { try st.execute(arguments: CatalogArguments(values: r)) }
        }
        try fast.write { db in
            try db.insertRows(Self.many, values: [])
            try db.insertRows(Self.many, values: rows.flatMap { $0 })
        }
        let query =
            "SELECT digest, pack, \"offset\", stored_len, raw_len, codec, created, touched FROM chunks ORDER BY digest"
        let a = try slow.read { db in try db.fetchRows(sql: query, arguments: []).map(\.values) }
        let b = try fast.read { db in try db.fetchRows(sql: query, arguments: []).map(\.values) }
        #expect(a.count == Set(rows.map { $0[0] }).count && a.count < rows.count)
        #expect(a == b)
    }

    @Test func sqliteBatchedEqualsRowByRow() throws {
        let dir = tempStorePath("bulk")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { cleanup(dir) }
        let slow = try SQLiteCatalog(path: dir + "/slow.sqlite")
        let fast = try SQLiteCatalog(path: dir + "/fast.sqlite")
        try slow.migrate()
        try fast.migrate()
        try check(slow, fast)
    }

    @Test func postgresBatchedEqualsRowByRow() throws {
        let server = try PostgresServer.shared()
        let slow = try PostgresCatalog.open(try server.freshDatabase())
        let fast = try PostgresCatalog.open(try server.freshDatabase())
        defer {
            slow.close()
            fast.close()
        }
        try check(slow, fast)
    }

    /// `CatalogStatement.executeEach` (SQLite: values bound straight into the statement) against
    /// `execute(arguments:)` per row: the same rows, duplicates keeping their first row, empty
    /// bytes stored as an empty BLOB; a row with too few values is refused.
    func checkEach(_ slow: any CatalogDatabase, _ fast: any CatalogDatabase) throws {
        let rows = Self.rows()
        try slow.write { db in
            let st = try db.cachedStatement(sql: Self.one)
            for r in rows { try st.execute(arguments: CatalogArguments(values: r)) }
            try db.execute(sql: "INSERT INTO objects (digest, data, created) VALUES (?, ?, ?)", arguments: [Data(repeating: 7, count: 32), Data(), 5])
        }
        try fast.write { db in
            let st = try db.cachedStatement(sql: Self.one)
            try st.executeEach(count: 0) { _, _ in Issue.record("no row to write") }
            try st.executeEach(count: rows.count) { i, w in
                let r = rows[i]
                guard case .blob(let d) = r[0] else { return }
                if i % 2 == 0 {
                    w.digest(Digest(bytes: d)!)
                } else {
                    d.withUnsafeBytes { w.bytes($0) }
                }
                for v in r[1...] {
                    guard case .integer(let n) = v else { continue }
                    w.integer(n)
                }
            }
            let objects = try db.cachedStatement(sql: "INSERT INTO objects (digest, data, created) VALUES (?, ?, ?)")
            try objects.executeEach(count: 1) { _, w in
                w.digest(Digest(bytes: Data(repeating: 7, count: 32))!)
                w.bytes(UnsafeRawBufferPointer(start: nil, count: 0))
                w.integer(5)
            }
        }
        let query =
            "SELECT digest, pack, \"offset\", stored_len, raw_len, codec, created, touched FROM chunks ORDER BY digest"
        let a = try slow.read { db in try db.fetchRows(sql: query, arguments: []).map(\.values) }
        let b = try fast.read { db in try db.fetchRows(sql: query, arguments: []).map(\.values) }
        #expect(a.count == Set(rows.map { $0[0] }).count && a.count < rows.count)
        #expect(a == b)
        let objectQuery = "SELECT digest, data, created FROM objects"
        let oa = try slow.read { db in try db.fetchRows(sql: objectQuery, arguments: []).map(\.values) }
        let ob = try fast.read { db in try db.fetchRows(sql: objectQuery, arguments: []).map(\.values) }
        #expect(oa.count == 1 && oa == ob)
        #expect(throws: StoreError.self) {
            try fast.write { db in
                try db.cachedStatement(sql: Self.one).executeEach(count: 1) { _, w in w.integer(1) }
            }
        }
    }

    @Test func sqliteEachEqualsRowByRow() throws {
        let dir = tempStorePath("each")
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { cleanup(dir) }
        let slow = try SQLiteCatalog(path: dir + "/slow.sqlite")
        let fast = try SQLiteCatalog(path: dir + "/fast.sqlite")
        try slow.migrate()
        try fast.migrate()
        try checkEach(slow, fast)
    }

    @Test func postgresEachEqualsRowByRow() throws {
        let server = try PostgresServer.shared()
        let slow = try PostgresCatalog.open(try server.freshDatabase())
        let fast = try PostgresCatalog.open(try server.freshDatabase())
        defer {
            slow.close()
            fast.close()
        }
        try checkEach(slow, fast)
    }
}
