import TroveCore

/// The outcome of the last GC or scrub, as the web view's store page shows it.
public struct MaintenanceRecord: Sendable, Equatable {
    /// `gc` or `scrub`.
    public var kind: String
    /// When it finished (ms since the epoch).
    public var finished: Int64
    /// It completed (a GC that freed what it could; a scrub that found no damage).
    public var ok: Bool
    /// Its JSON report (`GCResult.json()` / `ScrubResult.json()`), or the error it stopped with.
    public var report: String
}

extension Store {
    /// Records the outcome of a GC or scrub (best effort: a full disk must not turn a finished
    /// job into a failed one).
    func recordMaintenance(_ kind: String, ok: Bool, report: String) {
        let now = Clock.nowMillis()
        _ = try? catalog.write { db in
            try db.execute(
                sql: """
                    INSERT INTO maintenance_log (kind, finished, ok, report) VALUES (?, ?, ?, ?)
                    ON CONFLICT (kind) DO UPDATE SET finished = excluded.finished, ok = excluded.ok,
                      report = excluded.report
                    """,
                arguments: [kind, now, ok ? 1 : 0, report])
        }
    }

    /// The last GC and scrub that ran (dry runs excluded), by kind.
    public func lastMaintenance() throws(StoreError) -> [MaintenanceRecord] {
        try catalog.read { db in
            try Row.fetchAll(db, sql: "SELECT * FROM maintenance_log ORDER BY kind").map {
                MaintenanceRecord(
                    kind: $0["kind"], finished: $0["finished"], ok: ($0["ok"] as Int64) != 0, report: $0["report"])
            }
        }
    }
}
