// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
import NIOCore
import TroveCore

/// A metadata key and its typed value.
public struct MetadataEntry: WireCodable {
    /// The key.
    public var key: String
    /// The value.
    public var value: MetadataValue

    public init(key: String, value: MetadataValue) {
        self.key = key
        self.value = value
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(key)
        value.encode(into: &buffer)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        key = try r.string("MetadataEntry.key", max: ProtocolLimits.maxMetadataKeyLength)
        value = try MetadataValue(from: &r)
    }
}

/// A `where KEY=VALUE` filter: matches versions whose metadata `key` has text form `value`.
public struct MetadataFilter: WireCodable {
    /// The metadata key.
    public var key: String
    /// The text form the value must have (see `MetadataValue.description`).
    public var value: String

    public init(key: String, value: String) {
        self.key = key
        self.value = value
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(key)
        buffer.writeWireString(value)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        key = try r.string("MetadataFilter.key", max: ProtocolLimits.maxMetadataKeyLength)
        value = try r.string("MetadataFilter.value", max: ProtocolLimits.maxMetadataValueLength)
    }
}

/// A recipe or tree by kind and key digest.
public struct ObjectRef: WireCodable {
    /// Recipe or tree.
    public var kind: ContentKind
    /// For a recipe, the blob digest; for a tree, SHA-256 of its canonical bytes.
    public var digest: Digest

    public init(kind: ContentKind, digest: Digest) {
        self.kind = kind
        self.digest = digest
    }

    public func encode(into buffer: inout ByteBuffer) {
        kind.encode(into: &buffer)
        buffer.writeWireDigest(digest)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        kind = try ContentKind.object(from: &r)
        digest = try r.digest("ObjectRef.digest")
    }
}

/// A part (or all) of an object's canonical bytes. Objects longer than fits in a frame travel as
/// several parts, in order.
public struct ObjectPart: WireCodable {
    /// Recipe or tree.
    public var kind: ContentKind
    /// The object's key (blob digest for a recipe, tree digest for a tree).
    public var digest: Digest
    /// Length of the whole object (≤ 2^40).
    public var totalLength: UInt64
    /// Offset of `data` within the object.
    public var offset: UInt64
    /// The bytes at `offset`; `offset + data.count ≤ totalLength`.
    public var data: ByteBuffer

    public init(kind: ContentKind, digest: Digest, totalLength: UInt64, offset: UInt64, data: ByteBuffer) {
        self.kind = kind
        self.digest = digest
        self.totalLength = totalLength
        self.offset = offset
        self.data = data
    }

    public func encode(into buffer: inout ByteBuffer) {
        kind.encode(into: &buffer)
        buffer.writeWireDigest(digest)
        buffer.writeWireU64(totalLength)
        buffer.writeWireU64(offset)
        buffer.writeWireBytes(data)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        kind = try ContentKind.object(from: &r)
        digest = try r.digest("ObjectPart.digest")
        totalLength = try r.u64("ObjectPart.totalLength")
        offset = try r.u64("ObjectPart.offset")
        data = try r.bytes("ObjectPart.data", max: ProtocolLimits.absoluteMaxPayload)
        try validate()
    }
}

/// One chunk's bytes as stored: possibly compressed, always independently decodable.
public struct ChunkPayload: WireCodable {
    /// SHA-256 of the raw (uncompressed) bytes.
    public var digest: Digest
    /// Length of the raw bytes (1 … 16 MiB).
    public var rawLength: UInt32
    /// How `data` is encoded (0 raw, 1 zstd, 2 lz4).
    public var codec: Codec
    /// The encoded bytes: exactly `rawLength` for raw, at most `rawLength` otherwise.
    public var data: ByteBuffer

    public init(digest: Digest, rawLength: UInt32, codec: Codec, data: ByteBuffer) {
        self.digest = digest
        self.rawLength = rawLength
        self.codec = codec
        self.data = data
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireDigest(digest)
        buffer.writeWireU32(rawLength)
        codec.encode(into: &buffer)
        buffer.writeWireBytes(data)
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        digest = try r.digest("ChunkPayload.digest")
        rawLength = try r.u32("ChunkPayload.rawLength")
        codec = try Codec(from: &r)
        data = try r.bytes("ChunkPayload.data", max: ProtocolLimits.maxChunkLength)
        try validate()
    }
}

/// Everything known about one version.
public struct VersionInfo: WireCodable {
    /// Artifact name.
    public var name: String
    /// Version tag.
    public var version: String
    /// Tree digest.
    public var tree: Digest
    /// Creation time, milliseconds since the Unix epoch (UTC).
    public var createdAt: Int64
    /// Token name that created it; absent for open access.
    public var creator: String?
    /// The push message (may be empty).
    public var message: String
    /// Metadata, sorted by key, keys unique.
    public var metadata: [MetadataEntry]
    /// Parent versions as `NAME:VERSION`.
    public var parents: [String]
    /// Whether the version was retired.
    public var retired: Bool
    /// Aliases of the same name pointing at it.
    public var aliases: [String]

    public init(
        name: String, version: String, tree: Digest, createdAt: Int64, creator: String? = nil,
        message: String, metadata: [MetadataEntry], parents: [String], retired: Bool, aliases: [String]
    ) {
        self.name = name
        self.version = version
        self.tree = tree
        self.createdAt = createdAt
        self.creator = creator
        self.message = message
        self.metadata = metadata
        self.parents = parents
        self.retired = retired
        self.aliases = aliases
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(name)
        buffer.writeWireString(version)
        buffer.writeWireDigest(tree)
        buffer.writeWireI64(createdAt)
        buffer.writeWireOptional(creator) { buffer, v in buffer.writeWireString(v) }
        buffer.writeWireDescription(message: message, metadata: metadata, parents: parents)
        buffer.writeWireBool(retired)
        buffer.writeWireCount(aliases.count)
        for e in aliases { buffer.writeWireString(e) }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        name = try r.string("VersionInfo.name", max: ProtocolLimits.maxNameLength)
        version = try r.string("VersionInfo.version", max: ProtocolLimits.maxTagLength)
        tree = try r.digest("VersionInfo.tree")
        createdAt = try r.i64("VersionInfo.createdAt")
        creator = try r.optional("VersionInfo.creator") { r throws(ProtocolError) in
            try r.string("VersionInfo.creator", max: ProtocolLimits.maxIdentifierLength)
        }
        (message, metadata, parents) = try r.versionDescription("VersionInfo")
        retired = try r.bool("VersionInfo.retired")
        aliases = try r.list(
            "VersionInfo.aliases", max: ProtocolLimits.maxListEntriesPerFrame, minElementSize: 4
        ) { r throws(ProtocolError) in try r.string("VersionInfo.aliases", max: ProtocolLimits.maxTagLength) }
    }
}

/// Where an alias points now.
public struct AliasInfo: WireCodable {
    /// The alias tag.
    public var alias: String
    /// The version it points at.
    public var version: String
    /// When it was last set, ms since the Unix epoch.
    public var movedAt: Int64
    /// Token that last set it; absent for open access.
    public var movedBy: String?

    public init(alias: String, version: String, movedAt: Int64, movedBy: String? = nil) {
        self.alias = alias
        self.version = version
        self.movedAt = movedAt
        self.movedBy = movedBy
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(alias)
        buffer.writeWireString(version)
        buffer.writeWireI64(movedAt)
        buffer.writeWireOptional(movedBy) { buffer, v in buffer.writeWireString(v) }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        alias = try r.string("AliasInfo.alias", max: ProtocolLimits.maxTagLength)
        version = try r.string("AliasInfo.version", max: ProtocolLimits.maxTagLength)
        movedAt = try r.i64("AliasInfo.movedAt")
        movedBy = try r.optional("AliasInfo.movedBy") { r throws(ProtocolError) in
            try r.string("AliasInfo.movedBy", max: ProtocolLimits.maxIdentifierLength)
        }
    }
}

/// One move of an alias, from its history.
public struct AliasEvent: WireCodable {
    /// The alias tag.
    public var alias: String
    /// Previous version; absent when the alias was created.
    public var from: String?
    /// New version; absent when the alias was removed.
    public var to: String?
    /// When, ms since the Unix epoch.
    public var at: Int64
    /// Token that moved it; absent for open access.
    public var by: String?

    public init(alias: String, from: String? = nil, to: String? = nil, at: Int64, by: String? = nil) {
        self.alias = alias
        self.from = from
        self.to = to
        self.at = at
        self.by = by
    }

    public func encode(into buffer: inout ByteBuffer) {
        buffer.writeWireString(alias)
        buffer.writeWireOptional(from) { buffer, v in buffer.writeWireString(v) }
        buffer.writeWireOptional(to) { buffer, v in buffer.writeWireString(v) }
        buffer.writeWireI64(at)
        buffer.writeWireOptional(by) { buffer, v in buffer.writeWireString(v) }
    }

    public init(from r: inout WireReader) throws(ProtocolError) {
        alias = try r.string("AliasEvent.alias", max: ProtocolLimits.maxTagLength)
        from = try r.optional("AliasEvent.from") { r throws(ProtocolError) in
            try r.string("AliasEvent.from", max: ProtocolLimits.maxTagLength)
        }
        to = try r.optional("AliasEvent.to") { r throws(ProtocolError) in
            try r.string("AliasEvent.to", max: ProtocolLimits.maxTagLength)
        }
        at = try r.i64("AliasEvent.at")
        by = try r.optional("AliasEvent.by") { r throws(ProtocolError) in
            try r.string("AliasEvent.by", max: ProtocolLimits.maxIdentifierLength)
        }
    }
}

extension ByteBuffer {
    /// What describes a version (VersionInfo, CREATE_VERSION, SNAPSHOT), in wire order: the
    /// message, the metadata entries, the parent refs.
    mutating func writeWireDescription(message: String, metadata: [MetadataEntry], parents: [String]) {
        writeWireString(message)
        writeWireCount(metadata.count)
        for e in metadata { e.encode(into: &self) }
        writeWireCount(parents.count)
        for e in parents { writeWireString(e) }
    }
}

extension WireReader {
    /// Reads what ``ByteBuffer/writeWireDescription(message:metadata:parents:)`` wrote; `owner`
    /// names the message in errors (`CreateVersion.metadata`).
    mutating func versionDescription(_ owner: String) throws(ProtocolError)
        -> (message: String, metadata: [MetadataEntry], parents: [String])
    {
        let message = try string("\(owner).message", max: ProtocolLimits.maxMessageLength)
        let metadata = try list("\(owner).metadata", max: ProtocolLimits.maxMetadataEntries, minElementSize: 6) {
            r throws(ProtocolError) in try MetadataEntry(from: &r)
        }
        let parents = try list("\(owner).parents", max: ProtocolLimits.maxParents, minElementSize: 4) {
            r throws(ProtocolError) in try r.string("\(owner).parents", max: ProtocolLimits.maxRefLength)
        }
        return (message, metadata, parents)
    }
}
