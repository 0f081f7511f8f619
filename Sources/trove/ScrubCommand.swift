import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove scrub`: verify the store's integrity (admin).
struct ScrubCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "scrub",
        abstract: "Verify the store (admin): re-read and re-hash chunks, check packs, objects and versions.",
        discussion: """
            Damaged chunks and objects are quarantined: never served again, reported missing to pushes, so \
            a re-push of the same content heals them. --repair also drops index entries and commits whose \
            data is missing (deleted or truncated packs, missing objects). Progress is remembered: an \
            interrupted run resumes, and --slice N/T runs cover the whole store over T runs. \
            Exit 0 clean, 5 damage found, 1 could not run. See docs/OPERATIONS.md.
            """)

    @Option(help: "Check a random PERCENT of the chunks and objects (e.g. 1, 0.5).")
    var sample: Double?

    @Option(help: "Check slice N of T (1-based; T runs with N = 1…T cover everything).")
    var slice: String?

    @Option(help: "Read at most this many MB/s (default: unlimited).")
    var rate: Double?

    @Flag(help: "Also drop index entries and commits whose data is missing.")
    var repair = false

    @Flag(help: "Print the JSON report instead of a summary.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func mode() throws(ClientError) -> ScrubMode {
        if sample != nil && slice != nil { throw .usage(detail: "use --sample or --slice, not both") }
        if let sample {
            guard sample > 0, sample <= 100 else { throw .usage(detail: "--sample must be within (0, 100]") }
            return .sample(partsPerMillion: UInt32(max(1, min(1_000_000, (sample * 10_000).rounded()))))
        }
        if let slice {
            let parts = slice.split(separator: "/")
            guard parts.count == 2, let n = UInt32(parts[0]), let t = UInt32(parts[1]), n >= 1, n <= t else {
                throw .usage(detail: "--slice takes N/T with 1 ≤ N ≤ T, e.g. 3/7")
            }
            return .slice(index: n, count: t)
        }
        return .full
    }

    func run() throws {
        var exit: Int32 = 0
        try runClient { () throws(ClientError) in
            let mode = try mode()
            if let rate, !(rate > 0) { throw .usage(detail: "--rate must be a positive number of MB/s") }
            let bytesPerSecond = rate.map { UInt64($0 * 1_000_000) } ?? 0
            let conn = try client.connect()
            defer { conn.close() }
            let (status, text) = try Remote(connection: conn).scrub(
                mode: mode, rateBytesPerSecond: bytesPerSecond, repair: repair)
            exit = status == .clean ? 0 : status == .damageFound ? 5 : 1
            if json {
                print(text)
                return
            }
            printSummary(text, status: status)
        }
        if exit != 0 { throw ExitCode(exit) }
    }

    func printSummary(_ text: String, status: ReportStatus) {
        let r = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
        func int(_ k: String) -> Int64 { (r[k] as? NSNumber)?.int64Value ?? 0 }
        if status == .incomplete {
            note("trove: error: scrub could not finish: \(r["error"] as? String ?? text); rerun it to resume")
            return
        }
        print(
            "scrub (\(r["mode"] as? String ?? "?")\(int("unitsSkipped") > 0 ? ", resumed" : "")) checked "
                + "\(int("packsChecked")) packs, \(int("chunksChecked")) chunks "
                + "(\(Progress.bytes(UInt64(max(0, int("bytesRead")))))), \(int("objectsChecked")) objects, "
                + "\(int("versionsChecked")) versions in \(String(format: "%.1f", Double(int("durationMs")) / 1000)) s"
        )
        let findings = r["findings"] as? [[String: Any]] ?? []
        if findings.isEmpty {
            print("clean: no damage found")
            return
        }
        print("DAMAGE: \(findings.count) finding(s), \(int("quarantined")) quarantined")
        for f in findings.prefix(200) {
            var line = "  \(f["kind"] as? String ?? "?") \(f["subject"] as? String ?? "")"
            if let p = f["pack"] as? String { line += " in pack \(p)" }
            if let o = f["offset"] as? NSNumber { line += " at \(o)" }
            line += ": \(f["detail"] as? String ?? "") [\(f["action"] as? String ?? "")]"
            print(line)
        }
        if findings.count > 200 { print("  … \(findings.count - 200) more (use --json)") }
        let affected = r["affectedVersions"] as? [[String: Any]] ?? []
        if !affected.isEmpty {
            print("affected versions:")
            for v in affected {
                let paths = (v["paths"] as? [String] ?? []).joined(separator: ", ")
                print("  \(v["name"] as? String ?? ""):\(v["version"] as? String ?? "")  \(paths)")
            }
            print("re-push these versions from their source to heal them (same NAME:VERSION and content)")
        }
        let keys = r["affectedBucketKeys"] as? [[String: Any]] ?? []
        if !keys.isEmpty {
            print("affected bucket keys:")
            for k in keys.prefix(200) { print("  s3://\(k["bucket"] as? String ?? "")/\(k["key"] as? String ?? "")") }
            if keys.count > 200 { print("  … \(keys.count - 200) more (use --json)") }
            print("upload these keys again from their source to heal them (the same bytes)")
        }
    }
}
