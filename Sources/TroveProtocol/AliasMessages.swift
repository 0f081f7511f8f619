// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Aliases: ALIAS_SET, ALIAS_LIST, ALIAS_HISTORY, ALIAS_RM (PROTOCOL.md §11).
import NIOCore
import TroveCore

extension Message {
    /// Points `name:alias` at `name:version`, by compare-and-swap.
    ///
    /// Frame type `ALIAS_SET`; see PROTOCOL.md.
    public struct AliasSet: WireRequest {
        public static let type = MessageType.aliasSet
        public typealias Reply = AliasSetOK
        public static let access = Access.write(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String
        /// Alias tag.
        public var alias: String
        /// Target version (live, same name).
        public var version: String
        /// 0 any, 1 absent, 2 must currently be this version.
        public var expect: AliasExpectation

        public init(name: String, alias: String, version: String, expect: AliasExpectation) {
            self.name = name
            self.alias = alias
            self.version = version
            self.expect = expect
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(alias)
            buffer.writeWireString(version)
            expect.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasSet.name", max: ProtocolLimits.maxNameLength)
            alias = try r.string("AliasSet.alias", max: ProtocolLimits.maxTagLength)
            version = try r.string("AliasSet.version", max: ProtocolLimits.maxTagLength)
            expect = try AliasExpectation(from: &r)
        }
    }

    /// The alias moved.
    ///
    /// Frame type `ALIAS_SET_OK`; see PROTOCOL.md.
    public struct AliasSetOK: SingleFrameResponse {
        public static let type = MessageType.aliasSetOK

        /// Artifact name.
        public var name: String
        /// Alias tag.
        public var alias: String
        /// Where it points now.
        public var version: String
        /// Where it pointed before; absent if new.
        public var previous: String?

        public init(name: String, alias: String, version: String, previous: String? = nil) {
            self.name = name
            self.alias = alias
            self.version = version
            self.previous = previous
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(alias)
            buffer.writeWireString(version)
            buffer.writeWireOptional(previous) { buffer, v in buffer.writeWireString(v) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasSetOK.name", max: ProtocolLimits.maxNameLength)
            alias = try r.string("AliasSetOK.alias", max: ProtocolLimits.maxTagLength)
            version = try r.string("AliasSetOK.version", max: ProtocolLimits.maxTagLength)
            previous = try r.optional("AliasSetOK.previous") { r throws(ProtocolError) in
                try r.string("AliasSetOK.previous", max: ProtocolLimits.maxTagLength)
            }
        }
    }

    /// Lists the aliases of a name.
    ///
    /// Frame type `ALIAS_LIST`; see PROTOCOL.md.
    public struct AliasList: WireRequest {
        public static let type = MessageType.aliasList
        public typealias Reply = Aliases
        public static let access = Access.read(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String

        public init(name: String) {
            self.name = name
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasList.name", max: ProtocolLimits.maxNameLength)
        }
    }

    /// Answer to ALIAS_LIST (possibly several frames).
    ///
    /// Frame type `ALIASES`; see PROTOCOL.md.
    public struct Aliases: MultiFrameResponse {
        public static let type = MessageType.aliases

        /// Aliases sorted by tag.
        public var aliases: [AliasInfo]

        public init(aliases: [AliasInfo]) {
            self.aliases = aliases
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(aliases.count)
            for e in aliases { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            aliases = try r.list(
                "Aliases.aliases", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 17
            ) { r throws(ProtocolError) in try AliasInfo(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            aliases += next.aliases
        }
    }

    /// The moves of one alias, newest first.
    ///
    /// Frame type `ALIAS_HISTORY`; see PROTOCOL.md.
    public struct AliasHistory: WireRequest {
        public static let type = MessageType.aliasHistory
        public typealias Reply = AliasHistoryList
        public static let access = Access.read(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String
        /// Alias tag.
        public var alias: String
        /// At most this many (0: no limit).
        public var limit: UInt32

        public init(name: String, alias: String, limit: UInt32) {
            self.name = name
            self.alias = alias
            self.limit = limit
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(alias)
            buffer.writeWireU32(limit)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasHistory.name", max: ProtocolLimits.maxNameLength)
            alias = try r.string("AliasHistory.alias", max: ProtocolLimits.maxTagLength)
            limit = try r.u32("AliasHistory.limit")
        }
    }

    /// Answer to ALIAS_HISTORY (possibly several frames).
    ///
    /// Frame type `ALIAS_HISTORY_LIST`; see PROTOCOL.md.
    public struct AliasHistoryList: MultiFrameResponse {
        public static let type = MessageType.aliasHistoryList

        /// Moves, newest first.
        public var events: [AliasEvent]

        public init(events: [AliasEvent]) {
            self.events = events
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(events.count)
            for e in events { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            events = try r.list(
                "AliasHistoryList.events", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 15
            ) { r throws(ProtocolError) in try AliasEvent(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            events += next.events
        }
    }

    /// Removes an alias (recorded in its history).
    ///
    /// Frame type `ALIAS_RM`; see PROTOCOL.md.
    public struct AliasRemove: WireRequest {
        public static let type = MessageType.aliasRemove
        public typealias Reply = AliasRemoved
        public static let access = Access.write(.prefix)
        public var scopedName: String? { name }

        /// Artifact name.
        public var name: String
        /// Alias tag.
        public var alias: String
        /// Compare-and-swap expectation (`absent` is invalid here).
        public var expect: AliasExpectation

        public init(name: String, alias: String, expect: AliasExpectation) {
            self.name = name
            self.alias = alias
            self.expect = expect
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(alias)
            expect.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasRemove.name", max: ProtocolLimits.maxNameLength)
            alias = try r.string("AliasRemove.alias", max: ProtocolLimits.maxTagLength)
            expect = try AliasExpectation(from: &r)
        }
    }

    /// The alias is gone.
    ///
    /// Frame type `ALIAS_REMOVED`; see PROTOCOL.md.
    public struct AliasRemoved: SingleFrameResponse {
        public static let type = MessageType.aliasRemoved

        /// Artifact name.
        public var name: String
        /// Alias tag.
        public var alias: String
        /// The version it pointed at.
        public var previous: String

        public init(name: String, alias: String, previous: String) {
            self.name = name
            self.alias = alias
            self.previous = previous
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(alias)
            buffer.writeWireString(previous)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("AliasRemoved.name", max: ProtocolLimits.maxNameLength)
            alias = try r.string("AliasRemoved.alias", max: ProtocolLimits.maxTagLength)
            previous = try r.string("AliasRemoved.previous", max: ProtocolLimits.maxTagLength)
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func aliasSet(_ m: AliasSet) -> Message { Message(m) }
    public static func aliasSetOK(_ m: AliasSetOK) -> Message { Message(m) }
    public static func aliasList(_ m: AliasList) -> Message { Message(m) }
    public static func aliases(_ m: Aliases) -> Message { Message(m) }
    public static func aliasHistory(_ m: AliasHistory) -> Message { Message(m) }
    public static func aliasHistoryList(_ m: AliasHistoryList) -> Message { Message(m) }
    public static func aliasRemove(_ m: AliasRemove) -> Message { Message(m) }
    public static func aliasRemoved(_ m: AliasRemoved) -> Message { Message(m) }
}
