import NIOHTTP1
import TroveStore

/// An S3 error: HTTP status, S3 error code and a message saying what went wrong and what to do.
/// Sent as S3's XML error document (`<Error><Code>…`), except for HEAD requests (no body).
public struct S3Error: Error, CustomStringConvertible, Equatable {
    public var status: HTTPResponseStatus
    public var code: String
    public var message: String
    /// Close the connection after answering (the request's body was not read to its end, or
    /// the framing cannot be trusted).
    public var close = false

    public init(_ status: HTTPResponseStatus, _ code: String, _ message: String, close: Bool = false) {
        self.status = status
        self.code = code
        self.message = message
        self.close = close
    }

    public var description: String { "\(status.code) \(code): \(message)" }

    static func accessDenied(_ m: String) -> S3Error { S3Error(.forbidden, "AccessDenied", m) }
    static func invalidArgument(_ m: String) -> S3Error { S3Error(.badRequest, "InvalidArgument", m) }
    static func invalidRequest(_ m: String) -> S3Error { S3Error(.badRequest, "InvalidRequest", m) }
    static func malformedXML(_ m: String) -> S3Error { S3Error(.badRequest, "MalformedXML", m) }
    static func notImplemented(_ m: String) -> S3Error { S3Error(.notImplemented, "NotImplemented", m) }
    static func badDigest(_ m: String) -> S3Error { S3Error(.badRequest, "BadDigest", m) }
    static func incompleteBody(_ m: String) -> S3Error {
        S3Error(.badRequest, "IncompleteBody", m, close: true)
    }
    static func signatureMismatch(_ m: String) -> S3Error {
        S3Error(.forbidden, "SignatureDoesNotMatch", m)
    }
    static func internalError(_ m: String) -> S3Error { S3Error(.internalServerError, "InternalError", m) }

    /// The S3 error for a bucket operation's failure.
    static func from(_ e: BucketError) -> S3Error {
        switch e {
        case .noSuchBucket: S3Error(.notFound, "NoSuchBucket", e.description)
        case .bucketExists: S3Error(.conflict, "BucketAlreadyOwnedByYou", e.description)
        case .bucketNotEmpty: S3Error(.conflict, "BucketNotEmpty", e.description)
        case .invalidBucketName: S3Error(.badRequest, "InvalidBucketName", e.description)
        case .noSuchKey: S3Error(.notFound, "NoSuchKey", e.description)
        case .noSuchUpload: S3Error(.notFound, "NoSuchUpload", e.description)
        case .preconditionFailed: S3Error(.preconditionFailed, "PreconditionFailed", e.description)
        case .writeOnce: S3Error(.forbidden, "AccessDenied", e.description)
        case .invalidPart: S3Error(.badRequest, "InvalidPart", e.description)
        case .invalidSnapshot: S3Error(.badRequest, "InvalidRequest", e.description)
        case .store(let s): from(s)
        }
    }

    /// The S3 error for a store failure.
    static func from(_ e: StoreError) -> S3Error {
        switch e {
        case .readOnly, .noSpace, .packStorage: S3Error(.serviceUnavailable, "ServiceUnavailable", e.description)
        default: internalError(e.description)
        }
    }

    /// The XML error document.
    func xml(resource: String, requestID: String) -> String {
        var x = XMLWriter(root: nil)
        x.open("Error")
        x.element("Code", code)
        x.element("Message", message)
        x.element("Resource", resource)
        x.element("RequestId", requestID)
        x.close("Error")
        return x.text
    }
}
