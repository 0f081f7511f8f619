import Foundation
import Testing
import TrovePostgres
import TroveTestServers

extension PostgresServer {
    /// A new database on the shared server (a copy of `template`) as a catalog config with a
    /// small pool.
    func freshDatabase(template: String = "template1", maxConnections: Int = 4) throws -> PostgresCatalogConfig {
        PostgresCatalogConfig(
            host: "127.0.0.1", port: port, user: "postgres", database: try createDatabase(template: template),
            maxConnections: maxConnections)
    }
}

/// The fixture the PostgreSQL catalog will run the Store suite on: it starts, and it is a real
/// PostgreSQL 15 with the features the catalog design relies on.
@Suite("PostgreSQL fixture")
struct PostgresFixtureTests {
    @Test func startsAndAnswersWithWhatTheCatalogNeeds() throws {
        let pg = try PostgresServer.shared()
        #expect(try pg.psql("SHOW server_version").hasPrefix("15."))
        // ON CONFLICT, RETURNING, bytea keys and advisory locks (docs/SCALING.md).
        let out = try pg.psql(
            """
            CREATE TEMP TABLE chunks (digest bytea PRIMARY KEY, pack bigint NOT NULL);
            INSERT INTO chunks VALUES ('\\x00ff', 1) ON CONFLICT DO NOTHING;
            INSERT INTO chunks VALUES ('\\x00ff', 2) ON CONFLICT DO NOTHING;
            SELECT pack FROM chunks WHERE digest = '\\x00ff';
            """)
        #expect(out == "1")
        #expect(try pg.psql("SELECT pg_try_advisory_lock(16)") == "t")
    }
}
