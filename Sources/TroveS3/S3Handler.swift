import Logging
import NIOCore
import NIOHTTP1
import NIOPosix
import TroveCore
import TroveStore
import TroveWeb

/// Serves S3 requests: authentication, routing to the operations (S3Handler+*.swift), errors as
/// S3 XML documents.
final class S3Handler: Sendable {
    let store: Store
    let config: S3Config
    let pool: NIOThreadPool
    let logger: Logger
    let auth: S3Authenticator
    /// The web view under `/_ui/` (S3Handler+UI.swift).
    let ui: WebUI
    /// Memory for bodies staged in memory (`BodySink`).
    let staging = StagingPool()
    /// Multipart uploads completed lately, for repeated completions.
    let completed = CompletedUploads()
    /// Recipes of blobs read lately (ranged GETs of one object).
    let recipes = RecipeCache()

    init(store: Store, config: S3Config, pool: NIOThreadPool, logger: Logger) {
        self.store = store
        self.config = config
        self.pool = pool
        self.logger = logger
        auth = S3Authenticator(config: config)
        ui = WebUI(store: store)
    }

    /// Serves one connection until the client closes it or a request leaves it unusable.
    func serve(_ channel: NIOAsyncChannel<HTTPServerRequestPart, HTTPServerResponsePart>) async {
        do {
            try await channel.executeThenClose { inbound, outbound in
                let conn = S3Connection(inbound: inbound, outbound: outbound)
                while let head = try await conn.nextHead() {
                    let keep = try await handle(head, conn)
                    if !keep { break }
                }
            }
        } catch {
            logger.debug("S3 connection ended", metadata: ["error": "\(error)"])
        }
    }

    /// Handles one request; false when the connection must close.
    private func handle(_ head: HTTPRequestHead, _ conn: S3Connection) async throws -> Bool {
        let requestID = hexString(SecureRandom.bytes(8)).uppercased()
        // Other APIs on this listener, by path prefix, before S3 parsing.
        if head.uri.hasPrefix(LFSRoute.prefix) { return try await serveLFS(head, conn, requestID: requestID) }
        if Self.isUIPath(head.uri) { return try await serveUI(head, conn) }
        var failure: S3Error
        do {
            let request = try S3Request(head: head, requestID: requestID)
            let result = try auth.authenticate(request, now: Clock.nowSeconds())
            try await route(request, result, conn)
            if !conn.bodyDone { try await conn.drainBody() }
            return head.isKeepAlive && conn.bodyDone
        } catch let e as S3Error {
            failure = e
        } catch let e as BucketError {
            failure = S3Error.from(e)
        } catch let e as StoreError {
            failure = S3Error.from(e)
        } catch is CancellationError {
            return false
        } catch where conn.broken {
            // A parse error in the body: NIO's error handler answered; nothing more to write.
            logger.debug("S3 request ended by a protocol error", metadata: ["request": "\(head.method) \(head.uri)", "error": "\(error)"])
            return false
        } catch let e as IOError {
            throw e
        } catch let e as ChannelError {
            throw e
        } catch {
            failure = S3Error.internalError("\(error)")
        }
        if conn.broken { return false }
        if failure.status.code >= 500 {
            logger.error("S3 request failed", metadata: ["request": "\(head.method) \(head.uri)", "error": "\(failure)"])
        } else {
            logger.debug("S3 request refused", metadata: ["request": "\(head.method) \(head.uri)", "error": "\(failure)"])
        }
        let close = failure.close || !conn.bodyDone || !head.isKeepAlive
        var headers = HTTPHeaders()
        headers.add(name: "x-amz-request-id", value: requestID)
        if close { headers.add(name: "connection", value: "close") }
        if head.method == .HEAD {
            try await conn.respond(failure.status, headers: headers)
        } else {
            headers.add(name: "content-type", value: "application/xml")
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? "/"
            try await conn.respond(
                failure.status, headers: headers, body: ByteBuffer(string: failure.xml(resource: path, requestID: requestID)))
        }
        return !close
    }

    private func route(_ r: S3Request, _ a: AuthResult, _ conn: S3Connection) async throws {
        guard let bucket = r.bucket else {
            guard r.method == .GET else { throw S3Error(.methodNotAllowed, "MethodNotAllowed", "only GET (ListBuckets) is allowed on /") }
            return try await listBuckets(r, a.principal, conn)
        }
        if bucket == Self.versionsBucket {
            switch (r.method, r.key) {
            case (.GET, let key?): return try await getVersionObject(r, a.principal, key, head: false, conn)
            case (.HEAD, let key?): return try await getVersionObject(r, a.principal, key, head: true, conn)
            case (.GET, nil) where !r.has("location") && !r.has("uploads"):
                return try await listVersionObjects(r, a.principal, v2: r.query["list-type"] == "2", conn)
            case (.HEAD, nil):
                try await conn.drainBody()
                return try await emptyResponse(conn, r)
            default:
                throw S3Error.accessDenied("the bucket 'versions' is the read-only view of versions; writes are refused")
            }
        }
        guard let key = r.key else {
            switch r.method {
            case .GET:
                if r.has("location") { return try await bucketLocation(r, a.principal, bucket, conn) }
                if r.has("uploads") { return try await listUploads(r, a.principal, bucket, conn) }
                if r.has("versioning") || r.has("acl") || r.has("policy") || r.has("lifecycle") || r.has("cors") {
                    throw S3Error.notImplemented("bucket subresources (versioning, ACLs, policies, lifecycle, CORS) are not supported")
                }
                return try await listObjects(r, a.principal, bucket, v2: r.query["list-type"] == "2", conn)
            case .PUT: return try await createBucket(r, a.principal, bucket, conn)
            case .HEAD: return try await headBucket(r, a.principal, bucket, conn)
            case .DELETE: return try await deleteBucket(r, a.principal, bucket, conn)
            case .POST:
                if r.has("delete") { return try await deleteObjects(r, a.principal, bucket, conn) }
                throw S3Error.notImplemented("this bucket POST is not supported")
            default: throw S3Error(.methodNotAllowed, "MethodNotAllowed", "\(r.method) is not allowed on a bucket")
            }
        }
        switch r.method {
        case .PUT:
            if let upload = r.query["uploadId"] { return try await uploadPart(r, a, bucket, key, upload, conn) }
            if r.header("x-amz-copy-source") != nil { return try await copyObject(r, a.principal, bucket, key, conn) }
            return try await putObject(r, a, bucket, key, conn)
        case .GET:
            if let upload = r.query["uploadId"] { return try await listParts(r, a.principal, bucket, key, upload, conn) }
            return try await getObject(r, a.principal, bucket, key, head: false, conn)
        case .HEAD: return try await getObject(r, a.principal, bucket, key, head: true, conn)
        case .DELETE:
            if let upload = r.query["uploadId"] { return try await abortUpload(r, a.principal, bucket, key, upload, conn) }
            return try await deleteObject(r, a.principal, bucket, key, conn)
        case .POST:
            if r.has("uploads") { return try await createUpload(r, a.principal, bucket, key, conn) }
            if let upload = r.query["uploadId"] { return try await completeUpload(r, a.principal, bucket, key, upload, conn) }
            throw S3Error.notImplemented("this object POST is not supported")
        default: throw S3Error(.methodNotAllowed, "MethodNotAllowed", "\(r.method) is not allowed on an object")
        }
    }

    // MARK: - Helpers

    /// Refuses unless the principal has `access` on `name` ("BUCKET" or "BUCKET/KEY").
    func require(_ p: Principal, _ access: S3Access, _ name: String) throws(S3Error) {
        guard p.access >= access else {
            throw .accessDenied("the token '\(p.name ?? "-")' has \(p.access) scope; this needs \(access)")
        }
        guard p.covers(name) else {
            throw .accessDenied("the token '\(p.name ?? "-")' is limited to its prefixes; '\(name)' is outside them")
        }
    }

    /// Runs blocking store work on the thread pool.
    func work<T: Sendable>(_ body: @escaping @Sendable () throws -> T) async throws -> T {
        let activity = ConnectionActivity.current
        activity?.busy.add(1, ordering: .relaxed)
        defer { activity?.busy.subtract(1, ordering: .relaxed) }
        return try await pool.runIfActive(body)
    }

    func xmlResponse(_ conn: S3Connection, _ r: S3Request, _ xml: String, status: HTTPResponseStatus = .ok) async throws {
        var h = HTTPHeaders()
        h.add(name: "content-type", value: "application/xml")
        h.add(name: "x-amz-request-id", value: r.requestID)
        try await conn.respond(status, headers: h, body: ByteBuffer(string: xml))
    }

    func emptyResponse(_ conn: S3Connection, _ r: S3Request, status: HTTPResponseStatus = .ok, headers: HTTPHeaders = [:])
        async throws
    {
        var h = headers
        h.add(name: "x-amz-request-id", value: r.requestID)
        try await conn.respond(status, headers: h)
    }
}
