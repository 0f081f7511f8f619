import TroveCore
import TroveProtocol

/// Administration requests (admin scope): RETIRE, GC, SCRUB (PROTOCOL.md §11).
extension Remote {
    /// Retires `name:version`; with `force`, also removes the aliases pointing at it.
    public func retire(name: String, version: String, force: Bool) throws(ClientError) -> Message.Retired {
        try expect(connection.call(.retire(.init(name: name, version: version, force: force))), "RETIRE") {
            if case .retired(let r) = $0 { return r } else { return nil }
        }
    }

    /// Runs a GC on the server (blocks until it finishes); the status and the JSON report.
    public func gc(dryRun: Bool, graceSeconds: UInt64?) throws(ClientError) -> (ReportStatus, String) {
        let frames = try connection.call(.gc(.init(dryRun: dryRun, graceSeconds: graceSeconds)))
        var json = ""
        var status = ReportStatus.clean
        for f in frames {
            guard case .gcReport(let r) = f else {
                throw .protocolViolation(detail: "GC answered with \(f.type)")
            }
            json += r.json
            status = r.status
        }
        return (status, json)
    }

    /// Runs a scrub on the server (blocks until it finishes); the status and the JSON report.
    public func scrub(mode: ScrubMode, rateBytesPerSecond: UInt64, repair: Bool) throws(ClientError)
        -> (ReportStatus, String)
    {
        let frames = try connection.call(
            .scrub(.init(mode: mode, rateBytesPerSecond: rateBytesPerSecond, repair: repair)))
        var json = ""
        var status = ReportStatus.clean
        for f in frames {
            guard case .scrubReport(let r) = f else {
                throw .protocolViolation(detail: "SCRUB answered with \(f.type)")
            }
            json += r.json
            status = r.status
        }
        return (status, json)
    }
}
