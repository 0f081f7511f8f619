// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Typed metadata queries: QUERY_VERSIONS (PROTOCOL.md §11).
import NIOCore
import TroveCore

extension Message {
    /// Lists versions under a prefix whose metadata meets every condition, optionally sorted by a
    /// metadata key; evaluated in SQL on the server.
    ///
    /// Frame type `QUERY_VERSIONS`; see PROTOCOL.md.
    public struct QueryVersions: WireRequest {
        public static let type = MessageType.queryVersions
        public typealias Reply = VersionList
        public static let access = Access.read(.filtered)

        /// Name prefix, component-wise (empty: all names).
        public var prefix: String
        /// All must hold.
        public var conditions: [MetadataCondition]
        /// Sort by this metadata key first (versions without it last); absent: newest first.
        public var sort: VersionSort?
        /// Include retired versions.
        public var includeRetired: Bool
        /// At most this many (0: no limit).
        public var limit: UInt32

        public init(
            prefix: String, conditions: [MetadataCondition], sort: VersionSort?, includeRetired: Bool,
            limit: UInt32
        ) {
            self.prefix = prefix
            self.conditions = conditions
            self.sort = sort
            self.includeRetired = includeRetired
            self.limit = limit
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(prefix)
            buffer.writeWireCount(conditions.count)
            for e in conditions { e.encode(into: &buffer) }
            buffer.writeWireOptional(sort) { buffer, v in v.encode(into: &buffer) }
            buffer.writeWireBool(includeRetired)
            buffer.writeWireU32(limit)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            prefix = try r.string("QueryVersions.prefix", max: ProtocolLimits.maxNameLength)
            conditions = try r.list(
                "QueryVersions.conditions", max: ProtocolLimits.maxFilters, minElementSize: 7
            ) { r throws(ProtocolError) in try MetadataCondition(from: &r) }
            sort = try r.optional("QueryVersions.sort") { r throws(ProtocolError) in try VersionSort(from: &r) }
            includeRetired = try r.bool("QueryVersions.includeRetired")
            limit = try r.u32("QueryVersions.limit")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func queryVersions(_ m: QueryVersions) -> Message { Message(m) }
}

/// A `--where` condition: `key`, operator `u8` (0 `=`, 1 `!=`, 2 `<`, 3 `<=`, 4 `>`, 5 `>=`), typed value.
extension MetadataCondition: WireCodable {
    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(key)
        buffer.writeWireU8(op.rawValue)
        value.encode(into: &buffer)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        let key = try r.string("MetadataCondition.key", max: ProtocolLimits.maxMetadataKeyLength)
        let code = try r.u8("MetadataCondition.op")
        guard let op = Op(rawValue: code) else {
            throw .invalidValue(field: "MetadataCondition.op", detail: "unknown operator \(code) (0…5)")
        }
        self.init(key: key, op: op, value: try MetadataValue(from: &r))
    }
}

/// Sorting by a metadata key.
public struct VersionSort: WireCodable, Hashable {
    /// The metadata key.
    public var key: String
    /// Largest first.
    public var descending: Bool

    public init(key: String, descending: Bool) {
        self.key = key
        self.descending = descending
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(key)
        buffer.writeWireBool(descending)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        key = try r.string("VersionSort.key", max: ProtocolLimits.maxMetadataKeyLength)
        descending = try r.bool("VersionSort.descending")
    }
}
