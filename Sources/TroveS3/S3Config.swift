import TroveCore
import TroveTLS

/// What a credential may do (mirrors the binary protocol's token scopes: admin ⊇ write ⊇ read).
public enum S3Access: Int, Sendable, Comparable {
    case read, write, admin
    public static func < (a: S3Access, b: S3Access) -> Bool { a.rawValue < b.rawValue }
}

/// An S3 credential: the access key id is a token's name, the secret is derived from the
/// SHA-256 of the token's secret (`S3Credential.secret(fromKey:)`), so the server config holds
/// no more secret material than it does for the binary protocol.
public struct S3Credential: Sendable, Equatable {
    public var accessKeyId: String
    public var secretAccessKey: String
    public var access: S3Access
    /// Name prefixes; bucket B, key K is the name "B/K" (docs/S3.md). Empty: everything.
    public var prefixes: [String]

    public init(accessKeyId: String, secretAccessKey: String, access: S3Access, prefixes: [String] = []) {
        self.accessKeyId = accessKeyId
        self.secretAccessKey = secretAccessKey
        self.access = access
        self.prefixes = prefixes
    }

    /// The S3 secret access key of a token: hex(HMAC-SHA256(SHA-256(secret), "trove-s3")).
    public static func secret(fromKey key: Digest) -> String {
        HMACSHA256.mac(key: key.bytes, message: Array("trove-s3".utf8)).hex
    }
}

/// Configuration of the S3 listener.
public struct S3Config: Sendable {
    public var host: String
    public var port: Int
    /// Known credentials; empty with `openAccess` accepts any request.
    public var credentials: [S3Credential] = []
    /// No tokens configured: every request is accepted whatever its credentials (the binary
    /// protocol's open mode; loopback only unless troved runs with --insecure).
    public var openAccess = false
    /// The region reported by GetBucketLocation and accepted in signatures (any region is
    /// accepted in the credential scope; this one is reported).
    public var region = "us-east-1"
    /// The largest single PUT or part (S3: 5 GiB).
    public var maxObjectSize: UInt64 = 5 << 30
    /// Largest clock difference accepted in signed requests.
    public var clockSkewSeconds: Int64 = 900
    /// Seconds without a byte from a client in the middle of a request before it is dropped.
    public var idleTimeoutSeconds: Int64 = 120
    /// Seconds of waiting a request head may take from its first byte; also the window over
    /// which `minBodyRate` is measured (`SlowClientGuard`).
    public var headerTimeoutSeconds: Int64 = 20
    /// Bytes per second a request body must average while troved waits for it; 0: no limit.
    public var minBodyRate = 1024
    /// Threads doing store work.
    public var workerThreads = 4
    /// Multipart uploads older than this are aborted (checked hourly and at start).
    public var multipartMaxAgeSeconds: Int64 = 7 * 86_400
    /// Buckets created write-once when first used through the config (`[s3] write_once`).
    public var writeOnceBuckets: [String] = []
    /// The certificate for HTTPS (TLS 1.3 only); nil: plain HTTP.
    public var tls: ServerCertificates?

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }
}

/// Who is making a request and what they may touch.
struct Principal {
    var name: String?
    var access: S3Access
    var prefixes: [String]

    static let open = Principal(name: nil, access: .admin, prefixes: [])

    /// Whether the name `name` ("BUCKET/KEY" or "BUCKET") is under one of the prefixes.
    func covers(_ name: String) -> Bool {
        if prefixes.isEmpty { return true }
        return prefixes.contains { raw in
            let p = raw.hasSuffix("/") ? String(raw.dropLast()) : raw
            return p.isEmpty || name == p || name.hasPrefix(p + "/")
        }
    }

    /// Whether some of the bucket is visible: the bucket is covered, or a prefix lies inside it.
    func seesBucket(_ bucket: String) -> Bool {
        covers(bucket) || prefixes.contains { $0.hasPrefix(bucket + "/") }
    }
}
