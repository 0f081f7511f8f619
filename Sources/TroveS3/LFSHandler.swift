import Foundation
import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore

/// The git-lfs HTTP API on the S3 listener (docs/GIT-LFS.md), for clients without
/// `trove lfs-agent`: `lfs.url = http://HOST:PORT/_lfs/REPO`. The batch endpoint answers with the
/// basic transfer (hrefs back to this listener, https:// when it serves TLS); objects are the bucket keys `objects/OID` of
/// `lfs-REPO`, the same the agent writes. HTTP Basic auth with a token (`NAME:SECRET`, or the
/// token's S3 key pair), none in open mode; token scopes and prefixes apply to `BUCKET/KEY`.
extension S3Handler {
    /// Serves one request under `/_lfs/`; false when the connection must close.
    func serveLFS(_ head: HTTPRequestHead, _ conn: S3Connection, requestID: String) async throws -> Bool {
        do {
            let r = try S3Request(head: head, requestID: requestID)
            let principal = try lfsPrincipal(r)
            try await routeLFS(r, principal, conn)
            if !conn.bodyDone { try await conn.drainBody() }
            return head.isKeepAlive && conn.bodyDone
        } catch let e as LFSError {
            return try await lfsFailure(head, conn, e)
        } catch let e as S3Error {
            return try await lfsFailure(head, conn, LFSError(e.status, e.message, close: e.close))
        } catch let e as BucketError {
            let s = S3Error.from(e)
            return try await lfsFailure(head, conn, LFSError(s.status, s.message))
        } catch let e as StoreError {
            let s = S3Error.from(e)
            return try await lfsFailure(head, conn, LFSError(s.status, s.message))
        } catch is CancellationError {
            return false
        } catch  where conn.broken {
            return false
        } catch let e as IOError {
            throw e
        } catch let e as ChannelError {
            throw e
        } catch {
            return try await lfsFailure(head, conn, LFSError(.internalServerError, "\(error)"))
        }
    }

    private func lfsFailure(_ head: HTTPRequestHead, _ conn: S3Connection, _ e: LFSError) async throws -> Bool
    {
        if conn.broken { return false }
        logger.debug(
            "git-lfs request refused", metadata: ["request": "\(head.method) \(head.uri)", "error": "\(e)"])
        let close = e.close || !conn.bodyDone || !head.isKeepAlive
        var h = HTTPHeaders()
        h.add(name: "content-type", value: LFSJSON.contentType)
        if e.status == .unauthorized { h.add(name: "lfs-authenticate", value: "Basic realm=\"trove\"") }
        if close { h.add(name: "connection", value: "close") }
        let body = LFSJSON.encode(["message": e.message])
        try await conn.respond(
            e.status, headers: h, body: head.method == .HEAD ? nil : ByteBuffer(bytes: body))
        return !close
    }

    /// HTTP Basic credentials → the token's principal; open mode accepts anyone.
    func lfsPrincipal(_ r: S3Request) throws(LFSError) -> Principal {
        if config.openAccess { return .open }
        let denied = LFSError(.unauthorized, "credentials required: HTTP Basic with a token (NAME:SECRET)")
        guard let header = r.header("authorization"), header.lowercased().hasPrefix("basic "),
            let decoded = Data(
                base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: decoded, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { throw denied }
        let name = String(text[..<colon])
        let secret = String(text[text.index(after: colon)...])
        guard let cred = config.credentials.first(where: { $0.accessKeyId == name }) else {
            throw LFSError(.unauthorized, "the token '\(name)' is not configured, or its secret is wrong")
        }
        let derived = HMACSHA256.mac(
            key: AuthProof.key(secret: secret).bytes, message: Array("trove-s3".utf8))
        let s3Secret = Digest(hex: secret).map { SigV4.matches($0, cred.secretAccessKey) } ?? false
        guard SigV4.matches(derived, cred.secretAccessKey) || s3Secret else {
            throw LFSError(.unauthorized, "the token '\(name)' is not configured, or its secret is wrong")
        }
        return Principal(name: name, access: cred.access, prefixes: cred.prefixes)
    }

    private func routeLFS(_ r: S3Request, _ p: Principal, _ conn: S3Connection) async throws {
        switch (r.method, LFSRoute(path: r.rawPath)) {
        case (.POST, .batch(let repo)): try await lfsBatch(r, p, repo, conn)
        case (.POST, .verify(let repo)): try await lfsVerify(r, p, repo, conn)
        case (.PUT, .object(let repo, let oid)): try await lfsPut(r, p, repo, oid, conn)
        case (.GET, .object(let repo, let oid)):
            do {
                try await getObject(r, p, "lfs-" + repo, LFSNames.key(oid: oid), head: false, conn)
            } catch let e as BucketError {
                if case .noSuchBucket = e { throw LFSError(.notFound, "object \(oid) does not exist") }
                if case .noSuchKey = e { throw LFSError(.notFound, "object \(oid) does not exist") }
                throw e
            }
        case (_, .locks): throw LFSError(.notFound, "file locking is not supported")
        case (_, .unknown(let why)): throw LFSError(.notFound, why)
        default: throw LFSError(.methodNotAllowed, "\(r.method) is not allowed here")
        }
    }

    /// `POST …/objects/batch`: per object, an upload or download action, nothing when an upload
    /// is already stored, or a per-object error (404 missing, 403 outside the token's prefixes).
    private func lfsBatch(_ r: S3Request, _ p: Principal, _ repo: String, _ conn: S3Connection) async throws {
        if let n = r.contentLength, n > UInt64(LFSBatchRequest.maxBody) {
            throw LFSError(
                .payloadTooLarge, "a batch request is at most \(LFSBatchRequest.maxBody) bytes", close: true)
        }
        let body = try await conn.readSmallBody(limit: LFSBatchRequest.maxBody)
        let batch = try LFSBatchRequest(json: Array(body.readableBytesView))
        guard let host = r.header("host"), Self.isHostHeader(host) else {
            throw LFSError(.badRequest, "a Host header (HOST:PORT) is required to build the transfer URLs")
        }
        let bucket = "lfs-" + repo
        let scheme = config.tls == nil ? "http" : "https"
        let base = "\(scheme)://\(host)\(LFSRoute.prefix)\(repo)/objects/"
        let needed: S3Access = batch.operation == .upload ? .write : .read
        guard p.access >= needed else {
            throw LFSError(
                .forbidden, "the token '\(p.name ?? "-")' has \(p.access) scope; this needs \(needed)")
        }
        let store = self.store
        let keys = batch.objects.map { LFSNames.key(oid: $0.oid) }
        let existing = try await work { () -> [String: BucketObject] in
            guard try store.bucket(bucket) != nil else { return [:] }
            var out: [String: BucketObject] = [:]
            for k in keys { if let o = try store.bucketObject(bucket, k) { out[k] = o } }
            return out
        }
        let auth = r.header("authorization")
        var results: [[String: Any]] = []
        for o in batch.objects {
            let key = LFSNames.key(oid: o.oid)
            var entry: [String: Any] = ["oid": o.oid, "size": o.size, "authenticated": true]
            let stored = existing[key].flatMap { $0.blob.hex == o.oid ? $0 : nil }
            if !p.covers(bucket + "/" + key) {
                entry["error"] = [
                    "code": 403, "message": "the token's prefixes do not cover \(bucket)/\(key)",
                ]
            } else if batch.operation == .download {
                if let stored {
                    entry["size"] = stored.size
                    entry["actions"] = ["download": LFSJSON.action(base + o.oid, authorization: auth)]
                } else {
                    entry["error"] = ["code": 404, "message": "object \(o.oid) does not exist"]
                }
            } else if stored == nil {
                entry["actions"] = [
                    "upload": LFSJSON.action(base + o.oid, authorization: auth),
                    "verify": LFSJSON.action(base + "verify", authorization: auth),
                ]
            }
            results.append(entry)
        }
        var h = HTTPHeaders()
        h.add(name: "content-type", value: LFSJSON.contentType)
        let answer = LFSJSON.encode(["transfer": "basic", "hash_algo": "sha256", "objects": results])
        try await conn.respond(.ok, headers: h, body: ByteBuffer(bytes: answer))
    }

    /// `PUT …/objects/OID`: the body is staged and checked against the oid (its SHA-256) before
    /// anything is stored, then chunked into the store and bound to `objects/OID`.
    private func lfsPut(_ r: S3Request, _ p: Principal, _ repo: String, _ oid: String, _ conn: S3Connection)
        async throws
    {
        let bucket = "lfs-" + repo
        let key = LFSNames.key(oid: oid)
        try require(p, .write, bucket + "/" + key)
        // The oid is the body's SHA-256: BodySink refuses a body that does not hash to it.
        let (blob, _) = try await receiveBlob(
            r, AuthResult(principal: p, payloadHash: oid, chunkSigning: nil), conn)
        let store = self.store
        _ = try await work {
            try store.bindBucketKey(bucket, key: key, blob: blob.digest, createBucket: true)
        }
        logger.info(
            "git-lfs object stored", metadata: ["key": "\(bucket)/\(key)", "newBytes": "\(blob.newBytes)"])
        try await conn.respond(.ok)
    }

    /// `POST …/objects/verify`: 200 when the object is stored with the size the client sent.
    private func lfsVerify(_ r: S3Request, _ p: Principal, _ repo: String, _ conn: S3Connection) async throws
    {
        let body = try await conn.readSmallBody(limit: 4096)
        let o = try LFSBatchRequest.verifyObject(json: Array(body.readableBytesView))
        let bucket = "lfs-" + repo
        let key = LFSNames.key(oid: o.oid)
        try require(p, .read, bucket + "/" + key)
        let store = self.store
        let stored = try await work {
            try store.bucket(bucket) == nil ? nil : store.bucketObject(bucket, key)
        }
        guard let stored, stored.blob.hex == o.oid, stored.size == o.size else {
            throw LFSError(.notFound, "object \(o.oid) (\(o.size) bytes) is not stored")
        }
        var h = HTTPHeaders()
        h.add(name: "content-type", value: LFSJSON.contentType)
        try await conn.respond(.ok, headers: h, body: ByteBuffer(bytes: LFSJSON.encode([String: Any]())))
    }

    /// A Host header fit to put in a URL: letters, digits, `.-:[]`, at most 255 bytes.
    static func isHostHeader(_ host: String) -> Bool {
        !host.isEmpty && host.utf8.count <= 255
            && host.utf8.allSatisfy {
                ($0 >= 0x30 && $0 <= 0x3A) || ($0 >= 0x41 && $0 <= 0x5A) || ($0 >= 0x61 && $0 <= 0x7A)
                    || $0 == 0x2E || $0 == 0x2D || $0 == 0x5B || $0 == 0x5D
            }
    }
}
