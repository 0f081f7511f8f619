import NIOCore

/// A message: the payload of one frame. Each message struct declares its frame type here, once;
/// ``Message/registry`` maps frame types back to structs for decoding.
public protocol WireMessage: WireCodable {
    /// The frame type that carries this message.
    static var type: MessageType { get }
}

/// A message a client sends. Declares, once, what answers it and who may send it; the server's
/// request path checks ``access`` before running a handler, the client's
/// `Connection.call(_:)` decodes the answer as ``Reply``. PROTOCOL.md §6 shows the same table
/// (a test compares the two).
public protocol WireRequest: WireMessage {
    /// What the response decodes to (its frames merged).
    associatedtype Reply: WireResponse
    /// The scope the token needs and how the request's name is checked against its prefixes.
    static var access: Access { get }
    /// The artifact name the token's prefixes must cover when ``access`` says
    /// ``Access/Names/prefix``; nil otherwise (or when the name does not parse: the handler
    /// then refuses the request as bad).
    var scopedName: String? { get }
}

extension WireRequest {
    public var scopedName: String? { nil }
}

/// What one response decodes to on the client: the request's own response type(s), with the
/// frames of a multi-frame response merged into one value.
public protocol WireResponse: Sendable {
    /// The frame types that may carry it (besides `ERROR`).
    static var messageTypes: [MessageType] { get }
    /// Whether the response may span several frames (the `MORE` flag).
    static var mayContinue: Bool { get }
    /// The response from all its frames, in order (each of one of ``messageTypes``).
    init(frames: [Message]) throws(ProtocolError)
}

/// A response that is always exactly one frame of one type.
public protocol SingleFrameResponse: WireMessage, WireResponse {}

extension SingleFrameResponse {
    public static var messageTypes: [MessageType] { [type] }
    public static var mayContinue: Bool { false }

    public init(frames: [Message]) throws(ProtocolError) {
        guard frames.count == 1, let m = frames[0].as(Self.self) else {
            throw .unexpectedResponse(expected: "\(Self.type)", got: frames.map(\.type))
        }
        self = m
    }
}

/// A response that may span several frames, each a complete message; ``merge(_:)`` folds the
/// next frame into what came before (lists are concatenated, report text appended).
public protocol MultiFrameResponse: WireMessage, WireResponse {
    /// Appends the content of the next frame of the same response.
    mutating func merge(_ next: Self)
}

extension MultiFrameResponse {
    public static var messageTypes: [MessageType] { [type] }
    public static var mayContinue: Bool { true }

    public init(frames: [Message]) throws(ProtocolError) {
        var merged: Self?
        for f in frames {
            guard let m = f.as(Self.self) else {
                throw .unexpectedResponse(expected: "\(Self.type)", got: frames.map(\.type))
            }
            if merged == nil { merged = m } else { merged!.merge(m) }
        }
        guard let merged else { throw .unexpectedResponse(expected: "\(Self.type)", got: []) }
        self = merged
    }
}

/// Who may send a request: the scope its token needs and how names are checked (PROTOCOL.md §6,
/// column "scope").
public struct Access: Sendable, Hashable, CustomStringConvertible {
    /// How a request's artifact names are checked against the token's prefixes.
    public enum Names: Sendable, Hashable {
        /// Not name-scoped (content-addressed, store-wide, or the handshake).
        case unrestricted
        /// The request's ``WireRequest/scopedName`` must be covered by one of the prefixes.
        case prefix
        /// Not refused, but results outside the prefixes are left out (LIST_VERSIONS).
        case filtered
    }

    /// The scope needed; nil for HELLO, AUTH and PING (allowed before authentication).
    public var scope: AccessScope?
    /// How names are checked.
    public var names: Names

    public init(scope: AccessScope?, names: Names) {
        self.scope = scope
        self.names = names
    }

    /// HELLO, AUTH, PING: no scope, allowed during the handshake.
    public static let handshake = Access(scope: nil, names: .unrestricted)
    /// Read scope.
    public static func read(_ names: Names = .unrestricted) -> Access { Access(scope: .read, names: names) }
    /// Write scope.
    public static func write(_ names: Names = .unrestricted) -> Access { Access(scope: .write, names: names) }
    /// Admin scope.
    public static func admin(_ names: Names = .unrestricted) -> Access { Access(scope: .admin, names: names) }

    public var description: String {
        guard let scope else { return "—" }
        switch names {
        case .unrestricted: return "\(scope)"
        case .prefix: return "\(scope) (+ prefix)"
        case .filtered: return "\(scope) (results filtered by prefix)"
        }
    }
}

extension AccessScope: CustomStringConvertible {
    public var description: String {
        switch self {
        case .read: "read"
        case .write: "write"
        case .admin: "admin"
        }
    }
}
