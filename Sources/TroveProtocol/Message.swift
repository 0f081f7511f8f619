import NIOCore

/// One message of the protocol (versions 1 and 2) — a request (client → server) or a response — as it travels
/// in a frame: a message struct (``body``, e.g. ``Message/Hello``) that knows its frame type.
///
/// The structs, grouped by area, are in `HandshakeMessages.swift`, `PushMessages.swift`,
/// `BlobStreamMessages.swift`, `CommitMessages.swift`, `PullMessages.swift`, `ListingMessages.swift`, `AliasMessages.swift`,
/// `AdminMessages.swift`, `BucketMessages.swift`, `BucketKeyMessages.swift` and `LeaseMessages.swift`;
/// PROTOCOL.md §6 lists the same fields.
///
/// Adding a message: a case in ``MessageType`` (code and name), the struct in its area's file
/// (conforming to ``WireRequest`` or a response protocol, which declares its frame type, and for
/// a request its reply and access), and its line in ``registry``. The round-trip and
/// PROTOCOL.md tests then ask for an example and a row in the table.
public struct Message: Equatable, Sendable, CustomStringConvertible {
    /// The message struct.
    public let body: any WireMessage

    /// A message holding `body`.
    public init(_ body: any WireMessage) {
        self.body = body
    }

    /// The frame type of this message.
    public var type: MessageType { Swift.type(of: body).type }

    /// The message struct if it is an `M`, e.g. `message.as(Message.HelloOK.self)`.
    public func `as`<M: WireMessage>(_: M.Type) -> M? { body as? M }

    /// The request this message is, if it is one.
    public var request: (any WireRequest)? { body as? any WireRequest }

    /// Appends the payload (fields in order) to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        body.encode(into: &buffer)
    }

    /// Decodes the payload of a frame of type `type`. Never traps; the whole payload must be used.
    public static func decode(type: MessageType, payload: ByteBuffer) throws(ProtocolError) -> Message {
        guard let bodyType = bodyTypes[type] else { throw .unknownMessageType(type.rawValue) }
        var r = WireReader(payload)
        let m = Message(try bodyType.init(from: &r))
        try r.finish(type.description)
        return m
    }

    public static func == (a: Message, b: Message) -> Bool {
        a.body.isEqual(to: b.body)
    }

    public var description: String { "\(body)" }

    /// Every message struct, by area: the decoder registry. A test checks it covers every
    /// ``MessageType`` once and that each struct declares the type it is listed under.
    public static let registry: [any WireMessage.Type] = [
        // Handshake and keep-alive
        Hello.self, HelloOK.self, Auth.self, AuthOK.self, Ping.self, Pong.self, ErrorReply.self,
        // Push
        BeginPush.self, PushBegun.self, Has.self, HasResult.self, PutChunks.self, PutChunksOK.self,
        PutObjects.self, PutObjectsOK.self, Commit.self, CommitOK.self, CommitMissing.self,
        CreateVersion.self, VersionCreated.self, EndPush.self, PushEnded.self,
        // Push: blob streams (protocol version 2)
        BlobOpen.self, BlobOpened.self, BlobChunks.self, BlobChunksOK.self, BlobClose.self, BlobClosed.self,
        // Push: blob streams sealed by the server (protocol version 3)
        BlobSeal.self, BlobSealed.self,
        // Pull
        GetRef.self, RefInfo.self, GetObjects.self, Objects.self, GetChunks.self, Chunks.self,
        // Listing and statistics
        ListVersions.self, Log.self, VersionList.self, Stat.self, Stats.self, QueryVersions.self,
        // Aliases
        AliasSet.self, AliasSetOK.self, AliasList.self, Aliases.self, AliasHistory.self,
        AliasHistoryList.self, AliasRemove.self, AliasRemoved.self,
        // Administration
        Retire.self, Retired.self, GC.self, GCReport.self, Scrub.self, ScrubReport.self,
        // Push leases
        LeaseList.self, Leases.self, LeaseEnd.self, LeaseEnded.self,
        // Buckets (the S3 face of the store)
        BucketList.self, Buckets.self, BucketCreate.self, BucketCreated.self, BucketRemove.self,
        BucketRemoved.self, BucketKeys.self, KeyList.self, Snapshot.self, SnapshotOK.self,
        // Bucket keys bound to pushed blobs (git-lfs)
        BindKey.self, KeyBound.self, LookupKey.self, KeyInfo.self,
    ]

    /// ``registry`` keyed by frame type.
    static let bodyTypes: [MessageType: any WireMessage.Type] = Dictionary(
        registry.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
}

extension WireMessage {
    /// Whether `other` is the same message (same struct, equal fields).
    fileprivate func isEqual(to other: any WireMessage) -> Bool {
        guard let other = other as? Self else { return false }
        return self == other
    }
}
