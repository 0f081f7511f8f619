import TroveCore

/// Where an S3-compatible object store is and how to sign for it.
public struct S3ClientConfig: Sendable, Equatable {
    /// `http://HOST:PORT` of the endpoint (path-style addressing: `/BUCKET/KEY`).
    public var endpoint: String
    public var bucket: String
    public var region: String
    public var accessKeyID: String
    public var secretAccessKey: String
    /// Attempts per request (1 = no retry) for 5xx answers, throttling, connection failures and
    /// timeouts; the waits between them double from `retryBaseMillis` (with jitter).
    public var maxAttempts: Int
    public var retryBaseMillis: Int
    /// Seconds for one attempt to connect, send and receive the whole answer.
    public var requestTimeoutSeconds: Int

    public init(
        endpoint: String, bucket: String, region: String = "us-east-1", accessKeyID: String,
        secretAccessKey: String, maxAttempts: Int = 5, retryBaseMillis: Int = 100, requestTimeoutSeconds: Int = 60
    ) {
        self.endpoint = endpoint
        self.bucket = bucket
        self.region = region
        self.accessKeyID = accessKeyID
        self.secretAccessKey = secretAccessKey
        self.maxAttempts = maxAttempts
        self.retryBaseMillis = retryBaseMillis
        self.requestTimeoutSeconds = requestTimeoutSeconds
    }

    /// Host, port and the `Host` header value of `endpoint`.
    func parsedEndpoint() throws(S3ClientError) -> (host: String, port: Int, hostHeader: String) {
        if endpoint.hasPrefix("https://") {
            throw .invalidConfiguration(
                "endpoint '\(endpoint)': https is not supported by this build's S3 client; use an http endpoint on a trusted network or a local TLS-terminating proxy")
        }
        guard endpoint.hasPrefix("http://") else {
            throw .invalidConfiguration("endpoint '\(endpoint)' must start with http://")
        }
        var rest = Substring(endpoint.dropFirst("http://".count))
        while rest.hasSuffix("/") { rest = rest.dropLast() }
        guard !rest.isEmpty, !rest.contains("/") else {
            throw .invalidConfiguration("endpoint '\(endpoint)' must be http://HOST[:PORT] with no path")
        }
        if let colon = rest.lastIndex(of: ":"), !rest.hasSuffix("]") {
            guard let port = Int(rest[rest.index(after: colon)...]), (1...65535).contains(port) else {
                throw .invalidConfiguration("endpoint '\(endpoint)' has a bad port")
            }
            let host = String(rest[..<colon]).trimmingBrackets
            return (host, port, String(rest))
        }
        return (String(rest).trimmingBrackets, 80, String(rest))
    }

    func validate() throws(S3ClientError) {
        _ = try parsedEndpoint()
        let okBucket = bucket.utf8.allSatisfy { ($0 >= 0x61 && $0 <= 0x7A) || ($0 >= 0x30 && $0 <= 0x39) || $0 == 0x2D || $0 == 0x2E }
        guard (3...63).contains(bucket.utf8.count), okBucket else {
            throw .invalidConfiguration("bucket '\(bucket)' must be 3-63 characters of a-z 0-9 . -")
        }
        guard !accessKeyID.isEmpty, !secretAccessKey.isEmpty else {
            throw .invalidConfiguration(
                "no credentials: set access_key_id and secret_access_key_file, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY")
        }
        guard maxAttempts >= 1, retryBaseMillis >= 0, requestTimeoutSeconds >= 1 else {
            throw .invalidConfiguration("retries and timeouts must be positive")
        }
    }
}

extension String {
    fileprivate var trimmingBrackets: String {
        hasPrefix("[") && hasSuffix("]") ? String(dropFirst().dropLast()) : self
    }
}
