import Foundation
import Testing
import TroveCore
import TrovePostgres
import TroveStore
import TroveTestServers

/// `CatalogCopy` (the catalog half of `troved migrate`): a SQLite store's catalog copied into a
/// real PostgreSQL 15 serves the same store (the Store opened on it reads every version, alias
/// history and bucket key, and writes on: identity sequences continue), a re-run finds it
/// identical, a target with other rows is refused unless replacing, and a copy that fails half
/// way leaves the target as it was.
@Suite("catalog copy SQLite → PostgreSQL")
struct CatalogCopyTests {
    /// A SQLite store with versions, an alias moved three times, a bucket with a key, a lease and
    /// many chunks (pages of 7 rows: every table spans several).
    func populatedStore(_ root: String) throws -> (big: [UInt8], small: [UInt8]) {
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 16)
        let big = rng.bytes(300_000)
        let small = rng.bytes(900)
        let t1 = try storeFile(store, path: "big.bin", big)
        let t2 = try storeFile(store, path: "small.bin", small)
        _ = try store.createVersion(name: "m/x", version: "1", tree: t1, creator: "alice")
        _ = try store.createVersion(name: "m/x", version: "2", tree: t2, creator: "bob")
        try store.setAlias(name: "m/x", alias: "prod", version: "1", actor: "alice")
        try store.setAlias(name: "m/x", alias: "prod", version: "2", expect: .version("1"), actor: "bob")
        try store.setAlias(name: "m/x", alias: "prod", version: "1", actor: "carol")
        _ = try store.createBucket("data")
        let body = store.root + "/tmp/body"
        try Data(small).write(to: URL(fileURLWithPath: body))
        let blob = try store.ingestBlob(file: body)
        try store.putBucketObject(
            "data", BucketObject(key: "k/a", blob: blob.digest, size: blob.size, etag: "ea"))
        _ = try store.beginUpload(name: "m/y", ttlSeconds: 3600)
        return (big, small)
    }

    func file(_ store: Store, _ ref: String, _ path: String) throws -> [UInt8] {
        let tree = try store.resolve(Ref(parsing: ref)).tree
        let blob = try #require(try store.readTree(tree).entries.first { $0.path == path }?.blob)
        let recipe = try #require(try store.recipe(forBlob: blob))
        var out: [UInt8] = []
        for c in recipe.chunks { out += try store.readChunk(c.digest) }
        return out
    }

    func onPostgres(_ root: String, _ config: PostgresCatalogConfig) throws -> Store {
        try Store.open(at: root, options: StoreOptions(catalog: PostgresCatalog(config: config)))
    }

    @Test func aSQLiteCatalogMovesToPostgresAndTheStoreServesFromIt() throws {
        let root = tempStorePath("copy")
        defer { cleanup(root) }
        let (big, small) = try populatedStore(root)
        let sqliteHistory = try Store.open(at: root).aliasHistory(name: "m/x", alias: "prod")
        let config = try PostgresServer.shared().freshDatabase()
        let source = try SQLiteCatalog(path: root + "/catalog.sqlite")
        var copy = CatalogCopy(source: source, target: PostgresCatalog(config: config))
        copy.pageSize = 7
        let first = try copy.run()
        #expect(!first.alreadyThere)
        let counts = Dictionary(uniqueKeysWithValues: first.tables.map { ($0.name, $0.checksum.rows) })
        #expect(counts["versions"] == 2 && counts["aliases"] == 1 && counts["alias_history"] == 3)
        #expect(counts["buckets"] == 1 && counts["bucket_objects"] == 1 && counts["leases"] == 1)
        #expect((counts["chunks"] ?? 0) > 50 && counts["gc_state"] == 1 && (counts["reflog"] ?? 0) >= 5)
        #expect(
            Set(counts.keys).isSuperset(of: [
                "packs", "blobs", "trees", "objects", "version_parents", "maintenance_log",
            ]))
        // Again: the same rows are there; nothing is written.
        let again = try copy.run()
        #expect(again.alreadyThere && again.rows == first.rows, "\(again.summary)")

        do {
            let store = try onPostgres(root, config)
            #expect(try file(store, "m/x:1", "big.bin") == big)
            #expect(try file(store, "m/x:prod", "big.bin") == big)
            #expect(try file(store, "m/x:2", "small.bin") == small)
            #expect(try store.aliasHistory(name: "m/x", alias: "prod") == sqliteHistory)
            #expect(try store.bucketObject("data", "k/a")?.size == UInt64(small.count))
            #expect(try store.fsck(deep: true).isClean)
            // It writes on: the history's identity sequence continues after the copied ids.
            try store.setAlias(name: "m/x", alias: "prod", version: "2", actor: "dave")
            #expect(
                try store.aliasHistory(name: "m/x", alias: "prod").map(\.actor) == [
                    "alice", "bob", "carol", "dave",
                ])
            _ = try store.createVersion(
                name: "m/x", version: "3", tree: try store.resolve(Ref(parsing: "m/x:1")).tree, creator: "e")
        }

        // Now the target differs from the source: refused, and left as it was.
        #expect {
            try copy.run()
        } throws: { e in
            "\(e)".contains("not empty") && "\(e)".contains("--replace-catalog")
        }
        do {
            let store = try onPostgres(root, config)
            #expect(try store.version(name: "m/x", version: "3") != nil)
        }
        // Replacing: the target holds the source's rows again.
        copy.replace = true
        #expect(!(try copy.run().alreadyThere))
        copy.replace = false
        #expect(try copy.run().alreadyThere)
        let store = try onPostgres(root, config)
        #expect(try store.version(name: "m/x", version: "3") == nil)
        #expect(try store.aliasHistory(name: "m/x", alias: "prod") == sqliteHistory)
    }

    @Test func aCopyThatFailsHalfWayLeavesTheTargetEmptyAndARerunCompletes() throws {
        let root = tempStorePath("copyfail")
        defer { cleanup(root) }
        _ = try populatedStore(root)
        // A damaged source (on a copy of the catalog): a version's time is text, which
        // PostgreSQL's BIGINT refuses. `versions` comes late: earlier tables were copied by then.
        let damaged = root + "/damaged.sqlite"
        for suffix in ["", "-wal"]
        where FileManager.default.fileExists(atPath: root + "/catalog.sqlite" + suffix) {
            try FileManager.default.copyItem(
                atPath: root + "/catalog.sqlite" + suffix, toPath: damaged + suffix)
        }
        let bad = try SQLiteCatalog(path: damaged)
        try bad.write { db in try db.execute(sql: "UPDATE versions SET created = 'noon' WHERE version = '2'")
        }
        let config = try PostgresServer.shared().freshDatabase()
        let target = PostgresCatalog(config: config)
        var copy = CatalogCopy(source: bad, target: target)
        copy.pageSize = 7
        #expect {
            try copy.run()
        } throws: { e in
            "\(e)".contains("nothing was written")
        }
        let left = try target.read { db in
            try Int.fetchOne(
                db,
                sql:
                    "SELECT (SELECT COUNT(*) FROM chunks) + (SELECT COUNT(*) FROM aliases) + (SELECT COUNT(*) FROM packs)"
            )
        }
        #expect(left == 0)
        try bad.write { db in try db.execute(sql: "UPDATE versions SET created = 1 WHERE version = '2'") }
        let done = try copy.run()
        #expect(!done.alreadyThere && done.tables.first { $0.name == "versions" }?.checksum.rows == 2)
    }

    @Test func aTargetWithAnotherSchemaIsRefusedWithTheDifference() throws {
        let root = tempStorePath("copyschema")
        defer { cleanup(root) }
        _ = try Store.create(at: root)
        let config = try PostgresServer.shared().freshDatabase()
        let target = try PostgresCatalog.open(config)
        try target.write { db in try db.execute(sql: "ALTER TABLE leases DROP COLUMN expires") }
        let copy = CatalogCopy(source: try SQLiteCatalog(path: root + "/catalog.sqlite"), target: target)
        #expect {
            try copy.run()
        } throws: { e in
            "\(e)".contains("schemas differ") && "\(e)".contains("table leases")
        }
    }
}
