import Foundation
import Synchronization
import TroveStore
import TrovePostgres
import TroveTestServers

/// The catalog the Store suite runs on: SQLite in the store's root (the default), or PostgreSQL
/// when `TROVE_TEST_CATALOG=postgres` (scripts/test runs the suite both ways): each store root
/// then gets a database of its own on the shared fixture server, created on first use from a
/// migrated template, and every open of that root (a restart) connects to it anew.
enum TestCatalog {
    static let onPostgres = ProcessInfo.processInfo.environment["TROVE_TEST_CATALOG"] == "postgres"

    /// Database by store root; guarded by this Mutex.
    private static let databases = Mutex<[String: PostgresCatalogConfig]>([:])

    /// A migrated database used as the template of every test database (made once).
    private static let template: Result<String, PostgresError> = Result { () throws(PostgresError) in
        do {
            let server = try PostgresServer.shared()
            let config = try server.freshDatabase()
            let catalog = try PostgresCatalog.open(config)
            catalog.close()
            return config.database
        } catch let e as PostgresError { throw e } catch { throw PostgresError("cannot make the template database: \(error)") }
    }

    /// `options` with the PostgreSQL catalog of `root` when the suite runs on PostgreSQL (and the
    /// test did not choose a catalog itself).
    static func options(_ options: StoreOptions, root: String) throws(StoreError) -> StoreOptions {
        guard onPostgres, options.catalog == nil else { return options }
        let key = (root as NSString).standardizingPath
        do {
            let config = try databases.withLock { dbs throws -> PostgresCatalogConfig in
                if let c = dbs[key] { return c }
                let server = try PostgresServer.shared()
                let c = try server.freshDatabase(template: try template.get())
                dbs[key] = c
                return c
            }
            var o = options
            o.catalog = PostgresCatalog(config: config)
            return o
        } catch {
            throw .catalog("the Store suite runs on PostgreSQL (TROVE_TEST_CATALOG=postgres) but: \(error)")
        }
    }
}

/// `Store.create` on the suite's catalog (see `TestCatalog`).
func createStore(
    at root: String, config: StoreConfig = StoreConfig(), options: StoreOptions = StoreOptions()
) throws(StoreError) -> Store {
    try Store.create(at: root, config: config, options: TestCatalog.options(options, root: root))
}

/// `Store.open` on the suite's catalog (see `TestCatalog`).
func openStore(at root: String, options: StoreOptions = StoreOptions()) throws(StoreError) -> Store {
    try Store.open(at: root, options: TestCatalog.options(options, root: root))
}
