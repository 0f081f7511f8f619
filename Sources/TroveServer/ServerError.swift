import TroveCore
import TroveProtocol
import TroveStore

/// A failed request: the protocol error code and a message that says what to do.
public struct ServerError: Error, CustomStringConvertible {
    public var code: ErrorCode
    public var message: String

    public init(_ code: ErrorCode, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.name): \(message)" }

    /// The ERROR message for this failure.
    var reply: Message {
        .error(.init(code: code, retryable: code.isRetryable, message: String(message.prefix(4000))))
    }

    /// Maps a store failure to the protocol's error codes.
    init(_ e: StoreError) {
        let code: ErrorCode =
            switch e {
            case .readOnly: .readOnly
            case .chunkNotFound, .objectNotFound, .refNotFound, .aliasNotSetAt: .notFound
            case .corruptData, .blobMismatch: .integrity
            case .invalidObject, .invalidName, .invalidArgument, .invalidCommit: .badRequest
            case .versionConflict, .tagInUse: .conflict
            case .aliasConflict: .staleExpectation
            case .versionRetired: .retired
            case .versionAliased: .inUse
            case .uploadExpired: .leaseExpired
            case .uploadCorrupt: .integrity
            case .noSpace: .noSpace
            case .packStorage: .busy
            case .notAStore, .alreadyExists, .corruptConfig, .unsupportedFormat, .io, .catalog, .encryption:
                .internalError
            }
        self.init(code, e.description)
    }
}
