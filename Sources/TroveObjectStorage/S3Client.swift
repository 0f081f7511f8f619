import NIOCore
import NIOHTTP1
import NIOPosix
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// What HEAD and ListObjectsV2 tell about an object.
public struct S3ObjectInfo: Sendable, Equatable {
    public var key: String
    public var size: Int
    public var etag: String
    /// `x-amz-meta-*` values by lowercase name without the prefix (HEAD only).
    public var metadata: [String: String]
}

/// A small S3 client: AWS Signature V4, path-style addressing, HTTP/1.1 keep-alive connections
/// over SwiftNIO. Its calls block the calling thread (as the Store's do): never call them on an
/// event loop. 5xx answers, throttling, connection failures and timeouts are retried with
/// exponential backoff and jitter; every other failure is thrown at once as `S3ClientError`.
public final class S3Client: Sendable {
    public let config: S3ClientConfig
    let pool: ConnectionPool
    let hostHeader: String
    /// Largest body an unranged GET accepts.
    public static let maxObjectBody = 1 << 30

    public init(
        config: S3ClientConfig, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton
    ) throws(S3ClientError) {
        try config.validate()
        let (host, port, hostHeader) = try config.parsedEndpoint()
        self.config = config
        self.hostHeader = hostHeader
        self.pool = ConnectionPool(host: host, port: port, group: group)
    }

    deinit { pool.shutdown() }

    /// Creates the bucket; succeeds if this account already owns it.
    public func createBucket() throws(S3ClientError) {
        let r = try perform("CreateBucket", key: "", method: .PUT, body: [])
        guard r.status == 200 || r.status == 409 && errorCode(r) == "BucketAlreadyOwnedByYou" else {
            throw failure("CreateBucket", key: "", r)
        }
    }

    /// Writes `bytes` as `key` only if no object has that key (`If-None-Match: *`), the payload's
    /// SHA-256 in `x-amz-content-sha256` (the store checks it) and `metadata` as `x-amz-meta-*`.
    /// Throws `.alreadyExists` when the key is taken.
    public func putIfAbsent(key: String, bytes: [UInt8], metadata: [String: String] = [:]) throws(S3ClientError) {
        var headers = [("if-none-match", "*")]
        for (k, v) in metadata.sorted(by: { $0.key < $1.key }) { headers.append(("x-amz-meta-" + k.lowercased(), v)) }
        let r = try perform("PUT", key: key, method: .PUT, headers: headers, body: bytes)
        if r.status == 412 || r.status == 409 && errorCode(r) == "PreconditionFailed" { throw .alreadyExists(key: key) }
        guard r.status == 200 else { throw failure("PUT", key: key, r) }
    }

    /// The object's bytes, or `count` bytes from `offset` (a ranged GET, checked for length).
    public func get(key: String, offset: Int = 0, count: Int? = nil) throws(S3ClientError) -> [UInt8] {
        var headers: [(String, String)] = []
        if let count {
            guard count > 0, offset >= 0 else { return [] }
            headers.append(("range", "bytes=\(offset)-\(offset + count - 1)"))
        }
        let r = try perform("GET", key: key, method: .GET, headers: headers, maxBody: count ?? S3Client.maxObjectBody)
        if r.status == 404 { throw .notFound(operation: "GET", key: key) }
        guard let count else {
            guard r.status == 200 else { throw failure("GET", key: key, r) }
            return Array(r.body.readableBytesView)
        }
        switch r.status {
        case 206 where r.body.readableBytes == count:
            return Array(r.body.readableBytesView)
        case 200 where r.body.readableBytes >= offset + count:
            // A server that ignores Range sends the whole object.
            return Array(r.body.readableBytesView.dropFirst(offset).prefix(count))
        case 200, 206:
            throw .invalidResponse(
                operation: "GET", key: key,
                detail: "asked for \(count) bytes at \(offset), got \(r.body.readableBytes) (HTTP \(r.status))")
        default:
            throw failure("GET", key: key, r)
        }
    }

    /// Size, ETag and metadata of an object; nil if there is none.
    public func head(key: String) throws(S3ClientError) -> S3ObjectInfo? {
        let r = try perform("HEAD", key: key, method: .HEAD)
        if r.status == 404 { return nil }
        guard r.status == 200 else { throw failure("HEAD", key: key, r) }
        guard let size = r.headers.first(name: "content-length").flatMap({ Int($0) }) else {
            throw .invalidResponse(operation: "HEAD", key: key, detail: "no Content-Length")
        }
        var meta: [String: String] = [:]
        for (name, value) in r.headers where name.lowercased().hasPrefix("x-amz-meta-") {
            meta[String(name.lowercased().dropFirst("x-amz-meta-".count))] = value
        }
        return S3ObjectInfo(key: key, size: size, etag: r.headers.first(name: "etag") ?? "", metadata: meta)
    }

    /// Deletes an object (succeeds when there is none).
    public func delete(key: String) throws(S3ClientError) {
        let r = try perform("DELETE", key: key, method: .DELETE)
        guard r.status == 204 || r.status == 200 || r.status == 404 else { throw failure("DELETE", key: key, r) }
    }

    /// Every object whose key starts with `prefix` (ListObjectsV2, all pages of up to
    /// `pageSize` keys, the server's default when nil), in key order.
    public func list(prefix: String, pageSize: Int? = nil) throws(S3ClientError) -> [S3ObjectInfo] {
        var out: [S3ObjectInfo] = []
        var token: String? = nil
        repeat {
            var query = [("list-type", "2"), ("prefix", prefix)]
            if let token { query.append(("continuation-token", token)) }
            if let pageSize { query.append(("max-keys", String(pageSize))) }
            let r = try perform("ListObjectsV2", key: "", label: prefix, method: .GET, query: query, maxBody: 64 << 20)
            guard r.status == 200 else { throw failure("ListObjectsV2", key: prefix, r) }
            let page = try ListObjectsPage.parse(String(decoding: r.body.readableBytesView, as: UTF8.self), prefix: prefix)
            out += page.objects
            token = page.nextToken
        } while token != nil
        return out
    }

    /// Checks that the bucket answers signed requests (one ListObjectsV2 page of one key).
    public func probe(prefix: String) throws(S3ClientError) {
        let query = [("list-type", "2"), ("prefix", prefix), ("max-keys", "1")]
        let r = try perform("ListObjectsV2", key: "", label: prefix, method: .GET, query: query, maxBody: 1 << 20)
        guard r.status == 200 else { throw failure("ListObjectsV2", key: prefix, r) }
    }

    // MARK: Requests

    /// Signs and sends one request, retrying what may succeed on another attempt.
    /// `key` is the object's key ("" for the bucket itself); `label` names it in errors.
    func perform(
        _ operation: String, key: String, label: String? = nil, method: HTTPMethod, query: [(String, String)] = [],
        headers: [(String, String)] = [], body: [UInt8]? = nil, maxBody: Int = 1 << 20
    ) throws(S3ClientError) -> S3HTTPResponse {
        let payloadHash = body.map { SHA256.hash($0).hex } ?? SigV4Signing.emptySHA256
        let buffer = body.map { ByteBuffer(bytes: $0) }
        let key = key
        let label = label ?? key
        var attempt = 0
        while true {
            attempt += 1
            let failed: S3ClientError
            do {
                let head = signedHead(
                    method: method, key: key, query: query, headers: headers, payloadHash: payloadHash,
                    contentLength: body?.count)
                let r = try pool.exchange(
                    head: head, body: buffer, maxBody: maxBody, timeout: .seconds(Int64(config.requestTimeoutSeconds)))
                guard r.status >= 500 || r.status == 429 else { return r }
                failed = failure(operation, key: label, r)
            } catch let e as ExchangeFailure {
                switch e {
                case .timedOut: failed = .timeout(operation: operation, key: label, seconds: config.requestTimeoutSeconds)
                case .bodyTooLarge(let n):
                    throw .invalidResponse(operation: operation, key: label, detail: "body larger than \(n) bytes")
                case .closed, .busy: failed = .transport(operation: operation, key: label, detail: "connection closed")
                }
            } catch {
                failed = .transport(operation: operation, key: label, detail: "\(error)")
            }
            guard failed.isRetryable, attempt < config.maxAttempts else { throw failed }
            let base = config.retryBaseMillis << min(attempt - 1, 6)
            usleep(UInt32(min(base + Int.random(in: 0...max(base / 2, 1)), 10_000) * 1000))
        }
    }

    /// The request head with `Authorization` (SigV4, header form).
    func signedHead(
        method: HTTPMethod, key: String, query: [(String, String)], headers: [(String, String)], payloadHash: String,
        contentLength: Int?
    ) -> HTTPRequestHead {
        let (amzDate, date) = Self.timestamps()
        let path = "/" + config.bucket + (key.isEmpty ? "" : "/" + key)
        let canonicalQuery = SigV4Signing.canonicalQuery(query)
        var all: [(String, String)] = [
            ("host", hostHeader), ("x-amz-date", amzDate), ("x-amz-content-sha256", payloadHash),
        ]
        if let contentLength { all.append(("content-length", String(contentLength))) }
        all += headers
        all.sort { $0.0 < $1.0 }
        let names = all.map(\.0)
        let scope = SigV4Signing.scope(date: date, region: config.region, service: "s3")
        let canonical = SigV4Signing.canonicalRequest(
            method: method.rawValue, decodedPath: path, canonicalQuery: canonicalQuery, signedHeaders: names,
            headers: { name in all.filter { $0.0 == name }.map(\.1) }, payloadHash: payloadHash)
        let key = SigV4Signing.signingKey(secret: config.secretAccessKey, date: date, region: config.region, service: "s3")
        let signature = SigV4Signing.sign(
            key: key, SigV4Signing.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonical))
        var h = HTTPHeaders()
        for (n, v) in all { h.add(name: n, value: v) }
        h.add(
            name: "authorization",
            value: "\(SigV4Signing.algorithm) Credential=\(config.accessKeyID)/\(scope), "
                + "SignedHeaders=\(names.joined(separator: ";")), Signature=\(signature.hex)")
        let uri = URIEncoding.encode(path, keepSlash: true) + (canonicalQuery.isEmpty ? "" : "?" + canonicalQuery)
        return HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: h)
    }

    /// `yyyyMMdd'T'HHmmss'Z'` and `yyyyMMdd` now, in UTC.
    static func timestamps() -> (String, String) {
        var t = time(nil)
        var tm = tm()
        gmtime_r(&t, &tm)
        func two(_ v: Int32) -> String { v < 10 ? "0\(v)" : "\(v)" }
        let date = "\(tm.tm_year + 1900)\(two(tm.tm_mon + 1))\(two(tm.tm_mday))"
        return (date + "T\(two(tm.tm_hour))\(two(tm.tm_min))\(two(tm.tm_sec))Z", date)
    }

    func errorCode(_ r: S3HTTPResponse) -> String {
        ListObjectsPage.value(of: "Code", in: String(decoding: r.body.readableBytesView, as: UTF8.self)) ?? ""
    }

    func failure(_ operation: String, key: String, _ r: S3HTTPResponse) -> S3ClientError {
        let text = String(decoding: r.body.readableBytesView, as: UTF8.self)
        return .http(
            operation: operation, key: key, status: r.status,
            code: ListObjectsPage.value(of: "Code", in: text) ?? "",
            message: ListObjectsPage.value(of: "Message", in: text) ?? "")
    }
}
