import Foundation
import GRDB
import TroveCore

/// The SQLite catalog (GRDB `DatabasePool`, WAL, `synchronous = FULL`): chunk index, packs,
/// blobs → recipes, trees, versions, aliases, ref log, leases.
///
/// `synchronous = FULL` makes every committed write transaction durable (the WAL is fsynced at
/// commit); with `NORMAL` a commit acknowledged before a power loss could roll back.
final class Catalog: Sendable {
    let pool: DatabasePool
    let path: String

    init(path: String, mmapBytes: Int = 1 << 30) throws(StoreError) {
        self.path = path
        var config = Configuration()
        config.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = FULL")
            // Index lookups read through a memory map (page cache, not heap) and a 16 MiB cache.
            try db.execute(sql: "PRAGMA mmap_size = \(mmapBytes)")
            try db.execute(sql: "PRAGMA cache_size = -16384")
        }
        config.busyMode = .timeout(30)
        do {
            pool = try DatabasePool(path: path, configuration: config)
            try Catalog.migrator.migrate(pool)
        } catch let e as DatabaseError where e.resultCode == .SQLITE_FULL {
            throw .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        } catch {
            throw .catalog("cannot open \(path): \(error)")
        }
    }

    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(
                sql: """
                    CREATE TABLE packs (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL UNIQUE,
                        state INTEGER NOT NULL,          -- 0 open (appending), 1 sealed
                        size INTEGER NOT NULL,           -- bytes up to the end of the last sealed segment
                        chunks INTEGER NOT NULL DEFAULT 0,
                        raw_bytes INTEGER NOT NULL DEFAULT 0,
                        stored_bytes INTEGER NOT NULL DEFAULT 0,
                        created INTEGER NOT NULL
                    );
                    CREATE TABLE chunks (
                        digest BLOB PRIMARY KEY NOT NULL,
                        pack INTEGER NOT NULL,
                        offset INTEGER NOT NULL,
                        stored_len INTEGER NOT NULL,
                        raw_len INTEGER NOT NULL,
                        codec INTEGER NOT NULL,
                        created INTEGER NOT NULL,
                        touched INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE INDEX chunks_by_pack ON chunks(pack);
                    CREATE TABLE blobs (
                        blob BLOB PRIMARY KEY NOT NULL,
                        recipe BLOB NOT NULL,
                        size INTEGER NOT NULL,
                        created INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE trees (
                        digest BLOB PRIMARY KEY NOT NULL,
                        size INTEGER NOT NULL,
                        files INTEGER NOT NULL,
                        created INTEGER NOT NULL
                    ) WITHOUT ROWID;
                    CREATE TABLE versions (
                        name TEXT NOT NULL,
                        version TEXT NOT NULL,
                        tree BLOB NOT NULL,
                        created INTEGER NOT NULL,
                        creator TEXT NOT NULL,
                        message TEXT NOT NULL,
                        metadata TEXT NOT NULL,
                        retired INTEGER,
                        PRIMARY KEY (name, version)
                    ) WITHOUT ROWID;
                    CREATE TABLE version_parents (
                        name TEXT NOT NULL,
                        version TEXT NOT NULL,
                        position INTEGER NOT NULL,
                        parent_name TEXT NOT NULL,
                        parent_version TEXT NOT NULL,
                        PRIMARY KEY (name, version, position)
                    ) WITHOUT ROWID;
                    CREATE INDEX version_parents_by_parent ON version_parents(parent_name, parent_version);
                    CREATE TABLE aliases (
                        name TEXT NOT NULL,
                        alias TEXT NOT NULL,
                        version TEXT NOT NULL,
                        updated INTEGER NOT NULL,
                        updated_by TEXT NOT NULL,
                        PRIMARY KEY (name, alias)
                    ) WITHOUT ROWID;
                    CREATE TABLE alias_history (
                        id INTEGER PRIMARY KEY,
                        name TEXT NOT NULL,
                        alias TEXT NOT NULL,
                        from_version TEXT,
                        to_version TEXT,
                        actor TEXT NOT NULL,
                        at INTEGER NOT NULL
                    );
                    CREATE INDEX alias_history_by_alias ON alias_history(name, alias);
                    CREATE TABLE reflog (
                        seq INTEGER PRIMARY KEY,
                        at INTEGER NOT NULL,
                        actor TEXT NOT NULL,
                        op TEXT NOT NULL,
                        name TEXT NOT NULL,
                        tag TEXT NOT NULL,
                        from_value TEXT,
                        to_value TEXT,
                        detail TEXT NOT NULL,
                        prev_hash BLOB NOT NULL,
                        hash BLOB NOT NULL
                    );
                    CREATE INDEX reflog_by_name ON reflog(name);
                    CREATE TABLE leases (
                        id TEXT PRIMARY KEY NOT NULL,
                        name TEXT NOT NULL,
                        created INTEGER NOT NULL,
                        expires INTEGER NOT NULL
                    );
                    """)
        }
        // GC and scrub state (issue 5; see Store+GC.swift, Store+Scrub.swift, docs/STORE.md).
        m.registerMigration("v2-gc-scrub") { db in try Catalog.createMaintenanceTables(db) }
        // Listing and log in pages, newest first (Store+VersionQuery.swift).
        m.registerMigration("v3-version-order") { db in try Catalog.createVersionOrderIndexes(db) }
        // Buckets (the S3 API; see BucketSchema.swift).
        m.registerMigration("v4-buckets") { db in try Catalog.createBucketTables(db) }
        // The last GC and scrub, for the web view's store page (Store+MaintenanceLog.swift).
        m.registerMigration("v5-maintenance-log") { db in try Catalog.createMaintenanceLogTable(db) }
        // Small recipes as rows instead of files (Store+InlineObjects.swift).
        m.registerMigration("v6-inline-objects") { db in try Catalog.createInlineObjectTable(db) }
        return m
    }

    func read<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.read(body) } catch let e as StoreError { throw e } catch {
            throw failure(error)
        }
    }

    func write<T>(_ body: (Database) throws -> T) throws(StoreError) -> T {
        do { return try pool.write(body) } catch let e as StoreError { throw e } catch {
            throw failure(error)
        }
    }

    /// A SQLite failure as a store error: "database or disk is full" is `.noSpace` (the
    /// transaction rolled back; the store stays writable), anything else `.catalog`.
    func failure(_ error: any Error) -> StoreError {
        if let e = error as? DatabaseError, e.resultCode == .SQLITE_FULL {
            return .noSpace(path: path, free: FileIO.freeBytes(at: path), needed: 0)
        }
        return .catalog("\(error)")
    }
}

extension Digest {
    /// The 32 raw bytes as `Data` (the catalog's BLOB form).
    var data: Data {
        var d = Data(count: 32)
        d.withUnsafeMutableBytes { write(to: $0.baseAddress!) }
        return d
    }

    /// A digest from a catalog BLOB; `nil` if it is not 32 bytes.
    init?(data: Data) {
        guard data.count == 32 else { return nil }
        self = data.withUnsafeBytes { Digest(pointer: $0.baseAddress!) }
    }
}
