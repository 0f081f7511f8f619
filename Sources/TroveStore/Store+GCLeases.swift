import Foundation
import TroveCore

extension Store {
    /// Fills each lease of `report.leases` with the unreferenced chunk bytes it keeps: chunks no
    /// live version or recent commit needs, last touched or created after the lease began (less
    /// `slack`) but before `cutoff`, the cutoff GC would use without leases. Run after the mark
    /// (it reads `gc_live_chunks`); one pass over the chunk index, only when leases are live.
    func measureLeasePins(_ report: inout GCResult, cutoff: Int64, slack: Int64) throws {
        guard !report.leases.isEmpty else { return }
        let starts = report.leases.map { $0.created - slack }
        guard let earliest = starts.min(), earliest < cutoff else { return }
        // One pass: per lease, a count and a byte sum of the chunks touched since it began.
        let columns = starts.indices.map { i in
            "SUM(CASE WHEN at >= ? THEN 1 ELSE 0 END) AS n\(i), "
                + "SUM(CASE WHEN at >= ? THEN stored_len ELSE 0 END) AS b\(i)"
        }
        var arguments = CatalogArguments(values: starts.flatMap { [CatalogValue.integer($0), .integer($0)] })
        arguments += [earliest, cutoff]
        let latest = "CASE WHEN created > touched THEN created ELSE touched END"
        let row: Row? = try catalog.read { db in
            try Row.fetchOne(
                db,
                sql: "SELECT " + columns.joined(separator: ", ") + """
                     FROM (SELECT \(latest) AS at, stored_len FROM chunks
                      WHERE \(latest) >= ? AND \(latest) < ?
                        AND NOT EXISTS (SELECT 1 FROM gc_live_chunks l WHERE l.digest = chunks.digest)) AS pinned
                    """, arguments: arguments)
        }
        for i in starts.indices {
            report.leases[i].pinnedChunks = (row?["n\(i)"] as Int?) ?? 0
            report.leases[i].pinnedBytes = (row?["b\(i)"] as Int64?) ?? 0
        }
    }
}
