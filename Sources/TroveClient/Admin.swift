import TroveCore
import TroveProtocol

/// Administration requests (admin scope): RETIRE, GC, SCRUB, LEASE_LIST, LEASE_END (PROTOCOL.md §11).
extension Remote {
    /// Retires `name:version`; with `force`, also removes the aliases pointing at it.
    public func retire(name: String, version: String, force: Bool) throws(ClientError) -> Message.Retired {
        try connection.call(Message.Retire(name: name, version: version, force: force))
    }

    /// Runs a GC on the server (blocks until it finishes); the status and the JSON report.
    public func gc(dryRun: Bool, graceSeconds: UInt64?) throws(ClientError) -> (ReportStatus, String) {
        let report = try connection.call(Message.GC(dryRun: dryRun, graceSeconds: graceSeconds))
        return (report.status, report.json)
    }

    /// Runs a scrub on the server (blocks until it finishes); the status and the JSON report.
    public func scrub(mode: ScrubMode, rateBytesPerSecond: UInt64, repair: Bool) throws(ClientError)
        -> (ReportStatus, String)
    {
        let report = try connection.call(
            Message.Scrub(mode: mode, rateBytesPerSecond: rateBytesPerSecond, repair: repair))
        return (report.status, report.json)
    }

    /// The live push leases, oldest first (and whether the server listed them all).
    public func leases() throws(ClientError) -> Message.Leases {
        try connection.call(Message.LeaseList())
    }

    /// Ends a push lease; false if it was not live.
    public func endLease(_ lease: LeaseID) throws(ClientError) -> Bool {
        try connection.call(Message.LeaseEnd(lease: lease)).existed
    }
}
