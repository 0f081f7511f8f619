// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
// Connection set-up and keep-alive: HELLO, AUTH, PING and their answers, and ERROR (PROTOCOL.md §6, §7).
import NIOCore
import TroveCore

extension Message {
    /// First frame a client sends.
    ///
    /// Frame type `HELLO`; see PROTOCOL.md.
    public struct Hello: WireRequest {
        public static let type = MessageType.hello
        public typealias Reply = HelloOK
        public static let access = Access.handshake

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
    public struct HelloOK: SingleFrameResponse {
        public static let type = MessageType.helloOK

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
    public struct Auth: WireRequest {
        public static let type = MessageType.auth
        public typealias Reply = AuthOK
        public static let access = Access.handshake

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
    public struct AuthOK: SingleFrameResponse {
        public static let type = MessageType.authOK

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
    public struct Ping: WireRequest {
        public static let type = MessageType.ping
        public typealias Reply = Pong
        public static let access = Access.handshake

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
    public struct Pong: SingleFrameResponse {
        public static let type = MessageType.pong

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
    public struct ErrorReply: WireMessage {
        public static let type = MessageType.error

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
}

extension Message {
    // Shorthands, e.g. `.ping(.init(nonce: 1))` for `Message(Ping(nonce: 1))`.
    public static func hello(_ m: Hello) -> Message { Message(m) }
    public static func helloOK(_ m: HelloOK) -> Message { Message(m) }
    public static func auth(_ m: Auth) -> Message { Message(m) }
    public static func authOK(_ m: AuthOK) -> Message { Message(m) }
    public static func ping(_ m: Ping) -> Message { Message(m) }
    public static func pong(_ m: Pong) -> Message { Message(m) }
    public static func error(_ m: ErrorReply) -> Message { Message(m) }
}
