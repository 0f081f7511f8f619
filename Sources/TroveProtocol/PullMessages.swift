// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Pull, cat and range reads: refs, objects and chunks (PROTOCOL.md §10).
import NIOCore
import TroveCore

extension Message {
    /// Resolves a reference.
    ///
    /// Frame type `GET_REF`; see PROTOCOL.md.
    public struct GetRef: WireRequest {
        public static let type = MessageType.getRef
        public typealias Reply = RefInfo
        public static let access = Access.read(.prefix)
        public var scopedName: String? { try? Ref(parsing: ref).name }

        /// `NAME:VERSION`, `NAME:ALIAS`, `NAME:ALIAS@TIME` or `NAME@sha256:HEX`.
        public var ref: String

        public init(ref: String) {
            self.ref = ref
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(ref)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            ref = try r.string("GetRef.ref", max: ProtocolLimits.maxRefLength)
        }
    }

    /// What a reference resolves to.
    ///
    /// Frame type `REF_INFO`; see PROTOCOL.md.
    public struct RefInfo: SingleFrameResponse {
        public static let type = MessageType.refInfo

        /// Artifact name.
        public var name: String
        /// Tree digest.
        public var tree: Digest
        /// The version (absent for the digest form when no version of the name has that tree).
        public var version: VersionInfo?
        /// The alias the reference went through, if any.
        public var resolvedAlias: String?

        public init(name: String, tree: Digest, version: VersionInfo? = nil, resolvedAlias: String? = nil) {
            self.name = name
            self.tree = tree
            self.version = version
            self.resolvedAlias = resolvedAlias
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireDigest(tree)
            buffer.writeWireOptional(version) { buffer, v in v.encode(into: &buffer) }
            buffer.writeWireOptional(resolvedAlias) { buffer, v in buffer.writeWireString(v) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("RefInfo.name", max: ProtocolLimits.maxNameLength)
            tree = try r.digest("RefInfo.tree")
            version = try r.optional("RefInfo.version") { r throws(ProtocolError) in try VersionInfo(from: &r)
            }
            resolvedAlias = try r.optional("RefInfo.resolvedAlias") { r throws(ProtocolError) in
                try r.string("RefInfo.resolvedAlias", max: ProtocolLimits.maxTagLength)
            }
        }
    }

    /// Fetches recipes or trees.
    ///
    /// Frame type `GET_OBJECTS`; see PROTOCOL.md.
    public struct GetObjects: WireRequest {
        public static let type = MessageType.getObjects
        public typealias Reply = Objects
        public static let access = Access.read()

        /// 1 recipe (by blob digest) or 2 tree.
        public var kind: ContentKind
        /// Keys to fetch.
        public var digests: [Digest]

        public init(kind: ContentKind, digests: [Digest]) {
            self.kind = kind
            self.digests = digests
        }

        public func encode(into buffer: inout ByteBuffer) {
            kind.encode(into: &buffer)
            buffer.writeWireDigests(digests)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            kind = try ContentKind.object(from: &r)
            digests = try r.digests("GetObjects.digests", max: ProtocolLimits.maxDigestsPerRequest)
        }
    }

    /// Answer to GET_OBJECTS (possibly several frames, `more` flag).
    ///
    /// Frame type `OBJECTS`; see PROTOCOL.md.
    public struct Objects: MultiFrameResponse {
        public static let type = MessageType.objects

        /// Object parts, each object's parts in order.
        public var parts: [ObjectPart]
        /// Requested objects the store does not have.
        public var missing: [ObjectRef]

        public init(parts: [ObjectPart], missing: [ObjectRef]) {
            self.parts = parts
            self.missing = missing
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(parts.count)
            for e in parts { e.encode(into: &buffer) }
            buffer.writeWireCount(missing.count)
            for e in missing { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            parts = try r.list(
                "Objects.parts", max: ProtocolLimits.maxObjectPartsPerFrame, minElementSize: 53
            ) { r throws(ProtocolError) in try ObjectPart(from: &r) }
            missing = try r.list(
                "Objects.missing", max: ProtocolLimits.maxDigestsPerRequest, minElementSize: 33
            ) { r throws(ProtocolError) in try ObjectRef(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            parts += next.parts
            missing += next.missing
        }
    }

    /// Fetches chunks.
    ///
    /// Frame type `GET_CHUNKS`; see PROTOCOL.md.
    public struct GetChunks: WireRequest {
        public static let type = MessageType.getChunks
        public typealias Reply = Chunks
        public static let access = Access.read()

        /// Chunk digests.
        public var digests: [Digest]

        public init(digests: [Digest]) {
            self.digests = digests
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireDigests(digests)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            digests = try r.digests("GetChunks.digests", max: ProtocolLimits.maxDigestsPerRequest)
        }
    }

    /// Answer to GET_CHUNKS (possibly several frames, `more` flag).
    ///
    /// Frame type `CHUNKS`; see PROTOCOL.md.
    public struct Chunks: MultiFrameResponse {
        public static let type = MessageType.chunks

        /// Chunks in request order, in a codec the client announced (or raw).
        public var chunks: [ChunkPayload]
        /// Requested chunks that are absent or quarantined.
        public var missing: [Digest]

        public init(chunks: [ChunkPayload], missing: [Digest]) {
            self.chunks = chunks
            self.missing = missing
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireCount(chunks.count)
            for e in chunks { e.encode(into: &buffer) }
            buffer.writeWireDigests(missing)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            chunks = try r.list("Chunks.chunks", max: ProtocolLimits.maxChunksPerFrame, minElementSize: 41) {
                r throws(ProtocolError) in try ChunkPayload(from: &r)
            }
            missing = try r.digests("Chunks.missing", max: ProtocolLimits.maxDigestsPerRequest)
        }

        public mutating func merge(_ next: Self) {
            chunks += next.chunks
            missing += next.missing
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func getRef(_ m: GetRef) -> Message { Message(m) }
    public static func refInfo(_ m: RefInfo) -> Message { Message(m) }
    public static func getObjects(_ m: GetObjects) -> Message { Message(m) }
    public static func objects(_ m: Objects) -> Message { Message(m) }
    public static func getChunks(_ m: GetChunks) -> Message { Message(m) }
    public static func chunks(_ m: Chunks) -> Message { Message(m) }
}
