import Foundation
import Synchronization
import Testing
import TroveCore
import TroveStore
import TrovePostgres
import TroveTestServers

/// The PostgreSQL catalog engine against a real PostgreSQL 15 (the shared fixture server; a
/// fresh database per test): schema, value conversion, transactions, errors, the chunk lookup
/// and the global lock. The Store suite itself runs on it through the store factory.
@Suite("PostgreSQL catalog engine")
struct PostgresCatalogTests {
    /// A migrated catalog on a new database of the shared server.
    func freshCatalog(maxConnections: Int = 4) throws -> PostgresCatalog {
        try PostgresCatalog.open(try PostgresServer.shared().freshDatabase(maxConnections: maxConnections))
    }

    func rows(_ tx: any CatalogTransaction, _ sql: String, _ args: CatalogArguments = []) throws -> [CatalogRow] {
        try tx.fetchRows(sql: sql, arguments: args)
    }

    @Test func schemaHasTheSQLiteTablesAndColumns() throws {
        // The SQLite catalog a new store creates, table by table, column by column.
        let path = tempStorePath("pgschema")
        defer { cleanup(path) }
        _ = try Store.create(at: path)
        let sqlite = try SQLiteCatalog(path: path + "/catalog.sqlite")
        let expected: [String: [String]] = try sqlite.read { db in
            let tables = try String.fetchAll(
                db, sql: "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'grdb_%' AND name NOT LIKE 'sqlite_%'")
            var out = [String: [String]]()
            for t in tables {
                out[t] = try CatalogRow.fetchAll(db, sql: "PRAGMA table_info(\(t))").map { $0["name"] as String }
            }
            return out
        }
        #expect(expected.count >= 20)
        let pg = try freshCatalog()
        let actual: [String: [String]] = try pg.read { tx in
            var out = [String: [String]]()
            for r in try rows(
                tx,
                """
                SELECT table_name, column_name FROM information_schema.columns
                WHERE table_schema = 'public' AND table_name <> 'schema_migrations'
                ORDER BY table_name, ordinal_position
                """)
            {
                out[r["table_name"] as String, default: []].append(r["column_name"])
            }
            return out
        }
        #expect(actual == expected)
        // Every migration is recorded, and a second migrate changes nothing.
        try pg.migrate()
        let versions: [String] = try pg.read { tx in
            try rows(tx, "SELECT version FROM schema_migrations ORDER BY version").map { $0["version"] }
        }
        #expect(versions == ["v1", "v2-gc-scrub", "v3-version-order", "v4-buckets", "v5-maintenance-log", "v6-inline-objects"])
    }

    @Test func concurrentMigratesApplyEachVersionOnce() throws {
        let config = try PostgresServer.shared().freshDatabase()
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 3) { _ in
            do { _ = try PostgresCatalog.open(config) } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 } == [])
        let pg = PostgresCatalog(config: config)
        let n: Int64 = try pg.read { tx in try rows(tx, "SELECT COUNT(*) AS n FROM schema_migrations")[0]["n"] }
        #expect(n == Int64(6))
    }

    @Test func valuesComeBackAsSQLiteWouldReturnThem() throws {
        let pg = try freshCatalog()
        let blob = Data((0..<32).map { UInt8($0) })
        try pg.write { tx in
            try tx.execute(
                sql: "INSERT INTO trees (digest, size, files, created) VALUES (?, ?, ?, ?)",
                arguments: [blob, Int64.max, 3, -5])
            try tx.execute(
                sql: "INSERT INTO gc_state (id, active, epoch) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET active = ?, phase = ?",
                arguments: [1, 0, 0, true, "it's ? a 'quoted' phase"])
            try tx.execute(
                sql: "INSERT INTO quarantine (kind, digest, pack, \"offset\", reason, file, at) VALUES ('chunk', ?, ?, ?, 'r?', ?, 7)",
                arguments: [blob, nil as String?, nil as Int64?, nil as String?])
        }
        try pg.read { tx in
            let t = try rows(tx, "SELECT * FROM trees")
            #expect(t.count == 1)
            #expect(t[0]["digest"] as Data == blob)
            #expect(t[0]["size"] as Int64 == Int64.max)
            #expect(t[0]["files"] as Int == 3)
            #expect(t[0]["created"] as Int64 == -5)
            let g = try rows(tx, "SELECT active, phase, started FROM gc_state")[0]
            #expect(g["active"] as Int64 == 1)
            #expect(g["phase"] as String == "it's ? a 'quoted' phase")
            #expect(g.value("started").isNull)
            let q = try rows(tx, "SELECT pack, \"offset\", reason, id FROM quarantine")[0]
            #expect(q.value("pack").isNull)
            #expect(q.value("offset").isNull)
            #expect(q["reason"] as String == "r?")
            #expect(q["id"] as Int64 == 1)
            // Comparisons and EXISTS are integers 0/1; SUM is an integer; MAX of nothing is NULL;
            // a real stays real.
            let e = try rows(
                tx,
                """
                SELECT EXISTS(SELECT 1 FROM trees) AS yes, EXISTS(SELECT 1 FROM blobs) AS no,
                       (SELECT SUM(files) FROM trees) AS total, (SELECT MAX(size) FROM blobs) AS none,
                       ? > 1 AS cmp, ? AS r
                """, [5, 2.5])[0]
            #expect(e["yes"] as Int64 == 1)
            #expect(e["no"] as Int64 == 0)
            #expect(e["total"] as Int64 == 3)
            #expect(e.value("none").isNull)
            #expect(e["cmp"] as Bool == true)
            #expect(e["r"] as Double == 2.5)
        }
    }

    @Test func changesCountAndReturning() throws {
        let pg = try freshCatalog()
        try pg.write { tx in
            let id: Int64 = try rows(
                tx, "INSERT INTO packs (name, state, size, created) VALUES (?, 0, 0, 0) RETURNING id", ["a"])[0]["id"]
            let id2: Int64 = try rows(
                tx, "INSERT INTO packs (name, state, size, created) VALUES (?, 0, 0, 0) RETURNING id", ["b"])[0]["id"]
            #expect(id2 == id + 1)
            try tx.execute(sql: "UPDATE packs SET state = 1", arguments: [])
            #expect(tx.changesCount == 2)
            try tx.execute(sql: "INSERT INTO packs (name, state, size, created) VALUES ('a', 0, 0, 0) ON CONFLICT DO NOTHING", arguments: [])
            #expect(tx.changesCount == 0)
            try tx.execute(sql: "DELETE FROM packs WHERE name = ?", arguments: ["b"])
            #expect(tx.changesCount == 1)
            let st = try tx.cachedStatement(sql: "INSERT INTO gc_dead_packs (name) VALUES (?)")
            for i in 0..<5 { try st.execute(arguments: ["p\(i)"]) }
            #expect(try st.fetchRows(arguments: ["p9"]).isEmpty)
        }
        #expect(try pg.read { tx in try rows(tx, "SELECT name FROM gc_dead_packs").count } == 6)
    }

    @Test func aFailedWriteRollsBackAndTheConnectionServesOn() throws {
        let pg = try freshCatalog(maxConnections: 1)
        struct Boom: Error {}
        #expect(throws: Boom.self) {
            try pg.writeTransaction { tx in
                try tx.execute(sql: "INSERT INTO gc_dead_packs (name) VALUES ('x')", arguments: [])
                throw Boom()
            }
        }
        // A unique violation names the constraint, and rolls back what came before it.
        do {
            try pg.write { tx in
                try tx.execute(sql: "INSERT INTO gc_dead_packs (name) VALUES ('y')", arguments: [])
                try tx.execute(sql: "INSERT INTO gc_dead_packs (name) VALUES ('y')", arguments: [])
            }
            Issue.record("a duplicate key was accepted")
        } catch {
            guard case .catalog(let message) = error else {
                Issue.record("unexpected \(error)")
                return
            }
            #expect(message.contains("23505") && message.contains("gc_dead_packs_pkey"))
        }
        // A bad statement is a catalog error too, and the one connection serves on.
        #expect(throws: StoreError.self) {
            try pg.write { tx in try tx.execute(sql: "INSERT INTO nosuchtable VALUES (1)", arguments: []) }
        }
        #expect(try pg.read { tx in try rows(tx, "SELECT name FROM gc_dead_packs").count } == 0)
    }

    @Test func aSerializationFailureRunsTheTransactionAgain() throws {
        let pg = try freshCatalog()
        let attempts = Mutex(0)
        try pg.write { tx in
            let n = attempts.withLock { $0 += 1; return $0 }
            try tx.execute(sql: "INSERT INTO gc_dead_packs (name) VALUES (?)", arguments: ["try\(n)"])
            if n < 3 {
                try tx.execute(
                    sql: "DO $$ BEGIN RAISE EXCEPTION 'conflict' USING ERRCODE = '40001'; END $$", arguments: [])
            }
        }
        #expect(attempts.withLock { $0 } == 3)
        #expect(try pg.read { tx in try rows(tx, "SELECT name FROM gc_dead_packs").map { $0["name"] as String } } == ["try3"])
    }

    @Test func writesAreSerialisedAcrossCatalogs() throws {
        // Two catalogs on one database (two instances): read-modify-write loses no update.
        let config = try PostgresServer.shared().freshDatabase()
        let a = try PostgresCatalog.open(config)
        let b = PostgresCatalog(config: config)
        let perWorker = 40
        let failures = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 4) { i in
            let c = i % 2 == 0 ? a : b
            for _ in 0..<perWorker {
                do {
                    try c.write { tx in
                        let e: Int64 = try rows(tx, "SELECT epoch FROM gc_state")[0]["epoch"]
                        try tx.execute(sql: "UPDATE gc_state SET epoch = ?", arguments: [e + 1])
                    }
                } catch { failures.withLock { $0.append("\(error)") } }
            }
        }
        #expect(failures.withLock { $0 } == [])
        #expect(try a.read { tx in try rows(tx, "SELECT epoch FROM gc_state")[0]["epoch"] as Int64 } == Int64(4 * perWorker))
    }

    @Test func presentDigestsMatchesAOneByOneLookup() throws {
        let pg = try freshCatalog()
        var random = TestRandom(seed: 16)
        let all = (0..<(PostgresCatalog.lookupBatch + 300)).map { _ in SHA256.hash(random.bytes(16)) }
        let stored = Set(all.enumerated().filter { $0.offset % 3 != 0 }.map(\.element))
        try pg.write { tx in
            let st = try tx.cachedStatement(
                sql: "INSERT INTO chunks (digest, pack, \"offset\", stored_len, raw_len, codec, created, touched) VALUES (?, 1, 0, 1, 1, 0, 0, 0)")
            for d in stored { try st.execute(arguments: [Data(d.bytes)]) }
        }
        let sorted = all.sorted()
        let fast = try pg.presentDigests(sorted)
        let indexed = try pg.read { tx in
            Set(try rows(tx, "SELECT digest FROM chunks").map { Digest(bytes: $0["digest"] as Data)! })
        }
        let slow = Set(sorted.filter { indexed.contains($0) })
        #expect(fast == slow)
        #expect(fast == stored)
        #expect(try pg.presentDigests([]).isEmpty)
    }

    @Test func oneGlobalLockHolderAcrossCatalogs() throws {
        let config = try PostgresServer.shared().freshDatabase()
        let a = try PostgresCatalog.open(config)
        let b = PostgresCatalog(config: config)
        let held = try #require(try a.tryGlobalLock(42))
        #expect(try b.tryGlobalLock(42) == nil)
        #expect(try a.tryGlobalLock(42) == nil)  // a session lock is per connection: a second one waits too
        let other = try #require(try b.tryGlobalLock(43))
        held.release()
        let again = try #require(try b.tryGlobalLock(42))
        again.release()
        other.release()
    }

    /// A catalog whose statements may take 1 s (so a connection that never answers costs 3 s).
    func impatientCatalog(maxConnections: Int) throws -> PostgresCatalog {
        var config = try PostgresServer.shared().freshDatabase(maxConnections: maxConnections)
        config.statementTimeout = 1
        config.connectTimeout = 2
        return try PostgresCatalog.open(config)
    }

    /// The server process ids of `pg`'s idle connections, after `count` concurrent reads opened them.
    func backends(_ pg: PostgresCatalog, count: Int) throws -> Set<Int64> {
        let pids = Mutex(Set<Int64>())
        let failures = Mutex([String]())
        DispatchQueue.concurrentPerform(iterations: count) { _ in
            do {
                let pid: Int64 = try pg.read { tx in
                    try rows(tx, "SELECT pg_backend_pid() AS p, pg_sleep(0.2)")[0]["p"]
                }
                pids.withLock { _ = $0.insert(pid) }
            } catch { failures.withLock { $0.append("\(error)") } }
        }
        #expect(failures.withLock { $0 }.isEmpty)
        return pids.withLock { $0 }
    }

    @Test func terminatedIdleConnectionsAreReplaced() throws {
        let pg = try impatientCatalog(maxConnections: 3)
        let before = try backends(pg, count: 3)
        #expect(!before.isEmpty)
        let list = before.map(String.init).joined(separator: ",")
        _ = try PostgresServer.shared().psql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid IN (\(list))")
        // Every pooled connection is dead; reads and writes go on, on fresh connections.
        let pid: Int64 = try pg.read { tx in try rows(tx, "SELECT pg_backend_pid() AS p")[0]["p"] }
        #expect(!before.contains(pid))
        try pg.write { tx in try tx.execute(sql: "CREATE TABLE IF NOT EXISTS after_terminate (x BIGINT)") }
        #expect(try pg.presentDigests([Digest(bytes: [UInt8](repeating: 7, count: 32))!]).isEmpty)
    }

    @Test func aConnectionTerminatedInsideATransactionFailsClearlyThenIsReplaced() throws {
        let pg = try impatientCatalog(maxConnections: 1)
        let server = try PostgresServer.shared()
        do {
            try pg.write { tx in
                let pid: Int64 = try rows(tx, "SELECT pg_backend_pid() AS p")[0]["p"]
                _ = try server.psql("SELECT pg_terminate_backend(\(pid))")
                try tx.execute(sql: "CREATE TABLE never_made (x BIGINT)")
            }
            Issue.record("a transaction on a terminated connection committed")
        } catch {
            #expect("\(error)".contains("unreachable or not answering"), "\(error)")
        }
        let exists: Int64? = try pg.read { tx in
            try Int64.fetchOne(tx, sql: "SELECT COUNT(*) FROM pg_class WHERE relname = 'never_made'")
        }
        #expect(exists == 0)
    }

    /// A PostgreSQL that takes TCP only over TLS (a throwaway CA, a certificate for localhost).
    @Test func tlsToAServerThatRequiresIt() throws {
        let server = try PostgresServer.dedicatedWithTLS()
        defer { server.destroy() }
        let db = try server.createDatabase()
        func open(_ host: String, _ query: String) throws -> PostgresCatalog {
            var c = try PostgresCatalogConfig(url: "postgres://postgres@\(host):\(server.port)/\(db)\(query)")
            c.connectTimeout = 5
            return try PostgresCatalog.open(c)
        }
        func failure(_ host: String, _ query: String) -> String {
            do {
                _ = try open(host, query)
                return "connected"
            } catch { return "\(error)" }
        }
        let ca = server.caCertificate
        for (host, query) in [
            ("localhost", "?sslmode=verify-full&sslrootcert=\(ca)"), ("127.0.0.1", "?sslmode=require"),
            ("127.0.0.1", "?sslmode=verify-ca&sslrootcert=\(ca)"),
        ] {
            let pg = try open(host, query)
            let ssl = try pg.read { tx in
                try Int64.fetchOne(tx, sql: "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            }
            #expect(ssl == 1, "\(host) \(query)")
            pg.close()
        }
        // Without TLS the server's own refusal; a CA that did not sign its certificate, or a host
        // name the certificate does not carry (verify-full): an error naming the settings.
        let plain = failure("127.0.0.1", "")
        #expect(plain.contains("pg_hba.conf") && plain.contains("no encryption"), "\(plain)")
        let stranger = failure("127.0.0.1", "?sslmode=verify-full&sslrootcert=\(server.otherCACertificate)")
        #expect(stranger.contains("TLS to PostgreSQL") && stranger.contains("sslrootcert"), "\(stranger)")
        let wrongName = failure("127.0.0.1", "?sslmode=verify-full&sslrootcert=\(ca)")
        #expect(wrongName.contains("TLS to PostgreSQL") && wrongName.contains("name the host"), "\(wrongName)")
        let noFile = failure("127.0.0.1", "?sslmode=verify-full&sslrootcert=/nonexistent/ca.pem")
        #expect(noFile.contains("/nonexistent/ca.pem"), "\(noFile)")
    }

    @Test func aServerThatStopsAnsweringCostsTheDeadlineNotAHang() throws {
        let server = try PostgresServer.dedicated()
        defer { server.destroy() }
        var config = PostgresCatalogConfig(
            host: "127.0.0.1", port: server.port, user: "postgres", database: try server.createDatabase(),
            maxConnections: 2)
        config.statementTimeout = 1
        config.connectTimeout = 1
        let pg = try PostgresCatalog.open(config)
        try server.pause()
        // On the pooled connection (statement_timeout + 2 s), then on a new one (connect_timeout).
        for _ in 0..<2 {
            do {
                _ = try pg.read { tx in try Int64.fetchOne(tx, sql: "SELECT 1") }
                Issue.record("a frozen server answered")
            } catch {
                #expect("\(error)".contains("did not answer") || "\(error)".contains("cannot connect"), "\(error)")
            }
        }
        try server.resume()
        #expect(try pg.read { tx in try Int64.fetchOne(tx, sql: "SELECT 1") } == 1)
    }

    @Test func anUnreachableServerIsARetryableCatalogError() throws {
        let server = try PostgresServer.shared()
        // A port nobody listens on (the fixture's port + 1 is free or another server: use a closed one).
        let config = PostgresCatalogConfig(host: "127.0.0.1", port: 1, user: "postgres", database: "x")
        do {
            _ = try PostgresCatalog.open(config)
            Issue.record("opened a catalog on a closed port")
        } catch {
            #expect("\(error)".contains("unreachable"))
            #expect("\(error)".contains("127.0.0.1:1"))
        }
        // A database that does not exist: the server's message.
        let missing = PostgresCatalogConfig(host: "127.0.0.1", port: server.port, user: "postgres", database: "nosuchdb")
        do {
            _ = try PostgresCatalog.open(missing)
            Issue.record("opened a missing database")
        } catch {
            #expect("\(error)".contains("nosuchdb"))
        }
    }

    @Test func configFromURL() throws {
        let c = try PostgresCatalogConfig(url: "postgres://trove@db.example:6543/store", password: "pw")
        #expect(c == PostgresCatalogConfig(host: "db.example", port: 6543, user: "trove", password: "pw", database: "store"))
        #expect(c.displayURL == "postgres://trove@db.example:6543/store")
        let d = try PostgresCatalogConfig(url: "postgresql://u:secret@h/db")
        #expect(d.password == "secret" && d.port == 5432)
        for bad in ["mysql://u@h/db", "postgres://h/db", "postgres://u@h", "postgres://u@h/", "postgres://u:secret@/db"] {
            do {
                _ = try PostgresCatalogConfig(url: bad)
                Issue.record("accepted \(bad)")
            } catch {
                #expect(!error.description.contains("secret"))
            }
        }
    }

    @Test func tlsModesFromURL() throws {
        let base = "postgres://u@h/db"
        #expect(try PostgresCatalogConfig(url: base).tls == .disable)
        #expect(try PostgresCatalogConfig(url: base + "?sslmode=require").tls == .require)
        #expect(try PostgresCatalogConfig(url: base + "?sslmode=require&sslrootcert=/ca.pem").tls == .verifyCA(caFile: "/ca.pem"))
        #expect(try PostgresCatalogConfig(url: base + "?sslmode=verify-ca").tls == .verifyCA(caFile: nil))
        #expect(
            try PostgresCatalogConfig(url: base + "?sslmode=verify-full&sslrootcert=/ca.pem").tls
                == .verifyFull(caFile: "/ca.pem"))
        for (query, words) in [
            ("?sslmode=prefer", "sslmode=prefer is not supported"), ("?sslrootcert=/ca.pem", "sslrootcert needs"),
            ("?connect_timeout=3", "unknown parameter connect_timeout"),
        ] {
            #expect(throws: PostgresConfigError.self) { try PostgresCatalogConfig(url: base + query) }
            do { _ = try PostgresCatalogConfig(url: base + query) } catch { #expect(error.description.contains(words)) }
        }
    }
}

@Suite("PostgreSQL SQL rewriting")
struct PostgresSQLTests {
    @Test func placeholdersOutsideQuotedTextAreNumbered() {
        let sql = """
            SELECT '?', "a?b", x FROM t -- why?
            WHERE a = ? AND b = 'it''s ?' /* ? */ AND c IN (?, ?)
            """
        let (out, n) = PostgresSQL.numberPlaceholders(sql)
        #expect(n == 3)
        #expect(
            out == """
                SELECT '?', "a?b", x FROM t -- why?
                WHERE a = $1 AND b = 'it''s ?' /* ? */ AND c IN ($2, $3)
                """)
        #expect(PostgresSQL.numberPlaceholders("SELECT 1").count == 0)
    }

    @Test func scriptsSplitAtSemicolonsOutsideQuotedText() {
        let script = """
            CREATE TABLE a (x TEXT DEFAULT ';'); -- one; still a comment
            INSERT INTO a VALUES ('b;c');
            /* ; */ SELECT 1;
            -- trailing comment
            """
        #expect(
            PostgresSQL.statements(script) == [
                "CREATE TABLE a (x TEXT DEFAULT ';')",
                "-- one; still a comment\nINSERT INTO a VALUES ('b;c')",
                "/* ; */ SELECT 1",
            ])
    }
}

@Suite("PostgreSQL catalog: the engine contract")
struct PostgresEngineContractTests {
    @Test("the engine contract the SQLite catalog meets")
    func contract() throws {
        let catalog = try PostgresCatalog.open(try PostgresServer.shared().freshDatabase())
        try checkCatalogEngine(catalog)
    }
}
