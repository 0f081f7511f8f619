/// Hard limits every decoder enforces, whatever a peer announces. Servers announce their own,
/// possibly smaller, working limits in `HELLO_OK` (``SessionLimits``).
public enum ProtocolLimits {
    /// Frame payload cap before authentication completes (both directions).
    public static let preAuthMaxPayload = 4096
    /// Default frame payload cap after authentication.
    public static let defaultMaxPayload = 8 << 20
    /// No frame payload is ever accepted above this, whatever a server announces.
    public static let absoluteMaxPayload = 32 << 20
    /// Digests in one HAS, GET_CHUNKS or GET_OBJECTS, or in a COMMIT_MISSING frame.
    public static let maxDigestsPerRequest = 65_536
    /// Chunks in one PUT_CHUNKS or CHUNKS frame.
    public static let maxChunksPerFrame = 65_536
    /// Object parts in one PUT_OBJECTS or OBJECTS frame.
    public static let maxObjectPartsPerFrame = 65_536
    /// Raw length of a chunk.
    public static let maxChunkLength = 16 << 20
    /// Total length of one object (a recipe or a tree).
    public static let maxObjectLength: UInt64 = 1 << 40
    /// An artifact name (UTF-8 bytes).
    public static let maxNameLength = 255
    /// A version or alias tag.
    public static let maxTagLength = 128
    /// A reference string (`NAME:TAG` or `NAME@sha256:HEX`).
    public static let maxRefLength = 512
    /// A version message.
    public static let maxMessageLength = 16_384
    /// Metadata entries on a version.
    public static let maxMetadataEntries = 256
    /// A metadata key.
    public static let maxMetadataKeyLength = 128
    /// A metadata string value.
    public static let maxMetadataValueLength = 4096
    /// Parents of a version.
    public static let maxParents = 64
    /// `where` filters in LIST_VERSIONS.
    public static let maxFilters = 32
    /// Name prefixes of a token.
    public static let maxPrefixes = 64
    /// Short identifiers: store id, software names, token names, creators.
    public static let maxIdentifierLength = 128
    /// The human message of an ERROR.
    public static let maxErrorMessageLength = 4096
    /// Entries in one VERSION_LIST, ALIASES or ALIAS_HISTORY_LIST frame.
    public static let maxListEntriesPerFrame = 100_000
    /// A bucket name (S3's rule: 3–63 of `a-z 0-9 . -`).
    public static let maxBucketNameLength = 63
    /// A bucket key, and a key prefix (S3's limit).
    public static let maxKeyLength = 1024
    /// A bucket object's ETag (hex MD5, or `HEX-N` for multipart).
    public static let maxETagLength = 128
    /// Codecs listed in HELLO/HELLO_OK.
    public static let maxCodecs = 16
    /// Bytes of each side's authentication nonce.
    public static let nonceLength = 32
}

/// The working limits a server announces in `HELLO_OK`; a client must stay within them.
public struct SessionLimits: Hashable, Sendable {
    /// Frame payload cap after authentication (≤ ``ProtocolLimits/absoluteMaxPayload``).
    public var maxFramePayload: UInt32
    /// Digests per HAS, GET_CHUNKS or GET_OBJECTS request.
    public var maxDigestsPerRequest: UInt32
    /// Chunks per PUT_CHUNKS request (their bytes are bounded by the frame cap).
    public var maxChunksPerPut: UInt32
    /// Requests a client may have outstanding; the server stops reading beyond it.
    public var maxInFlight: UInt32
    /// Largest object (recipe or tree) accepted by PUT_OBJECTS.
    public var maxObjectLength: UInt64
    /// Time allowed from connect to AUTH_OK (or HELLO_OK when no auth is required).
    public var handshakeTimeoutMillis: UInt32
    /// Idle time (no request outstanding, nothing received) after which the server closes.
    public var idleTimeoutMillis: UInt32
    /// How long a push lease lives without use.
    public var leaseTTLSeconds: UInt32

    /// The reference server's defaults.
    public static let `default` = SessionLimits(
        maxFramePayload: UInt32(ProtocolLimits.defaultMaxPayload), maxDigestsPerRequest: 16_384,
        maxChunksPerPut: 1024, maxInFlight: 32, maxObjectLength: 1 << 32, handshakeTimeoutMillis: 10_000,
        idleTimeoutMillis: 300_000, leaseTTLSeconds: 3600)

    public init(
        maxFramePayload: UInt32, maxDigestsPerRequest: UInt32, maxChunksPerPut: UInt32, maxInFlight: UInt32,
        maxObjectLength: UInt64, handshakeTimeoutMillis: UInt32, idleTimeoutMillis: UInt32,
        leaseTTLSeconds: UInt32
    ) {
        self.maxFramePayload = maxFramePayload
        self.maxDigestsPerRequest = maxDigestsPerRequest
        self.maxChunksPerPut = maxChunksPerPut
        self.maxInFlight = maxInFlight
        self.maxObjectLength = maxObjectLength
        self.handshakeTimeoutMillis = handshakeTimeoutMillis
        self.idleTimeoutMillis = idleTimeoutMillis
        self.leaseTTLSeconds = leaseTTLSeconds
    }
}
