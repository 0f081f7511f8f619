// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
import NIOCore
import TroveCore

extension Message {
    /// First frame a client sends.
    ///
    /// Frame type `HELLO`; see PROTOCOL.md.
    public struct Hello: WireCodable {
        /// Client software and version, e.g. `trove/0.1.0` (for logs).
        public var client: String
        /// Codecs the client can decode in CHUNKS (raw is always accepted).
        public var codecs: [Codec]

        public init(client: String, codecs: [Codec]) {
            self.client = client
            self.codecs = codecs
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(client)
            buffer.writeWireCount(codecs.count)
            for e in codecs { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            client = try r.string("Hello.client", max: ProtocolLimits.maxIdentifierLength)
            codecs = try r.list("Hello.codecs", max: ProtocolLimits.maxCodecs, minElementSize: 1) {
                r throws(ProtocolError) in try Codec(from: &r)
            }
        }
    }

    /// The server's answer to HELLO.
    ///
    /// Frame type `HELLO_OK`; see PROTOCOL.md.
    public struct HelloOK: WireCodable {
        /// Server software and version (for logs).
        public var server: String
        /// The store's identity (fixed at init).
        public var storeID: String
        /// FastCDC minimum chunk size, bytes.
        public var chunkMin: UInt32
        /// FastCDC average chunk size, bytes.
        public var chunkAvg: UInt32
        /// FastCDC maximum chunk size, bytes.
        public var chunkMax: UInt32
        /// FastCDC normalization level (0…3).
        public var normalization: UInt8
        /// Codec the client should compress PUT_CHUNKS with.
        public var preferredCodec: Codec
        /// Codecs the server accepts in PUT_CHUNKS.
        public var codecs: [Codec]
        /// Working limits (see Limits).
        public var limits: SessionLimits
        /// 32 random bytes for the AUTH proof.
        public var serverNonce: [UInt8]
        /// Whether AUTH must follow; when false the session has admin scope on every name.
        public var authRequired: Bool
        /// The store's format policy: containers whose structure forces chunk boundaries
        /// (part of the chunking policy, fixed at init; `.none` for stores created before it).
        public var formats: FormatPolicy

        public init(
            server: String, storeID: String, chunkMin: UInt32, chunkAvg: UInt32, chunkMax: UInt32,
            normalization: UInt8, preferredCodec: Codec, codecs: [Codec], limits: SessionLimits,
            serverNonce: [UInt8], authRequired: Bool, formats: FormatPolicy = .none
        ) {
            self.formats = formats
            self.server = server
            self.storeID = storeID
            self.chunkMin = chunkMin
            self.chunkAvg = chunkAvg
            self.chunkMax = chunkMax
            self.normalization = normalization
            self.preferredCodec = preferredCodec
            self.codecs = codecs
            self.limits = limits
            self.serverNonce = serverNonce
            self.authRequired = authRequired
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(server)
            buffer.writeWireString(storeID)
            buffer.writeWireU32(chunkMin)
            buffer.writeWireU32(chunkAvg)
            buffer.writeWireU32(chunkMax)
            buffer.writeWireU8(normalization)
            preferredCodec.encode(into: &buffer)
            buffer.writeWireCount(codecs.count)
            for e in codecs { e.encode(into: &buffer) }
            limits.encode(into: &buffer)
            buffer.writeBytes(serverNonce)
            buffer.writeWireBool(authRequired)
            buffer.writeWireU8(formats.wireBits)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            server = try r.string("HelloOK.server", max: ProtocolLimits.maxIdentifierLength)
            storeID = try r.string("HelloOK.storeID", max: ProtocolLimits.maxIdentifierLength)
            chunkMin = try r.u32("HelloOK.chunkMin")
            chunkAvg = try r.u32("HelloOK.chunkAvg")
            chunkMax = try r.u32("HelloOK.chunkMax")
            normalization = try r.u8("HelloOK.normalization")
            preferredCodec = try Codec(from: &r)
            codecs = try r.list("HelloOK.codecs", max: ProtocolLimits.maxCodecs, minElementSize: 1) {
                r throws(ProtocolError) in try Codec(from: &r)
            }
            limits = try SessionLimits(from: &r)
            serverNonce = try r.fixedBytes(ProtocolLimits.nonceLength, "HelloOK.serverNonce")
            authRequired = try r.bool("HelloOK.authRequired")
            formats = try FormatPolicy(wireBits: try r.u8("HelloOK.formats"))
        }
    }

    /// Proves a token without sending its secret.
    ///
    /// Frame type `AUTH`; see PROTOCOL.md.
    public struct Auth: WireCodable {
        /// The token's name.
        public var tokenName: String
        /// 32 random bytes chosen by the client.
        public var clientNonce: [UInt8]
        /// HMAC-SHA256(SHA-256(secret), "trove-auth-v1 client" ‖ serverNonce ‖ clientNonce ‖ tokenName).
        public var proof: Digest

        public init(tokenName: String, clientNonce: [UInt8], proof: Digest) {
            self.tokenName = tokenName
            self.clientNonce = clientNonce
            self.proof = proof
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(tokenName)
            buffer.writeBytes(clientNonce)
            buffer.writeWireDigest(proof)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            tokenName = try r.string("Auth.tokenName", max: ProtocolLimits.maxIdentifierLength)
            clientNonce = try r.fixedBytes(ProtocolLimits.nonceLength, "Auth.clientNonce")
            proof = try r.digest("Auth.proof")
        }
    }

    /// Authentication succeeded.
    ///
    /// Frame type `AUTH_OK`; see PROTOCOL.md.
    public struct AuthOK: WireCodable {
        /// The token's name.
        public var tokenName: String
        /// Highest scope granted (0 read, 1 write, 2 admin).
        public var scope: AccessScope
        /// Name prefixes the token is limited to; empty: every name.
        public var prefixes: [String]
        /// HMAC-SHA256(SHA-256(secret), "trove-auth-v1 server" ‖ serverNonce ‖ clientNonce ‖ tokenName).
        public var serverProof: Digest

        public init(tokenName: String, scope: AccessScope, prefixes: [String], serverProof: Digest) {
            self.tokenName = tokenName
            self.scope = scope
            self.prefixes = prefixes
            self.serverProof = serverProof
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(tokenName)
            scope.encode(into: &buffer)
            buffer.writeWireCount(prefixes.count)
            for e in prefixes { buffer.writeWireString(e) }
            buffer.writeWireDigest(serverProof)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            tokenName = try r.string("AuthOK.tokenName", max: ProtocolLimits.maxIdentifierLength)
            scope = try AccessScope(from: &r)
            prefixes = try r.list("AuthOK.prefixes", max: ProtocolLimits.maxPrefixes, minElementSize: 4) {
                r throws(ProtocolError) in try r.string("AuthOK.prefixes", max: ProtocolLimits.maxNameLength)
            }
            serverProof = try r.digest("AuthOK.serverProof")
        }
    }

    /// Keep-alive; may be sent at any time after HELLO_OK.
    ///
    /// Frame type `PING`; see PROTOCOL.md.
    public struct Ping: WireCodable {
        /// Echoed in PONG.
        public var nonce: UInt64

        public init(nonce: UInt64) {
            self.nonce = nonce
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU64(nonce)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            nonce = try r.u64("Ping.nonce")
        }
    }

    /// Answer to PING.
    ///
    /// Frame type `PONG`; see PROTOCOL.md.
    public struct Pong: WireCodable {
        /// The PING's nonce.
        public var nonce: UInt64

        public init(nonce: UInt64) {
            self.nonce = nonce
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU64(nonce)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            nonce = try r.u64("Pong.nonce")
        }
    }

    /// A request failed (or, with request id 0, the connection is being closed).
    ///
    /// Frame type `ERROR`; see PROTOCOL.md.
    public struct ErrorReply: WireCodable {
        /// Error code (u16, see Error codes).
        public var code: ErrorCode
        /// Whether retrying the same request later can succeed.
        public var retryable: Bool
        /// What went wrong and what to do, for humans.
        public var message: String

        public init(code: ErrorCode, retryable: Bool, message: String) {
            self.code = code
            self.retryable = retryable
            self.message = message
        }

        public func encode(into buffer: inout ByteBuffer) {
            code.encode(into: &buffer)
            buffer.writeWireBool(retryable)
            buffer.writeWireString(message)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            code = try ErrorCode(from: &r)
            retryable = try r.bool("ErrorReply.retryable")
            message = try r.string("ErrorReply.message", max: ProtocolLimits.maxErrorMessageLength)
        }
    }

    /// Starts (or resumes) a push and obtains a lease that protects its chunks from GC.
    ///
    /// Frame type `BEGIN_PUSH`; see PROTOCOL.md.
    public struct BeginPush: WireCodable {
        /// The artifact name to be pushed (checked against the token's prefixes).
        public var name: String
        /// A lease from an earlier, interrupted push to extend and reuse.
        public var resume: LeaseID?

        public init(name: String, resume: LeaseID? = nil) {
            self.name = name
            self.resume = resume
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireString(name)
            buffer.writeWireOptional(resume) { buffer, v in v.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            name = try r.string("BeginPush.name", max: ProtocolLimits.maxNameLength)
            resume = try r.optional("BeginPush.resume") { r throws(ProtocolError) in try LeaseID(from: &r) }
        }
    }

    /// The lease for a push.
    ///
    /// Frame type `PUSH_BEGUN`; see PROTOCOL.md.
    public struct PushBegun: WireCodable {
        /// Lease id (16 bytes).
        public var lease: LeaseID
        /// Expiry, ms since the Unix epoch; every request under the lease extends it.
        public var expiresAt: Int64
        /// True when the requested lease was still live and is reused.
        public var resumed: Bool

        public init(lease: LeaseID, expiresAt: Int64, resumed: Bool) {
            self.lease = lease
            self.expiresAt = expiresAt
            self.resumed = resumed
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireI64(expiresAt)
            buffer.writeWireBool(resumed)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            expiresAt = try r.i64("PushBegun.expiresAt")
            resumed = try r.bool("PushBegun.resumed")
        }
    }

    /// Asks which chunks or objects the store already holds; present ones are protected by the lease.
    ///
    /// Frame type `HAS`; see PROTOCOL.md.
    public struct Has: WireCodable {
        /// The push lease.
        public var lease: LeaseID
        /// What the digests name: 0 chunk, 1 recipe (by blob digest), 2 tree.
        public var kind: ContentKind
        /// The digests to check (≤ maxDigestsPerRequest).
        public var digests: [Digest]

        public init(lease: LeaseID, kind: ContentKind, digests: [Digest]) {
            self.lease = lease
            self.kind = kind
            self.digests = digests
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            kind.encode(into: &buffer)
            buffer.writeWireDigests(digests)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            kind = try ContentKind(from: &r)
            digests = try r.digests("Has.digests", max: ProtocolLimits.maxDigestsPerRequest)
        }
    }

    /// Answer to HAS.
    ///
    /// Frame type `HAS_RESULT`; see PROTOCOL.md.
    public struct HasResult: WireCodable {
        /// One bit per asked digest, in request order; 1 = present and durable.
        public var present: PresenceBitmap

        public init(present: PresenceBitmap) {
            self.present = present
        }

        public func encode(into buffer: inout ByteBuffer) {
            present.encode(into: &buffer)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            present = try PresenceBitmap(from: &r)
        }
    }

    /// Uploads chunks; the server decompresses and re-hashes every one.
    ///
    /// Frame type `PUT_CHUNKS`; see PROTOCOL.md.
    public struct PutChunks: WireCodable {
        /// The push lease.
        public var lease: LeaseID
        /// The chunks (≤ maxChunksPerPut; bytes bounded by the frame cap).
        public var chunks: [ChunkPayload]

        public init(lease: LeaseID, chunks: [ChunkPayload]) {
            self.lease = lease
            self.chunks = chunks
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireCount(chunks.count)
            for e in chunks { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            chunks = try r.list("PutChunks.chunks", max: ProtocolLimits.maxChunksPerFrame, minElementSize: 41)
            { r throws(ProtocolError) in try ChunkPayload(from: &r) }
        }
    }

    /// Every chunk of the PUT_CHUNKS is durable.
    ///
    /// Frame type `PUT_CHUNKS_OK`; see PROTOCOL.md.
    public struct PutChunksOK: WireCodable {
        /// Chunks newly stored.
        public var stored: UInt32
        /// Chunks the store already held.
        public var alreadyPresent: UInt32

        public init(stored: UInt32, alreadyPresent: UInt32) {
            self.stored = stored
            self.alreadyPresent = alreadyPresent
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU32(stored)
            buffer.writeWireU32(alreadyPresent)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            stored = try r.u32("PutChunksOK.stored")
            alreadyPresent = try r.u32("PutChunksOK.alreadyPresent")
        }
    }

    /// Uploads recipes and trees (canonical bytes), possibly in parts.
    ///
    /// Frame type `PUT_OBJECTS`; see PROTOCOL.md.
    public struct PutObjects: WireCodable {
        /// The push lease.
        public var lease: LeaseID
        /// Object parts; the parts of one object are sent in order.
        public var parts: [ObjectPart]

        public init(lease: LeaseID, parts: [ObjectPart]) {
            self.lease = lease
            self.parts = parts
        }

        public func encode(into buffer: inout ByteBuffer) {
            lease.encode(into: &buffer)
            buffer.writeWireCount(parts.count)
            for e in parts { e.encode(into: &buffer) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try LeaseID(from: &r)
            parts = try r.list(
                "PutObjects.parts", max: ProtocolLimits.maxObjectPartsPerFrame, minElementSize: 53
            ) { r throws(ProtocolError) in try ObjectPart(from: &r) }
        }
    }

    /// The parts were accepted.
    ///
    /// Frame type `PUT_OBJECTS_OK`; see PROTOCOL.md.
    public struct PutObjectsOK: WireCodable {
        /// Objects completed, verified and made durable by this request.
        public var completed: UInt32

        public init(completed: UInt32) {
            self.completed = completed
        }

        public func encode(into buffer: inout ByteBuffer) {
            buffer.writeWireU32(completed)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            completed = try r.u32("PutObjectsOK.completed")
        }
    }

    /// Asks the server to check a tree is complete: tree, recipes and all chunks durable.
    ///
    /// Frame type `COMMIT`; see PROTOCOL.md.
    public struct Commit: WireCodable {
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
    public struct CommitOK: WireCodable {
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
    public struct CommitMissing: WireCodable {
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
    }

    /// Creates `name:version` → tree (create-only).
    ///
    /// Frame type `CREATE_VERSION`; see PROTOCOL.md.
    public struct CreateVersion: WireCodable {
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
            buffer.writeWireString(message)
            buffer.writeWireCount(metadata.count)
            for e in metadata { e.encode(into: &buffer) }
            buffer.writeWireCount(parents.count)
            for e in parents { buffer.writeWireString(e) }
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            lease = try r.optional("CreateVersion.lease") { r throws(ProtocolError) in try LeaseID(from: &r) }
            name = try r.string("CreateVersion.name", max: ProtocolLimits.maxNameLength)
            version = try r.string("CreateVersion.version", max: ProtocolLimits.maxTagLength)
            tree = try r.digest("CreateVersion.tree")
            message = try r.string("CreateVersion.message", max: ProtocolLimits.maxMessageLength)
            metadata = try r.list(
                "CreateVersion.metadata", max: ProtocolLimits.maxMetadataEntries, minElementSize: 6
            ) { r throws(ProtocolError) in try MetadataEntry(from: &r) }
            parents = try r.list("CreateVersion.parents", max: ProtocolLimits.maxParents, minElementSize: 4) {
                r throws(ProtocolError) in
                try r.string("CreateVersion.parents", max: ProtocolLimits.maxRefLength)
            }
        }
    }

    /// The version exists and points at the tree.
    ///
    /// Frame type `VERSION_CREATED`; see PROTOCOL.md.
    public struct VersionCreated: WireCodable {
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
    public struct EndPush: WireCodable {
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
    public struct PushEnded: WireCodable {
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

    /// Resolves a reference.
    ///
    /// Frame type `GET_REF`; see PROTOCOL.md.
    public struct GetRef: WireCodable {
        /// `NAME:VERSION`, `NAME:ALIAS` or `NAME@sha256:HEX`.
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
    public struct RefInfo: WireCodable {
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
    public struct GetObjects: WireCodable {
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
    public struct Objects: WireCodable {
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
    }

    /// Fetches chunks.
    ///
    /// Frame type `GET_CHUNKS`; see PROTOCOL.md.
    public struct GetChunks: WireCodable {
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
    public struct Chunks: WireCodable {
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
    }

    /// Lists versions whose name is under a prefix and whose metadata matches every filter.
    ///
    /// Frame type `LIST_VERSIONS`; see PROTOCOL.md.
    public struct ListVersions: WireCodable {
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
    public struct Log: WireCodable {
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
    public struct VersionList: WireCodable {
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
    }

    /// Asks for store statistics.
    ///
    /// Frame type `STAT`; see PROTOCOL.md.
    public struct Stat: WireCodable {
        public init() {}

        public func encode(into buffer: inout ByteBuffer) {
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
        }
    }

    /// Store statistics.
    ///
    /// Frame type `STATS`; see PROTOCOL.md.
    public struct Stats: WireCodable {
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

    /// Points `name:alias` at `name:version`, by compare-and-swap.
    ///
    /// Frame type `ALIAS_SET`; see PROTOCOL.md.
    public struct AliasSet: WireCodable {
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
    public struct AliasSetOK: WireCodable {
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
    public struct AliasList: WireCodable {
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
    public struct Aliases: WireCodable {
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
    }

    /// The moves of one alias, newest first.
    ///
    /// Frame type `ALIAS_HISTORY`; see PROTOCOL.md.
    public struct AliasHistory: WireCodable {
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
    public struct AliasHistoryList: WireCodable {
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
    }

    /// Removes an alias (recorded in its history).
    ///
    /// Frame type `ALIAS_RM`; see PROTOCOL.md.
    public struct AliasRemove: WireCodable {
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
    public struct AliasRemoved: WireCodable {
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

    /// Retires a version (admin): unlisted, unpullable, its data collectable.
    ///
    /// Frame type `RETIRE`; see PROTOCOL.md.
    public struct Retire: WireCodable {
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
    public struct Retired: WireCodable {
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
    public struct GC: WireCodable {
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
    public struct GCReport: WireCodable {
        /// 0 clean, 2 incomplete.
        public var status: ReportStatus
        /// A fragment of the JSON report.
        public var json: String

        public init(status: ReportStatus, json: String) {
            self.status = status
            self.json = json
        }

        public func encode(into buffer: inout ByteBuffer) {
            status.encode(into: &buffer)
            buffer.writeWireString(json)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            status = try ReportStatus(from: &r)
            json = try r.string("GCReport.json", max: ProtocolLimits.absoluteMaxPayload)
        }
    }

    /// Runs an integrity scrub (admin).
    ///
    /// Frame type `SCRUB`; see PROTOCOL.md.
    public struct Scrub: WireCodable {
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
    public struct ScrubReport: WireCodable {
        /// 0 clean, 1 damage found, 2 incomplete.
        public var status: ReportStatus
        /// A fragment of the JSON report.
        public var json: String

        public init(status: ReportStatus, json: String) {
            self.status = status
            self.json = json
        }

        public func encode(into buffer: inout ByteBuffer) {
            status.encode(into: &buffer)
            buffer.writeWireString(json)
        }

        public init(from r: inout WireReader) throws(ProtocolError) {
            status = try ReportStatus(from: &r)
            json = try r.string("ScrubReport.json", max: ProtocolLimits.absoluteMaxPayload)
        }
    }
}
