import NIOCore
import TroveCore

extension Message.ErrorReply {
    /// An error reply whose retryable flag comes from the code.
    public init(_ code: ErrorCode, _ message: String) {
        self.init(
            code: code, retryable: code.isRetryable,
            message: String(decoding: message.utf8.prefix(4000), as: UTF8.self))
    }

    /// The reply a peer sends before closing the connection over `error`.
    public init(_ error: ProtocolError) {
        self.init(.protocolViolation, error.description)
    }
}

extension FormatPolicy {
    /// The wire form: bit 0 zip, bit 1 safetensors, bit 2 tar.
    public var wireBits: UInt8 {
        (formats.contains(.zip) ? 1 : 0) | (formats.contains(.safetensors) ? 2 : 0)
            | (formats.contains(.tar) ? 4 : 0)
    }

    /// From the wire form; other bits set are a protocol error.
    public init(wireBits bits: UInt8) throws(ProtocolError) {
        guard bits & ~0x07 == 0 else {
            throw .invalidValue(
                field: "HelloOK.formats", detail: "unknown format bits \(bits) (1 zip, 2 safetensors, 4 tar)")
        }
        var set = Set<ContainerFormat>()
        if bits & 1 != 0 { set.insert(.zip) }
        if bits & 2 != 0 { set.insert(.safetensors) }
        if bits & 4 != 0 { set.insert(.tar) }
        self.init(formats: set)
    }
}

extension Message.HelloOK {
    /// The store's chunker parameters.
    public var chunkerParameters: ChunkerParameters {
        ChunkerParameters(
            min: Int(chunkMin), avg: Int(chunkAvg), max: Int(chunkMax), normalization: Int(normalization))
    }
}

extension MessageType {
    /// For a request, the response types that may answer it (besides `ERROR`); empty for responses.
    public var responseTypes: Set<MessageType> {
        switch self {
        case .commit: [.commitOK, .commitMissing]
        case .log: [.versionList]
        default:
            if isRequest, let r = MessageType(rawValue: rawValue | 0x80) { [r] } else { [] }
        }
    }

    /// Whether a response of this type may span several frames (the `MORE` flag).
    public var mayContinue: Bool {
        switch self {
        case .objects, .chunks, .commitMissing, .versionList, .aliases, .aliasHistoryList, .gcReport,
            .scrubReport:
            true
        default: false
        }
    }

    /// The scope a request needs; nil for HELLO, AUTH and PING (and for responses).
    public var requiredScope: AccessScope? {
        switch self {
        case .hello, .auth, .ping: nil
        case .getRef, .getObjects, .getChunks, .listVersions, .log, .stat, .aliasList, .aliasHistory: .read
        case .beginPush, .has, .putChunks, .putObjects, .commit, .createVersion, .endPush, .aliasSet,
            .aliasRemove:
            .write
        case .retire, .gc, .scrub: .admin
        default: nil
        }
    }
}

extension Message {
    /// The artifact name a request is about, which a token's prefixes must cover; nil when the
    /// request is not about one name (content-addressed reads, STAT, GC, SCRUB, LIST_VERSIONS
    /// whose results the server filters instead). GET_REF's name is inside its ref string.
    public var scopedName: String? {
        switch self {
        case .beginPush(let m): m.name
        case .createVersion(let m): m.name
        case .log(let m): m.name
        case .aliasSet(let m): m.name
        case .aliasList(let m): m.name
        case .aliasHistory(let m): m.name
        case .aliasRemove(let m): m.name
        case .retire(let m): m.name
        default: nil
        }
    }
}
