// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Push leases (admin scope): LEASE_LIST, LEASE_END (PROTOCOL.md §11).
import NIOCore
import TroveCore

extension Message {
    /// Lists the live push leases (admin).
    ///
    /// Frame type `LEASE_LIST`; see PROTOCOL.md.
    public struct LeaseList: WireRequest {
        public static let type = MessageType.leaseList
        public typealias Reply = Leases
        public static let access = Access.admin()

        public init() {}

        public func encode(into buffer: inout ByteBuffer) {}

        public init(from r: inout WireReader) throws(ProtocolError) {}
    }

    /// The live push leases, oldest first.
    ///
    /// Frame type `LEASES`; see PROTOCOL.md.
    public struct Leases: SingleFrameResponse {
        public static let type = MessageType.leases

        /// The live leases, as many as fit one frame (`truncated` if there are more).
        public var leases: [LeaseRecord]
        /// More leases exist than the frame lists.
        public var truncated: Bool

        public init(leases: [LeaseRecord], truncated: Bool) {
            self.leases = leases
            self.truncated = truncated
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(leases.count)
            for l in leases { l.encode(into: &buffer) }
            buffer.writeWireBool(truncated)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            leases = try r.list(
                "Leases.leases", max: ProtocolLimits.maxListEntriesPerFrame,
                minElementSize: LeaseRecord.minimumSize
            ) { r throws(ProtocolError) in try LeaseRecord(from: &r) }
            truncated = try r.bool("Leases.truncated")
        }
    }

    /// Ends a push lease (admin): what it pinned becomes collectable; a push still using it gets
    /// `lease-expired` and begins again.
    ///
    /// Frame type `LEASE_END`; see PROTOCOL.md.
    public struct LeaseEnd: WireRequest {
        public static let type = MessageType.leaseEnd
        public typealias Reply = LeaseEnded
        public static let access = Access.admin()

        /// The lease.
        public var lease: LeaseID

        public init(lease: LeaseID) { self.lease = lease }

        public func encode(into buffer: inout ByteBuffer) { lease.encode(into: &buffer) }

        public init(from r: inout WireReader) throws(ProtocolError) { lease = try LeaseID(from: &r) }
    }

    /// The lease ended (`existed` false: it was not live).
    ///
    /// Frame type `LEASE_ENDED`; see PROTOCOL.md.
    public struct LeaseEnded: SingleFrameResponse {
        public static let type = MessageType.leaseEnded

        /// Whether a live lease was ended.
        public var existed: Bool

        public init(existed: Bool) { self.existed = existed }

        public func encode(into buffer: inout ByteBuffer) { buffer.writeWireBool(existed) }

        public init(from r: inout WireReader) throws(ProtocolError) {
            existed = try r.bool("LeaseEnded.existed")
        }
    }
}

/// One live push lease: its id, the name being pushed, when it began and when it expires unless
/// used again (ms since the Unix epoch).
public struct LeaseRecord: Sendable, Equatable {
    /// 16 id bytes, a name of at least 2 length bytes, two i64.
    static let minimumSize = 16 + 2 + 8 + 8

    public var lease: LeaseID
    public var name: String
    public var created: Int64
    public var expires: Int64

    public init(lease: LeaseID, name: String, created: Int64, expires: Int64) {
        self.lease = lease
        self.name = name
        self.created = created
        self.expires = expires
    }

    func encode(into buffer: inout ByteBuffer) {
        lease.encode(into: &buffer)
        buffer.writeWireString(name)
        buffer.writeWireI64(created)
        buffer.writeWireI64(expires)
    }

    init(from r: inout WireReader) throws(ProtocolError) {
        lease = try LeaseID(from: &r)
        name = try r.string("LeaseRecord.name", max: ProtocolLimits.maxNameLength)
        created = try r.i64("LeaseRecord.created")
        expires = try r.i64("LeaseRecord.expires")
    }
}

extension Message {
    public static func leaseList(_ m: LeaseList) -> Message { Message(m) }
    public static func leases(_ m: Leases) -> Message { Message(m) }
    public static func leaseEnd(_ m: LeaseEnd) -> Message { Message(m) }
    public static func leaseEnded(_ m: LeaseEnded) -> Message { Message(m) }
}
