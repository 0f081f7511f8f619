// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Listing versions and store statistics: LIST_VERSIONS, LOG, STAT (PROTOCOL.md §11).
import NIOCore
import TroveCore

extension Message {
    /// Lists versions whose name is under a prefix and whose metadata matches every filter.
    ///
    /// Frame type `LIST_VERSIONS`; see PROTOCOL.md.
    public struct ListVersions: WireRequest {
        public static let type = MessageType.listVersions
        public typealias Reply = VersionList
        public static let access = Access.read(.filtered)

        /// Name prefix, component-wise (empty: all names).
        public var prefix: String
        /// All must match.
        public var filters: [MetadataFilter]
        /// Include retired versions.
        public var includeRetired: Bool
        /// At most this many (0: no limit).
        public var limit: UInt32

        public init(prefix: String, filters: [MetadataFilter], includeRetired: Bool, limit: UInt32) {
            self.prefix = prefix
            self.filters = filters
            self.includeRetired = includeRetired
            self.limit = limit
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(prefix)
            buffer.writeWireCount(filters.count)
            for e in filters { e.encode(into: &buffer) }
            buffer.writeWireBool(includeRetired)
            buffer.writeWireU32(limit)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            prefix = try r.string("ListVersions.prefix", max: ProtocolLimits.maxNameLength)
            filters = try r.list("ListVersions.filters", max: ProtocolLimits.maxFilters, minElementSize: 8) {
                r throws(ProtocolError) in try MetadataFilter(from: &r)
            }
            includeRetired = try r.bool("ListVersions.includeRetired")
            limit = try r.u32("ListVersions.limit")
        }
    }

    /// The versions of one name, newest first.
    ///
    /// Frame type `LOG`; see PROTOCOL.md.
    public struct Log: WireRequest {
        public static let type = MessageType.log
        public typealias Reply = VersionList
        public static let access = Access.read(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String
        /// Include retired versions.
        public var includeRetired: Bool
        /// At most this many (0: no limit).
        public var limit: UInt32

        public init(name: String, includeRetired: Bool, limit: UInt32) {
            self.name = name
            self.includeRetired = includeRetired
            self.limit = limit
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireBool(includeRetired)
            buffer.writeWireU32(limit)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("Log.name", max: ProtocolLimits.maxNameLength)
            includeRetired = try r.bool("Log.includeRetired")
            limit = try r.u32("Log.limit")
        }
    }

    /// Answer to LIST_VERSIONS and LOG (possibly several frames, `more` flag).
    ///
    /// Frame type `VERSION_LIST`; see PROTOCOL.md.
    public struct VersionList: MultiFrameResponse {
        public static let type = MessageType.versionList

        /// Versions (LIST_VERSIONS: by name then creation; LOG: newest first).
        public var versions: [VersionInfo]

        public init(versions: [VersionInfo]) {
            self.versions = versions
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(versions.count)
            for e in versions { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            versions = try r.list(
                "VersionList.versions", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 66
            ) { r throws(ProtocolError) in try VersionInfo(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            versions += next.versions
        }
    }

    /// Asks for store statistics.
    ///
    /// Frame type `STAT`; see PROTOCOL.md.
    public struct Stat: WireRequest {
        public static let type = MessageType.stat
        public typealias Reply = Stats
        public static let access = Access.read()

        public init() {}

        public func encode(into buffer: inout ByteBuffer) {
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
        }
    }

    /// Store statistics.
    ///
    /// Frame type `STATS`; see PROTOCOL.md.
    public struct Stats: SingleFrameResponse {
        public static let type = MessageType.stats

        /// Store identity.
        public var storeID: String
        /// Sum of the sizes of all files of all live versions.
        public var logicalBytes: UInt64
        /// Raw bytes of all stored chunks (after dedup, before compression).
        public var uniqueBytes: UInt64
        /// Bytes of chunk data in packs (after compression).
        public var storedBytes: UInt64
        /// Chunks in the index.
        public var chunkCount: UInt64
        /// Packs.
        public var packCount: UInt64
        /// Recipes and trees.
        public var objectCount: UInt64
        /// Live versions.
        public var versionCount: UInt64
        /// Aliases.
        public var aliasCount: UInt64
        /// FastCDC minimum chunk size.
        public var chunkMin: UInt32
        /// FastCDC average chunk size.
        public var chunkAvg: UInt32
        /// FastCDC maximum chunk size.
        public var chunkMax: UInt32
        /// FastCDC normalization level.
        public var normalization: UInt8

        public init(
            storeID: String, logicalBytes: UInt64, uniqueBytes: UInt64, storedBytes: UInt64,
            chunkCount: UInt64, packCount: UInt64, objectCount: UInt64, versionCount: UInt64,
            aliasCount: UInt64, chunkMin: UInt32, chunkAvg: UInt32, chunkMax: UInt32, normalization: UInt8
        ) {
            self.storeID = storeID
            self.logicalBytes = logicalBytes
            self.uniqueBytes = uniqueBytes
            self.storedBytes = storedBytes
            self.chunkCount = chunkCount
            self.packCount = packCount
            self.objectCount = objectCount
            self.versionCount = versionCount
            self.aliasCount = aliasCount
            self.chunkMin = chunkMin
            self.chunkAvg = chunkAvg
            self.chunkMax = chunkMax
            self.normalization = normalization
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(storeID)
            buffer.writeWireU64(logicalBytes)
            buffer.writeWireU64(uniqueBytes)
            buffer.writeWireU64(storedBytes)
            buffer.writeWireU64(chunkCount)
            buffer.writeWireU64(packCount)
            buffer.writeWireU64(objectCount)
            buffer.writeWireU64(versionCount)
            buffer.writeWireU64(aliasCount)
            buffer.writeWireU32(chunkMin)
            buffer.writeWireU32(chunkAvg)
            buffer.writeWireU32(chunkMax)
            buffer.writeWireU8(normalization)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            storeID = try r.string("Stats.storeID", max: ProtocolLimits.maxIdentifierLength)
            logicalBytes = try r.u64("Stats.logicalBytes")
            uniqueBytes = try r.u64("Stats.uniqueBytes")
            storedBytes = try r.u64("Stats.storedBytes")
            chunkCount = try r.u64("Stats.chunkCount")
            packCount = try r.u64("Stats.packCount")
            objectCount = try r.u64("Stats.objectCount")
            versionCount = try r.u64("Stats.versionCount")
            aliasCount = try r.u64("Stats.aliasCount")
            chunkMin = try r.u32("Stats.chunkMin")
            chunkAvg = try r.u32("Stats.chunkAvg")
            chunkMax = try r.u32("Stats.chunkMax")
            normalization = try r.u8("Stats.normalization")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func listVersions(_ m: ListVersions) -> Message { Message(m) }
    public static func log(_ m: Log) -> Message { Message(m) }
    public static func versionList(_ m: VersionList) -> Message { Message(m) }
    public static func stat(_ m: Stat) -> Message { Message(m) }
    public static func stats(_ m: Stats) -> Message { Message(m) }
}
