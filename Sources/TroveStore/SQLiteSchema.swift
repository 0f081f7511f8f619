import GRDB

/// The SQLite catalog's schema: one GRDB migration per step, never edited once released (stores
/// written by earlier builds open and migrate forward). The PostgreSQL engine keeps its own,
/// equivalent DDL with the same table and column names (module TrovePostgres).
extension SQLiteCatalog {
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
        m.registerMigration("v2-gc-scrub") { db in try SQLiteCatalog.createMaintenanceTables(db) }
        // Listing and log in pages, newest first (Store+VersionQuery.swift).
        m.registerMigration("v3-version-order") { db in try SQLiteCatalog.createVersionOrderIndexes(db) }
        // Buckets (the S3 API; see BucketSchema.swift).
        m.registerMigration("v4-buckets") { db in try SQLiteCatalog.createBucketTables(db) }
        // The last GC and scrub, for the web view's store page (Store+MaintenanceLog.swift).
        m.registerMigration("v5-maintenance-log") { db in try SQLiteCatalog.createMaintenanceLogTable(db) }
        // Small recipes as rows instead of files (Store+InlineObjects.swift).
        m.registerMigration("v6-inline-objects") { db in try SQLiteCatalog.createInlineObjectTable(db) }
        return m
    }
}

extension SQLiteCatalog {
    /// Indexes for `Store.versions`: newest first over all names, and per name (a log).
    static func createVersionOrderIndexes(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE INDEX versions_by_created ON versions(created DESC, name, version);
                CREATE INDEX versions_by_name_created ON versions(name, created DESC, version DESC);
                """)
    }
}

extension SQLiteCatalog {
    /// Migration `v6-inline-objects`: small recipes as rows (see `InlineObjects`).
    static func createInlineObjectTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE objects (
                    digest BLOB PRIMARY KEY NOT NULL,
                    data BLOB NOT NULL,              -- as an object file: "TOBJ" | codec | raw len | bytes
                    created INTEGER NOT NULL
                ) WITHOUT ROWID
                """)
    }
}

extension SQLiteCatalog {
    /// The last run of each maintenance job (migration "v5-maintenance-log", additive).
    static func createMaintenanceLogTable(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE maintenance_log (
                    kind TEXT PRIMARY KEY NOT NULL,
                    finished INTEGER NOT NULL,
                    ok INTEGER NOT NULL,
                    report TEXT NOT NULL
                ) WITHOUT ROWID;
                """)
    }
}
