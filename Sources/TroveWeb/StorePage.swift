import Foundation
import TroveCore
import TroveStore

/// `/_ui/store`: the store's health — logical vs stored bytes, dedup and compression ratios,
/// packs, the last GC and scrub, the read-only state, and the buckets the viewer sees.
extension WebUI {
    func storePage(_ r: WebRequest) throws -> Page {
        let s = try store.stats()
        func ratio(_ a: UInt64, _ b: UInt64) -> String { b == 0 ? "1.00" : WebFormat.fixed(Double(a) / Double(b), 2) }
        var context: [String: Any] = [
            "logical": WebFormat.bytes(s.logicalBytes), "logicalExact": String(s.logicalBytes),
            "unique": WebFormat.bytes(s.uniqueRawBytes), "stored": WebFormat.bytes(s.storedChunkBytes),
            "storedExact": String(s.storedChunkBytes), "packBytes": WebFormat.bytes(s.packBytes),
            "dedup": ratio(s.logicalBytes, s.uniqueRawBytes), "compression": ratio(s.uniqueRawBytes, s.storedChunkBytes),
            "overall": ratio(s.logicalBytes, s.storedChunkBytes), "packs": s.packCount, "chunks": s.chunkCount,
            "versions": s.versionCount, "readOnly": store.isReadOnly,
        ]
        var jobs: [[String: Any]] = []
        for m in try store.lastMaintenance() {
            jobs.append([
                "kind": m.kind == "gc" ? "GC" : "Scrub", "finished": WebFormat.time(m.finished), "ok": m.ok,
                "result": Self.summary(m), "report": m.report,
            ])
        }
        for kind in ["GC", "Scrub"] where !jobs.contains(where: { $0["kind"] as? String == kind }) {
            jobs.append(["kind": kind, "finished": "never (since this store was made or upgraded)", "never": true])
        }
        context["jobs"] = jobs.sorted { ($0["kind"] as! String) < ($1["kind"] as! String) }
        let buckets: [[String: Any]] = try store.bucketSummaries().filter { b in
            r.viewer.covers(b.info.name) || r.viewer.prefixes.contains { $0.hasPrefix(b.info.name + "/") }
        }.map {
            [
                "name": $0.info.name, "objects": $0.keys, "size": WebFormat.bytes($0.bytes),
                "writeOnce": $0.info.writeOnce, "created": WebFormat.time($0.info.created),
            ]
        }
        context["buckets"] = buckets
        context["hasBuckets"] = !buckets.isEmpty
        return Page(title: "Store", template: "store", context: context)
    }

    /// One line for a GC or scrub report: what it freed or found.
    static func summary(_ m: MaintenanceRecord) -> String {
        guard let data = m.report.data(using: .utf8),
            let o = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return m.ok ? "finished" : "failed: \(m.report)" }
        func int(_ k: String) -> Int64 { (o[k] as? NSNumber)?.int64Value ?? 0 }
        if m.kind == "gc" {
            let took = ((o["durationsMs"] as? [String: Any])?["total"] as? NSNumber)?.int64Value ?? 0
            return "freed \(int("chunksFreed")) chunks (\(WebFormat.bytes(UInt64(max(0, int("diskBytesFreed"))))) on disk), "
                + "\(int("packsRewritten")) packs rewritten, \(int("packsDeleted")) deleted; took \(took) ms"
        }
        let findings = (o["findings"] as? [Any])?.count ?? 0
        return (findings == 0 ? "clean" : "\(findings) finding(s), \(int("quarantined")) quarantined") + ": checked "
            + "\(int("packsChecked")) packs, \(int("chunksChecked")) chunks, \(int("objectsChecked")) objects, "
            + "\(int("versionsChecked")) versions (\(o["mode"] as? String ?? "full"))"
    }
}
