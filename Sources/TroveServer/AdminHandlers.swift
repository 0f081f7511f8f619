import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Administration (PROTOCOL.md §11): RETIRE; GC and SCRUB run to completion on the worker
/// thread, then answer with the JSON report split across frames (`MORE`) and a status.
extension RequestRouter {
    /// JSON text per frame (well under the frame cap).
    static let reportChunk = 512 << 10

    func retire(_ m: Message.Retire, _ caller: Caller) throws(ServerError) -> Message.Retired {
        try validTag(m.version, "version")
        let detached = try aliasMap(m.name)[m.version] ?? []
        try s { () throws(StoreError) in
            try store.retireVersion(name: m.name, version: m.version, actor: caller.actor, force: m.force)
        }
        logger.notice(
            "version retired", metadata: ["ref": "\(m.name):\(m.version)", "by": "\(caller.actor)"])
        return .init(name: m.name, version: m.version, detachedAliases: m.force ? detached : [])
    }

    func gc(_ m: Message.GC, _ caller: Caller) throws(ServerError) -> Response {
        let grace = Int64(clamping: m.graceSeconds ?? 86_400)
        // Old packs are deleted after a short delay so in-flight reads finish; with --grace 0
        // the operator asked for space back now, so the delay is the grace (0).
        let options = GCOptions(
            dryRun: m.dryRun, graceSeconds: grace, packRemovalDelay: Double(min(grace, 30)))
        logger.notice(
            "gc started", metadata: ["dryRun": "\(m.dryRun)", "grace": "\(grace)s", "by": "\(caller.actor)"])
        let report: GCResult
        let started = ContinuousClock.now
        do { report = try store.collectGarbage(options) } catch {
            if !m.dryRun, case .busy = error {} else if !m.dryRun {
                ServerMetrics.gc(seconds: started.secondsSince, freedBytes: 0, success: false)
            }
            switch error {
            case .busy: throw ServerError(.busy, "\(error)")
            case .store(let e): throw ServerError(e)
            case .unsafe: throw ServerError(.integrity, "\(error)")
            }
        }
        if !m.dryRun {
            ServerMetrics.gc(seconds: started.secondsSince, freedBytes: report.diskBytesFreed, success: true)
        }
        logger.notice(
            "gc finished",
            metadata: [
                "chunksFreed": "\(report.chunksFreed)", "diskBytesFreed": "\(report.diskBytesFreed)",
                "ms": "\(report.durationsMs["total"] ?? 0)",
            ])
        return .stream(
            ListStream(RequestRouter.split(report.json()), budget: listBudget, maxPerFrame: 1, size: { $0.utf8.count }) {
                .gcReport(.init(status: .clean, json: $0.first ?? ""))
            })
    }

    func scrub(_ m: Message.Scrub, _ caller: Caller) throws(ServerError) -> Response {
        let scope: ScrubScope =
            switch m.mode {
            case .full: .full
            case .slice(let i, let n): .slice(index: Int(i), count: Int(n))
            case .sample(let ppm): .sample(partsPerMillion: Int(ppm))
            }
        let options = ScrubOptions(
            scope: scope, rateBytesPerSecond: Int64(clamping: m.rateBytesPerSecond), repair: m.repair)
        logger.notice(
            "scrub started", metadata: ["mode": "\(scope)", "repair": "\(m.repair)", "by": "\(caller.actor)"])
        let status: ReportStatus
        let json: String
        let started = ContinuousClock.now
        do {
            let report = try store.scrub(options)
            status = report.clean ? .clean : .damageFound
            json = report.json()
            ServerMetrics.scrub(seconds: started.secondsSince, findings: report.findings.count, clean: report.clean)
            logger.notice(
                "scrub finished",
                metadata: ["findings": "\(report.findings.count)", "quarantined": "\(report.quarantined)"])
        } catch {
            switch error {
            case .busy: throw ServerError(.busy, "\(error)")
            case .store, .unsafe:
                logger.error("scrub stopped", metadata: ["error": "\(error)"])
                ServerMetrics.scrub(seconds: started.secondsSince, findings: 0, clean: false)
                status = .incomplete
                json =
                    #"{"clean":false,"complete":false,"error":"# + RequestRouter.jsonString("\(error)") + "}"
            }
        }
        return .stream(
            ListStream(RequestRouter.split(json), budget: listBudget, maxPerFrame: 1, size: { $0.utf8.count }) {
                .scrubReport(.init(status: status, json: $0.first ?? ""))
            })
    }

    /// A JSON string literal for `s`.
    static func jsonString(_ s: String) -> String {
        let data = (try? JSONSerialization.data(withJSONObject: [s], options: [])) ?? Data("[\"\"]".utf8)
        let text = String(decoding: data, as: UTF8.self)
        return String(text.dropFirst().dropLast())
    }

    /// Splits text into pieces of at most `reportChunk` UTF-8 bytes, on character boundaries.
    static func split(_ text: String) -> [String] {
        var out: [String] = []
        var current = ""
        var bytes = 0
        for ch in text {
            let n = ch.utf8.count
            if bytes + n > reportChunk {
                out.append(current)
                current = ""
                bytes = 0
            }
            current.append(ch)
            bytes += n
        }
        out.append(current)
        return out
    }
}
