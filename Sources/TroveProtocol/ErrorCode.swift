/// The error codes carried by `ERROR` frames (u16 on the wire).
///
/// Each code has a retryable flag (a client may retry the same request later, possibly on a new
/// connection) and maps to one of the `trove` CLI exit codes: 0 ok, 1 error, 2 usage, 3 not found,
/// 4 conflict, 5 integrity, 6 authentication or permission denied.
/// Receivers map codes they do not know to ``unknown(_:)`` and treat them as exit 1, not retryable.
public enum ErrorCode: Hashable, Sendable, CustomStringConvertible {
    /// The peer broke the framing or message rules; the connection is closed.
    case protocolViolation
    /// The request is well-formed but a field is invalid (a bad name, an out-of-range option).
    case badRequest
    /// A request other than HELLO/AUTH/PING arrived before authentication.
    case authRequired
    /// The token is unknown or its proof is wrong.
    case authFailed
    /// The token lacks the scope or name prefix the request needs.
    case permissionDenied
    /// The ref, version, alias, object or lease does not exist.
    case notFound
    /// The version exists with other content, or an alias/version name clash.
    case conflict
    /// A compare-and-swap on an alias saw another value than expected.
    case staleExpectation
    /// Bytes did not hash to their digest, or the store found damage while serving.
    case integrity
    /// The push lease expired or is unknown; begin a new push (nothing acknowledged is lost).
    case leaseExpired
    /// The server is busy (another GC, too many connections or in-flight requests); retry later.
    case busy
    /// The store is read-only after an I/O failure; an operator must intervene.
    case readOnly
    /// A batch or object exceeds a limit announced in HELLO_OK.
    case limitExceeded
    /// The server is shutting down; retry against the restarted server.
    case shuttingDown
    /// A handshake or idle timeout closed the connection.
    case timeout
    /// The version is retired (no longer served or aliasable).
    case retired
    /// The version cannot be retired while aliases point at it (use force).
    case inUse
    /// The server failed in a way that is not the client's fault.
    case internalError
    /// The server's disk is full (or at its free-space floor): nothing of the request was kept,
    /// the store stays writable; an operator frees space (retire + GC) and the request can be sent again.
    case noSpace
    /// A code this side does not know.
    case unknown(UInt16)

    /// The numeric code on the wire.
    public var rawValue: UInt16 {
        switch self {
        case .protocolViolation: 1
        case .badRequest: 2
        case .authRequired: 3
        case .authFailed: 4
        case .permissionDenied: 5
        case .notFound: 6
        case .conflict: 7
        case .staleExpectation: 8
        case .integrity: 9
        case .leaseExpired: 10
        case .busy: 11
        case .readOnly: 12
        case .limitExceeded: 13
        case .shuttingDown: 14
        case .timeout: 15
        case .retired: 16
        case .inUse: 17
        case .internalError: 18
        case .noSpace: 19
        case .unknown(let v): v
        }
    }

    /// Every defined code (not ``unknown(_:)``).
    public static let allDefined: [ErrorCode] = [
        .protocolViolation, .badRequest, .authRequired, .authFailed, .permissionDenied, .notFound,
        .conflict, .staleExpectation, .integrity, .leaseExpired, .busy, .readOnly, .limitExceeded,
        .shuttingDown, .timeout, .retired, .inUse, .internalError, .noSpace,
    ]

    /// The code for a wire value; unknown values become ``unknown(_:)``.
    public init(rawValue: UInt16) {
        self = ErrorCode.allDefined.first { $0.rawValue == rawValue } ?? .unknown(rawValue)
    }

    /// Whether retrying the same request later can succeed without changing it.
    public var isRetryable: Bool {
        switch self {
        case .leaseExpired, .busy, .shuttingDown, .timeout: true
        default: false
        }
    }

    /// The `trove` CLI exit code for this error.
    public var exitCode: Int32 {
        switch self {
        case .badRequest, .limitExceeded: 2
        case .notFound, .retired: 3
        case .conflict, .staleExpectation, .inUse: 4
        case .integrity: 5
        case .authRequired, .authFailed, .permissionDenied: 6
        default: 1
        }
    }

    /// The name used in PROTOCOL.md and logs, e.g. `not-found`.
    public var name: String {
        switch self {
        case .protocolViolation: "protocol-violation"
        case .badRequest: "bad-request"
        case .authRequired: "auth-required"
        case .authFailed: "auth-failed"
        case .permissionDenied: "permission-denied"
        case .notFound: "not-found"
        case .conflict: "conflict"
        case .staleExpectation: "stale-expectation"
        case .integrity: "integrity"
        case .leaseExpired: "lease-expired"
        case .busy: "busy"
        case .readOnly: "read-only"
        case .limitExceeded: "limit-exceeded"
        case .shuttingDown: "shutting-down"
        case .timeout: "timeout"
        case .retired: "retired"
        case .inUse: "in-use"
        case .internalError: "internal"
        case .noSpace: "no-space"
        case .unknown(let v): "unknown-\(v)"
        }
    }

    public var description: String { name }
}
