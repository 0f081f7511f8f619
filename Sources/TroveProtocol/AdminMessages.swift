// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Administration (admin scope): RETIRE, GC, SCRUB (PROTOCOL.md §11).
import NIOCore
import TroveCore

extension Message {
    /// Retires a version (admin): unlisted, unpullable, its data collectable.
    ///
    /// Frame type `RETIRE`; see PROTOCOL.md.
    public struct Retire: WireRequest {
        public static let type = MessageType.retire
        public typealias Reply = Retired
        public static let access = Access.admin(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Also remove the aliases that point at it (refused with `in-use` otherwise).
        public var force: Bool

        public init(name: String, version: String, force: Bool) {
            self.name = name
            self.version = version
            self.force = force
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireBool(force)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("Retire.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("Retire.version", max: ProtocolLimits.maxTagLength)
            force = try r.bool("Retire.force")
        }
    }

    /// The version is retired.
    ///
    /// Frame type `RETIRED`; see PROTOCOL.md.
    public struct Retired: SingleFrameResponse {
        public static let type = MessageType.retired

        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Aliases removed because of `force`.
        public var detachedAliases: [String]

        public init(name: String, version: String, detachedAliases: [String]) {
            self.name = name
            self.version = version
            self.detachedAliases = detachedAliases
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireCount(detachedAliases.count)
            for e in detachedAliases { buffer.writeWireString(e) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("Retired.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("Retired.version", max: ProtocolLimits.maxTagLength)
            detachedAliases = try r.list(
                "Retired.detachedAliases", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 4
            ) { r throws(ProtocolError) in
                try r.string("Retired.detachedAliases", max: ProtocolLimits.maxTagLength)
            }
        }
    }

    /// Runs garbage collection (admin).
    ///
    /// Frame type `GC`; see PROTOCOL.md.
    public struct GC: WireRequest {
        public static let type = MessageType.gc
        public typealias Reply = GCReport
        public static let access = Access.admin()

        /// Change nothing; report what would be freed.
        public var dryRun: Bool
        /// Grace period; absent: the server's default (24 h).
        public var graceSeconds: UInt64?

        public init(dryRun: Bool, graceSeconds: UInt64? = nil) {
            self.dryRun = dryRun
            self.graceSeconds = graceSeconds
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireBool(dryRun)
            buffer.writeWireOptional(graceSeconds) { buffer, v in buffer.writeWireU64(v) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            dryRun = try r.bool("GC.dryRun")
            graceSeconds = try r.optional("GC.graceSeconds") { r throws(ProtocolError) in
                try r.u64("GC.graceSeconds")
            }
        }
    }

    /// GC finished (possibly several frames: concatenate `json`).
    ///
    /// Frame type `GC_REPORT`; see PROTOCOL.md.
    public struct GCReport: JSONReportResponse {
        public static let type = MessageType.gcReport

        /// 0 clean, 2 incomplete.
        public var status: ReportStatus
        /// A fragment of the JSON report.
        public var json: String

        public init(status: ReportStatus, json: String) {
            self.status = status
            self.json = json
        }
    }

    /// Runs an integrity scrub (admin).
    ///
    /// Frame type `SCRUB`; see PROTOCOL.md.
    public struct Scrub: WireRequest {
        public static let type = MessageType.scrub
        public typealias Reply = ScrubReport
        public static let access = Access.admin()

        /// 0 full, 1 slice n/t, 2 sample.
        public var mode: ScrubMode
        /// Read rate limit (0: unlimited).
        public var rateBytesPerSecond: UInt64
        /// Quarantine damaged chunks and objects.
        public var repair: Bool

        public init(mode: ScrubMode, rateBytesPerSecond: UInt64, repair: Bool) {
            self.mode = mode
            self.rateBytesPerSecond = rateBytesPerSecond
            self.repair = repair
        }

        public func encode(into buffer: inout ByteBuffer) {
            mode.encode(into: &buffer)
            buffer.writeWireU64(rateBytesPerSecond)
            buffer.writeWireBool(repair)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            mode = try ScrubMode(from: &r)
            rateBytesPerSecond = try r.u64("Scrub.rateBytesPerSecond")
            repair = try r.bool("Scrub.repair")
        }
    }

    /// Scrub finished (possibly several frames: concatenate `json`).
    ///
    /// Frame type `SCRUB_REPORT`; see PROTOCOL.md.
    public struct ScrubReport: JSONReportResponse {
        public static let type = MessageType.scrubReport

        /// 0 clean, 1 damage found, 2 incomplete.
        public var status: ReportStatus
        /// A fragment of the JSON report.
        public var json: String

        public init(status: ReportStatus, json: String) {
            self.status = status
            self.json = json
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func retire(_ m: Retire) -> Message { Message(m) }
    public static func retired(_ m: Retired) -> Message { Message(m) }
    public static func gc(_ m: GC) -> Message { Message(m) }
    public static func gcReport(_ m: GCReport) -> Message { Message(m) }
    public static func scrub(_ m: Scrub) -> Message { Message(m) }
    public static func scrubReport(_ m: ScrubReport) -> Message { Message(m) }
}

/// A report streamed as JSON fragments (GC_REPORT, SCRUB_REPORT): each frame carries the status
/// and the next fragment; the client concatenates the fragments and keeps the last status.
public protocol JSONReportResponse: MultiFrameResponse {
    var status: ReportStatus { get set }
    var json: String { get set }
    init(status: ReportStatus, json: String)
}

extension JSONReportResponse {
    public func encode(into buffer: inout ByteBuffer) {
        status.encode(into: &buffer)
        buffer.writeWireString(json)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let status = try ReportStatus(from: &r)
        let json = try r.string("\(Self.self).json", max: ProtocolLimits.absoluteMaxPayload)
        self.init(status: status, json: json)
    }

    public mutating func merge(_ next: Self) {
        json += next.json
        status = next.status
    }
}
