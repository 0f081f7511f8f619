import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove gc`: garbage-collect the store (admin).
struct GcCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "gc",
        abstract: "Collect garbage (admin): free chunks no live version needs, rewrite sparse packs.",
        discussion: """
            Keeps everything reachable from live versions, everything pushes in progress hold a lease on, \
            and anything touched within the grace period. Safe while pushes continue. Exit 0 when it ran \
            (also for --dry-run), 1 when it could not (e.g. another GC or scrub is running: busy), \
            6 without admin scope. See docs/OPERATIONS.md.
            """)

    @Flag(help: "Report what would be freed; change nothing.")
    var dryRun = false

    @Option(help: "Keep anything touched within this long (e.g. 24h, 30m, 0s; default: the server's, 24h).")
    var grace: String?

    @Flag(help: "Print the JSON report instead of a summary.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let graceSeconds = try grace.map { (g) throws(ClientError) -> UInt64 in try parseDuration(g) }
            let conn = try client.connect()
            defer { conn.close() }
            let (_, text) = try Remote(connection: conn).gc(dryRun: dryRun, graceSeconds: graceSeconds)
            if json {
                print(text)
                return
            }
            let r = (try? JSONSerialization.jsonObject(with: Data(text.utf8))) as? [String: Any] ?? [:]
            func int(_ k: String) -> Int64 { (r[k] as? NSNumber)?.int64Value ?? 0 }
            let total = ((r["durationsMs"] as? [String: Any])?["total"] as? NSNumber)?.int64Value ?? 0
            let verb = dryRun ? "would free" : "freed"
            print(
                "\(dryRun ? "GC dry run" : "GC") finished in \(String(format: "%.1f", Double(total) / 1000)) s "
                    + "(grace \(int("graceSeconds")) s, \(int("liveLeases")) live lease(s))")
            let leases = r["leases"] as? [[String: Any]] ?? []
            print(
                "kept everything touched since \(isoTime(int("cutoff")))\(Self.keptBecause(int("graceSeconds"), leases.count))"
            )
            for l in leases {
                func ms(_ k: String) -> Int64 { (l[k] as? NSNumber)?.int64Value ?? 0 }
                print(
                    "  push lease for \(l["name"] as? String ?? "?"): began \(isoTime(ms("created"))), "
                        + "pins data until \(isoTime(ms("expires"))) unless the push goes on: "
                        + "\(ms("pinnedChunks")) chunks, \(Progress.bytes(UInt64(max(0, ms("pinnedBytes"))))) stored"
                )
            }
            print(
                "\(verb) \(int("chunksFreed")) chunks (\(Progress.bytes(UInt64(max(0, int("chunkBytesFreed"))))) stored), "
                    + "\(int("blobsFreed")) blobs, \(int("treesFreed")) trees")
            print(
                "packs: \(int("packsRewritten")) rewritten, \(int("packsDeleted")) deleted; disk space \(verb) "
                    + "\(Progress.bytes(UInt64(max(0, int("diskBytesFreed")))))")
            print("kept \(int("liveChunks")) reachable chunks")
            if int("packsSkippedForSpace") > 0 {
                note(
                    "warning: \(int("packsSkippedForSpace")) sparse pack(s) not rewritten: too little free space "
                        + "on troved's disk (deleting dead packs first may make room; run gc again)")
            }
            for n in r["notes"] as? [String] ?? [] { note("note: \(n)") }
            if let skipped = r["packsSkippedDamaged"] as? [String], !skipped.isEmpty {
                note(
                    "warning: \(skipped.count) pack(s) had damaged records and were not rewritten; run `trove scrub`"
                )
            }
        }
    }
}

extension GcCommand {
    /// Why the cutoff is where it is: the grace period and/or push leases.
    static func keptBecause(_ graceSeconds: Int64, _ leases: Int) -> String {
        var why: [String] = []
        if graceSeconds > 0 { why.append("the grace period of \(graceSeconds) s (--grace)") }
        if leases > 0 { why.append("\(leases) push lease\(leases == 1 ? "" : "s") in progress, below") }
        return why.isEmpty ? "" : " because of " + why.joined(separator: " and ")
    }
}

/// Parses `90`, `90s`, `30m`, `24h`, `7d` into seconds.
func parseDuration(_ text: String) throws(ClientError) -> UInt64 {
    let units: [Character: UInt64] = ["s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800]
    var digits = Substring(text.trimmingCharacters(in: .whitespaces))
    var unit: UInt64 = 1
    if let last = digits.last, let u = units[last] {
        unit = u
        digits = digits.dropLast()
    }
    guard let n = UInt64(digits), n <= UInt64.max / unit else {
        throw .usage(detail: "'\(text)' is not a duration; use e.g. 0s, 90s, 30m, 24h or 7d")
    }
    return n * unit
}
