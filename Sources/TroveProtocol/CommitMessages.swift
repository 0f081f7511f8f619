// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Push, part 2: COMMIT, CREATE_VERSION and END_PUSH (PROTOCOL.md §9).
import NIOCore
import TroveCore

extension Message {
    /// Asks the server to check a tree is complete: tree, recipes and all chunks durable.
    ///
    /// Frame type `COMMIT`; see PROTOCOL.md.
    public struct Commit: WireRequest {
        public static let type = MessageType.commit
        public typealias Reply = CommitResult
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID
        /// The tree digest.
        public var tree: Digest

        public init(lease: LeaseID, tree: Digest) {
            self.lease = lease
            self.tree = tree
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireDigest(tree)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            tree = try r.digest("Commit.tree")
        }
    }

    /// The tree, every recipe it needs and every chunk are durable; blob digests verified.
    ///
    /// Frame type `COMMIT_OK`; see PROTOCOL.md.
    public struct CommitOK: SingleFrameResponse {
        public static let type = MessageType.commitOK

        /// The tree digest.
        public var tree: Digest
        /// Regular files in the tree.
        public var files: UInt32
        /// Sum of their sizes.
        public var totalSize: UInt64

        public init(tree: Digest, files: UInt32, totalSize: UInt64) {
            self.tree = tree
            self.files = files
            self.totalSize = totalSize
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireDigest(tree)
            buffer.writeWireU32(files)
            buffer.writeWireU64(totalSize)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            tree = try r.digest("CommitOK.tree")
            files = try r.u32("CommitOK.files")
            totalSize = try r.u64("CommitOK.totalSize")
        }
    }

    /// COMMIT refused: these are missing (possibly several frames, `more` flag).
    ///
    /// Frame type `COMMIT_MISSING`; see PROTOCOL.md.
    public struct CommitMissing: MultiFrameResponse {
        public static let type = MessageType.commitMissing

        /// Chunks not in the store.
        public var chunks: [Digest]
        /// Recipes or the tree not in the store.
        public var objects: [ObjectRef]

        public init(chunks: [Digest], objects: [ObjectRef]) {
            self.chunks = chunks
            self.objects = objects
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireDigests(chunks)
            buffer.writeWireCount(objects.count)
            for e in objects { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            chunks = try r.digests("CommitMissing.chunks", max: ProtocolLimits.maxDigestsPerRequest)
            objects = try r.list(
                "CommitMissing.objects", max: ProtocolLimits.maxDigestsPerRequest, minElementSize: 33
            ) { r throws(ProtocolError) in try ObjectRef(from: &r) }
        }

        public mutating func merge(_ next: Self) {
            chunks += next.chunks
            objects += next.objects
        }
    }

    /// Creates `name:version` → tree (create-only).
    ///
    /// Frame type `CREATE_VERSION`; see PROTOCOL.md.
    public struct CreateVersion: WireRequest {
        public static let type = MessageType.createVersion
        public typealias Reply = VersionCreated
        public static let access = Access.write(.prefix)
        public var scopedName: String? { name }

        /// The push lease, if any (the tree must have been committed).
        public var lease: LeaseID?
        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Tree digest (committed).
        public var tree: Digest
        /// Free text (may be empty).
        public var message: String
        /// Metadata; keys unique.
        public var metadata: [MetadataEntry]
        /// Parent refs (`NAME:VERSION`, `NAME:ALIAS` or `NAME@sha256:HEX`), which must exist.
        public var parents: [String]

        public init(
            lease: LeaseID? = nil, name: String, version: String, tree: Digest, message: String,
            metadata: [MetadataEntry], parents: [String]
        ) {
            self.lease = lease
            self.name = name
            self.version = version
            self.tree = tree
            self.message = message
            self.metadata = metadata
            self.parents = parents
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireOptional(lease) { buffer, v in v.encode(into: &buffer) }
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireDigest(tree)
            buffer.writeWireDescription(message: message, metadata: metadata, parents: parents)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try r.optional("CreateVersion.lease") { r throws(ProtocolError) in try LeaseID(from: &r) }
            name = try r.string("CreateVersion.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("CreateVersion.version", max: ProtocolLimits.maxTagLength)
            tree = try r.digest("CreateVersion.tree")
            (message, metadata, parents) = try r.versionDescription("CreateVersion")
        }
    }

    /// The version exists and points at the tree.
    ///
    /// Frame type `VERSION_CREATED`; see PROTOCOL.md.
    public struct VersionCreated: SingleFrameResponse {
        public static let type = MessageType.versionCreated

        /// Artifact name.
        public var name: String
        /// Version tag.
        public var version: String
        /// Tree digest.
        public var tree: Digest
        /// Creation time, ms since the Unix epoch.
        public var createdAt: Int64
        /// False when it already existed with this same tree (idempotent re-push).
        public var created: Bool

        public init(name: String, version: String, tree: Digest, createdAt: Int64, created: Bool) {
            self.name = name
            self.version = version
            self.tree = tree
            self.createdAt = createdAt
            self.created = created
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireString(version)
            buffer.writeWireDigest(tree)
            buffer.writeWireI64(createdAt)
            buffer.writeWireBool(created)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("VersionCreated.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("VersionCreated.version", max: ProtocolLimits.maxTagLength)
            tree = try r.digest("VersionCreated.tree")
            createdAt = try r.i64("VersionCreated.createdAt")
            created = try r.bool("VersionCreated.created")
        }
    }

    /// Releases a lease early.
    ///
    /// Frame type `END_PUSH`; see PROTOCOL.md.
    public struct EndPush: WireRequest {
        public static let type = MessageType.endPush
        public typealias Reply = PushEnded
        public static let access = Access.write()

        /// The push lease.
        public var lease: LeaseID

        public init(lease: LeaseID) {
            self.lease = lease
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
        }
    }

    /// The lease is released.
    ///
    /// Frame type `PUSH_ENDED`; see PROTOCOL.md.
    public struct PushEnded: SingleFrameResponse {
        public static let type = MessageType.pushEnded

        /// False when it had already expired or was unknown.
        public var released: Bool

        public init(released: Bool) {
            self.released = released
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireBool(released)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            released = try r.bool("PushEnded.released")
        }
    }
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func commit(_ m: Commit) -> Message { Message(m) }
    public static func commitOK(_ m: CommitOK) -> Message { Message(m) }
    public static func commitMissing(_ m: CommitMissing) -> Message { Message(m) }
    public static func createVersion(_ m: CreateVersion) -> Message { Message(m) }
    public static func versionCreated(_ m: VersionCreated) -> Message { Message(m) }
    public static func endPush(_ m: EndPush) -> Message { Message(m) }
    public static func pushEnded(_ m: PushEnded) -> Message { Message(m) }
}

/// The answer to COMMIT: `COMMIT_OK`, or `COMMIT_MISSING` (possibly several frames, merged).
public enum CommitResult: WireResponse, Equatable {
    /// The tree and everything it needs are durable.
    case committed(Message.CommitOK)
    /// Something is missing: send it and COMMIT again.
    case missing(Message.CommitMissing)

    public static var messageTypes: [MessageType] { [.commitOK, .commitMissing] }
    public static var mayContinue: Bool { true }

    public init(frames: [Message]) throws(ProtocolError) {
        if frames.count == 1, let ok = frames[0].as(Message.CommitOK.self) {
            self = .committed(ok)
        } else {
            do { self = .missing(try Message.CommitMissing(frames: frames)) } catch {
                throw .unexpectedResponse(expected: "COMMIT_OK or COMMIT_MISSING", got: frames.map(\.type))
            }
        }
    }
}
