import GRDB

extension SQLiteCatalog {
    /// Tables for garbage collection and scrub (migration "v2-gc-scrub").
    ///
    /// - `gc_state`: one row. `active` is 1 while a GC may delete (commits and new versions then
    ///   log their tree in `gc_roots`); `epoch` grows with every transaction that deletes
    ///   catalog rows or object files, so a commit can tell whether its checks are still valid.
    /// - `gc_roots`: trees committed or versioned while a GC runs, marked before the next delete.
    /// - `gc_live_*`: the mark (reachable chunks, blobs, trees), kept in SQLite so memory does
    ///   not grow with the store.
    /// - `gc_candidates`: unreachable, untouched rows found by the mark (kind 0 chunk, 1 blob,
    ///   2 tree), re-checked when deleted.
    /// - `gc_doomed_objects`: object files whose rows were deleted, unlinked by a later
    ///   transaction (a commit that needs one again takes it off this list).
    /// - `gc_retired_packs`: packs with no indexed chunk left, removed after a delay;
    ///   `gc_dead_packs`: pack files whose catalog row is gone, to unlink.
    /// - `quarantine`: what scrub took out of service; `scrub_runs` / `scrub_done`: progress.
    static func createMaintenanceTables(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE gc_state (
                    id INTEGER PRIMARY KEY CHECK (id = 1),
                    active INTEGER NOT NULL,
                    epoch INTEGER NOT NULL,
                    started INTEGER,
                    cutoff INTEGER,
                    phase TEXT
                );
                INSERT INTO gc_state (id, active, epoch) VALUES (1, 0, 0);
                CREATE TABLE gc_roots (tree BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE gc_live_chunks (digest BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE gc_live_blobs (digest BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE gc_live_trees (digest BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE gc_candidates (
                    kind INTEGER NOT NULL,
                    digest BLOB NOT NULL,
                    PRIMARY KEY (kind, digest)
                ) WITHOUT ROWID;
                CREATE TABLE gc_doomed_objects (digest BLOB PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE gc_retired_packs (
                    pack INTEGER PRIMARY KEY,
                    name TEXT NOT NULL,
                    retired_at INTEGER NOT NULL
                );
                CREATE TABLE gc_dead_packs (name TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                CREATE TABLE quarantine (
                    id INTEGER PRIMARY KEY,
                    kind TEXT NOT NULL,
                    digest BLOB NOT NULL,
                    pack TEXT,
                    offset INTEGER,
                    reason TEXT NOT NULL,
                    file TEXT,
                    at INTEGER NOT NULL
                );
                CREATE INDEX quarantine_by_digest ON quarantine(digest);
                CREATE TABLE scrub_runs (
                    id INTEGER PRIMARY KEY,
                    mode TEXT NOT NULL,
                    started INTEGER NOT NULL,
                    finished INTEGER
                );
                CREATE TABLE scrub_done (
                    run INTEGER NOT NULL,
                    unit TEXT NOT NULL,
                    PRIMARY KEY (run, unit)
                ) WITHOUT ROWID;
                """)
    }
}
