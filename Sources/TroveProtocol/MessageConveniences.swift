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
    /// The message struct carried by frames of this type.
    public var bodyType: any WireMessage.Type {
        // The registry covers every type (checked by a test); ErrorReply is a safe stand-in.
        Message.bodyTypes[self] ?? Message.ErrorReply.self
    }

    /// For a request, its struct; nil for responses.
    public var requestType: (any WireRequest.Type)? { bodyType as? any WireRequest.Type }

    /// Who may send a request of this type; nil for responses.
    public var access: Access? { requestType?.access }

    /// For a request, the response types that may answer it (besides `ERROR`); empty for responses.
    public var responseTypes: Set<MessageType> {
        guard let requestType else { return [] }
        func replyTypes<R: WireRequest>(_: R.Type) -> [MessageType] { R.Reply.messageTypes }
        return Set(replyTypes(requestType))
    }

    /// Whether a response of this type may span several frames (the `MORE` flag).
    public var mayContinue: Bool { bodyType is any MultiFrameResponse.Type }

    /// The scope a request needs; nil for HELLO, AUTH and PING (and for responses).
    public var requiredScope: AccessScope? { access?.scope }
}
