/// What went wrong talking to an S3-compatible object store. Every case names the operation and
/// the key and says what to do.
public enum S3ClientError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The endpoint, bucket or credentials are unusable as configured.
    case invalidConfiguration(String)
    /// The object does not exist (404 NoSuchKey).
    case notFound(operation: String, key: String)
    /// A conditional write found the object already there (412, `If-None-Match: *`).
    case alreadyExists(key: String)
    /// The server refused the request with a status that retrying does not fix (4xx), or kept
    /// failing (5xx) until the retries ran out.
    case http(operation: String, key: String, status: Int, code: String, message: String)
    /// The connection failed or closed mid-request, after every retry.
    case transport(operation: String, key: String, detail: String)
    /// No complete answer within the request timeout, after every retry.
    case timeout(operation: String, key: String, seconds: Int)
    /// The answer could not be understood (bad XML, missing header, wrong length).
    case invalidResponse(operation: String, key: String, detail: String)

    public var description: String {
        switch self {
        case .invalidConfiguration(let m): return "S3 configuration: \(m)"
        case .notFound(let op, let key): return "S3 \(op) '\(key)': no such object"
        case .alreadyExists(let key):
            return "S3 PUT '\(key)': the object already exists (If-None-Match: * refused the write)"
        case .http(let op, let key, let status, let code, let message):
            let hint =
                status == 403
                ? " (check the access key, secret and the bucket's permissions)"
                : status >= 500 ? " (the object store is failing; check its health and retry)" : ""
            return "S3 \(op) '\(key)' failed: HTTP \(status) \(code) \(message)\(hint)"
        case .transport(let op, let key, let detail):
            return "S3 \(op) '\(key)': connection failed (\(detail)); is the endpoint reachable?"
        case .timeout(let op, let key, let s):
            return "S3 \(op) '\(key)': no answer within \(s) s after every retry; is the object store overloaded?"
        case .invalidResponse(let op, let key, let detail):
            return "S3 \(op) '\(key)': unexpected answer (\(detail))"
        }
    }

    /// Whether another attempt may succeed (5xx, throttling, connection failures, timeouts).
    var isRetryable: Bool {
        switch self {
        case .transport, .timeout: return true
        case .http(_, _, let status, _, _): return status >= 500 || status == 429
        default: return false
        }
    }
}
