import TroveCore
import TroveProtocol

/// Everything that can make a client operation fail, each with a human message that says what
/// happened and what to do, and the `trove` exit code it maps to.
public enum ClientError: Error, CustomStringConvertible, Sendable {
    /// The server answered a request with `ERROR`.
    case server(code: ErrorCode, message: String, request: String)
    /// The TCP connection could not be established.
    case cannotConnect(address: String, detail: String)
    /// The connection closed (or broke) while requests were outstanding.
    case connectionClosed(detail: String)
    /// The server broke the protocol (bad framing, an unexpected response type or id).
    case protocolViolation(detail: String)
    /// Bytes from the server failed verification (a chunk, blob or tree digest, a recipe).
    case integrity(detail: String)
    /// A tree holds an entry that would be written outside the destination.
    case unsafeTree(detail: String)
    /// Something the user asked for does not exist (a path in a tree, a chunk the server lacks).
    case notFound(detail: String)
    /// The command line or an input value is invalid.
    case usage(detail: String)
    /// The server could not prove it knows the token (wrong server proof).
    case authentication(detail: String)
    /// A local file operation failed.
    case io(path: String, operation: String, errno: Int32)
    /// A local file could not be ingested.
    case ingest(detail: String)

    /// The `trove` exit code: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 integrity,
    /// 6 authentication or permission denied.
    public var exitCode: Int32 {
        switch self {
        case .server(let code, _, _): code.exitCode
        case .cannotConnect, .connectionClosed, .protocolViolation, .io, .ingest: 1
        case .integrity, .unsafeTree: 5
        case .notFound: 3
        case .usage: 2
        case .authentication: 6
        }
    }

    /// The server's error code, when the server sent one.
    public var serverCode: ErrorCode? {
        if case .server(let code, _, _) = self { return code }
        return nil
    }

    public var description: String {
        switch self {
        case .server(let code, let message, let request):
            "\(request) failed: \(message) (\(code.name))"
        case .cannotConnect(let address, let detail):
            "cannot reach troved at \(address): \(detail) — is it running? (--server / TROVE_SERVER)"
        case .connectionClosed(let detail):
            "the connection to troved closed: \(detail); retry (an interrupted push resumes where it stopped)"
        case .protocolViolation(let detail):
            "troved broke the protocol: \(detail); check that client and server versions match"
        case .integrity(let detail):
            "integrity check failed: \(detail); nothing was written in place. Run `trove scrub` on the server"
        case .unsafeTree(let detail):
            "refusing an unsafe tree: \(detail)"
        case .notFound(let detail):
            detail
        case .usage(let detail):
            detail
        case .authentication(let detail):
            "authentication failed: \(detail)"
        case .io(let path, let operation, let errno):
            "cannot \(operation) \(path): \(String(cString: strerror(errno)))"
        case .ingest(let detail):
            detail
        }
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
