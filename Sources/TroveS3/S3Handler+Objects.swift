import Foundation
import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore

/// Object operations: PUT (streamed into the store), GET/HEAD (streamed out, ranges,
/// conditions), DELETE, DeleteObjects, CopyObject.
extension S3Handler {
    /// Reads the body into checked staging (memory or a file, see `BodySink`), then stores it
    /// as a blob. Returns the blob and the body's MD5.
    func receiveBlob(_ r: S3Request, _ a: AuthResult, _ conn: S3Connection) async throws -> (IngestedBlob, [UInt8]) {
        let chunked =
            a.payloadHash.hasPrefix("STREAMING-")
            || (r.header("content-encoding")?.lowercased().contains("aws-chunked") ?? false)
        let decoded = r.header("x-amz-decoded-content-length").flatMap { UInt64($0) }
        guard let length = chunked ? decoded ?? r.contentLength : r.contentLength ?? (r.head.headers.contains(name: "transfer-encoding") ? 0 : nil)
        else {
            throw S3Error(.lengthRequired, "MissingContentLength", "a PUT needs a Content-Length header", close: true)
        }
        guard length <= config.maxObjectSize else {
            throw S3Error(
                .badRequest, "EntityTooLarge",
                "the body (\(length) bytes) is larger than the largest object or part allowed (\(config.maxObjectSize) bytes); use a multipart upload",
                close: true)
        }
        var checksum: (PayloadChecksum.Algorithm, String?)?
        for alg in PayloadChecksum.Algorithm.allCases {
            if let v = r.header(alg.header) { checksum = (alg, v) }
        }
        if checksum == nil, let t = r.header("x-amz-trailer")?.lowercased().trimmingCharacters(in: .whitespaces) {
            guard let alg = PayloadChecksum.Algorithm.allCases.first(where: { $0.header == t }) else {
                throw S3Error.invalidArgument("x-amz-trailer '\(t)' is not a supported checksum")
            }
            checksum = (alg, nil)
        }
        let sha: Digest? = a.payloadHash.count == 64 ? Digest(hex: a.payloadHash) : nil
        if !chunked && sha == nil && a.payloadHash != "UNSIGNED-PAYLOAD" {
            throw S3Error.invalidArgument("x-amz-content-sha256 must be a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- mode")
        }
        let expect = BodySink.Expectations(
            contentMD5: r.header("content-md5"), checksum: checksum, chunked: chunked,
            signing: a.chunkSigning, decodedLength: chunked ? decoded : nil, limit: config.maxObjectSize)
        let sink = try BodySink(path: store.bucketStagingPath(r.requestID), expect: expect, length: length, pool: staging)
        defer { sink.discard() }
        // Parts go to the sink in batches of ~1 MiB (no copy: the buffers themselves), one batch
        // on a worker while the next is read.
        var pending: [ByteBuffer] = []
        var pendingBytes = 0
        var inFlight: Task<Void, Error>?
        func hand(_ batch: [ByteBuffer]) async throws {
            try await inFlight?.value
            inFlight = Task { try await work { for b in batch { try sink.write(b) } } }
        }
        do {
            while let part = try await conn.nextBodyPart() {
                pendingBytes += part.readableBytes
                pending.append(part)
                if pendingBytes >= 1 << 20 {
                    try await hand(pending)
                    pending = []
                    pendingBytes = 0
                }
            }
            try await hand(pending)
            try await inFlight?.value
        } catch {
            _ = try? await inFlight?.value  // the sink is discarded only once no write uses it
            throw error
        }
        let store = self.store
        let finished = try await work { try sink.finish() }
        do {
            let blob = try await work { try sink.ingest(into: store, expecting: sha) }
            return (blob, finished.md5)
        } catch StoreError.blobMismatch {
            throw S3Error(
                .badRequest, "XAmzContentSHA256Mismatch",
                "the provided x-amz-content-sha256 does not match what was computed; nothing was stored")
        }
    }

    /// The write condition of a PUT (`If-None-Match: *`, `If-Match: ETAG`).
    func writeCondition(_ r: S3Request) throws -> BucketWriteCondition {
        if let n = r.header("if-none-match") {
            guard n.trimmingCharacters(in: .whitespaces) == "*" else {
                throw S3Error.notImplemented("If-None-Match on PUT supports only '*'")
            }
            return .absent
        }
        if let m = r.header("if-match") { return .etag(Self.unquote(m)) }
        return .none
    }

    static func unquote(_ s: String) -> String {
        var t = s.trimmingCharacters(in: .whitespaces)
        if t.hasPrefix("W/") { t = String(t.dropFirst(2)) }
        if t.hasPrefix("\""), t.hasSuffix("\""), t.count >= 2 { t = String(t.dropFirst().dropLast()) }
        return t
    }

    func putObject(_ r: S3Request, _ a: AuthResult, _ bucket: String, _ key: String, _ conn: S3Connection) async throws {
        try require(a.principal, .write, bucket + "/" + key)
        try Self.validateKey(key)
        let condition = try writeCondition(r)
        let store = self.store
        // Refuse early (before the body) when the bucket is missing or the condition fails.
        let current = try await work { try store.bucketObject(bucket, key) }
        if case .absent = condition, current != nil {
            throw BucketError.preconditionFailed("\(key) exists (If-None-Match: *)")
        }
        let (blob, md5) = try await receiveBlob(r, a, conn)
        let object = BucketObject(
            key: key, blob: blob.digest, size: blob.size, etag: hexString(md5),
            contentType: r.header("content-type"), metadata: r.userMetadata)
        try await work { try store.putBucketObject(bucket, object, condition: condition) }
        var h = HTTPHeaders()
        h.add(name: "etag", value: "\"\(object.etag)\"")
        try await emptyResponse(conn, r, headers: h)
    }

    static func validateKey(_ key: String) throws(S3Error) {
        guard key.utf8.count <= 1024 else { throw S3Error(.badRequest, "KeyTooLongError", "keys are at most 1024 bytes") }
        guard !key.unicodeScalars.contains(where: { $0.value == 0 || $0.value == 0x10FFFF }) else {
            throw S3Error.invalidArgument("keys may not contain NUL or U+10FFFF")
        }
    }

    func getObject(
        _ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, head: Bool, _ conn: S3Connection
    ) async throws {
        try require(p, .read, bucket + "/" + key)
        try await conn.drainBody()
        let store = self.store
        guard let o = try await work({ try store.bucketObject(bucket, key) }) else {
            throw BucketError.noSuchKey(bucket: bucket, key: key)
        }
        var h = HTTPHeaders()
        h.add(name: "x-amz-request-id", value: r.requestID)
        h.add(name: "etag", value: "\"\(o.etag)\"")
        h.add(name: "last-modified", value: HTTPDate.rfc7231(millis: o.mtime))
        h.add(name: "accept-ranges", value: "bytes")
        // Conditions (RFC 7232 order): If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since.
        let mtime = o.mtime / 1000
        if let m = r.header("if-match"), !Self.etagList(m).contains(where: { $0 == "*" || $0 == o.etag }) {
            throw S3Error(.preconditionFailed, "PreconditionFailed", "the ETag is not one If-Match names")
        }
        if r.header("if-match") == nil, let s = r.header("if-unmodified-since").flatMap(HTTPDate.parseHTTP), mtime > s {
            throw S3Error(.preconditionFailed, "PreconditionFailed", "the object was modified since If-Unmodified-Since")
        }
        if let n = r.header("if-none-match") {
            if Self.etagList(n).contains(where: { $0 == "*" || $0 == o.etag }) {
                return try await conn.respond(.notModified, headers: h)
            }
        } else if let s = r.header("if-modified-since").flatMap(HTTPDate.parseHTTP), mtime <= s {
            return try await conn.respond(.notModified, headers: h)
        }
        h.add(name: "content-type", value: o.contentType ?? "binary/octet-stream")
        for (k, v) in o.metadata.sorted(by: { $0.key < $1.key }) { h.add(name: "x-amz-meta-" + k, value: v) }
        var start: UInt64 = 0
        var end = o.size  // exclusive
        var status = HTTPResponseStatus.ok
        if let range = r.header("range"), let (s, e) = try Self.parseRange(range, size: o.size) {
            start = s
            end = e
            status = .partialContent
            h.add(name: "content-range", value: "bytes \(s)-\(e - 1)/\(o.size)")
        }
        h.add(name: "content-length", value: String(end - start))
        if head || start == end {
            return try await conn.respond(status, headers: h, contentLength: end - start)
        }
        try await streamBlob(o.blob, key: key, status, headers: h, start: start, end: end, conn)
    }

    /// Responds with `status`, `headers` and bytes `start..<end` of `blob` (the object `key`).
    func streamBlob(
        _ blob: Digest, key: String, _ status: HTTPResponseStatus, headers: HTTPHeaders, start: UInt64, end: UInt64,
        _ conn: S3Connection
    ) async throws {
        let store = self.store
        let recipes = self.recipes
        guard let recipe = try await work({ try recipes.recipe(blob) { try store.recipe(forBlob: blob) } }) else {
            throw S3Error.internalError("the blob of \(key) has no recipe; run `trove scrub`")
        }
        try await conn.startResponse(status, headers: headers)
        try await streamRange(recipe, start: start, end: end, conn)
        try await conn.end()
    }

    /// Streams bytes `start..<end` of a blob (``ObjectStream``): the next batch is read on a
    /// worker while the current one is written.
    func streamRange(_ recipe: IndexedRecipe, start: UInt64, end: UInt64, _ conn: S3Connection) async throws {
        let store = self.store
        let batches = ObjectStream.batches(recipe, start: start, end: end)
        func read(_ i: Int) -> Task<ByteBuffer, Error>? {
            guard i < batches.count else { return nil }
            let pieces = batches[i]
            return Task { try await work { try ObjectStream.read(pieces, from: store) } }
        }
        var next = read(0)
        var i = 0
        while let current = next {
            let buffer = try await current.value
            i += 1
            next = read(i)
            try await conn.writeBody(buffer)
        }
    }

    static func etagList(_ header: String) -> [String] {
        header.split(separator: ",").map { unquote(String($0)) }
    }

    /// `bytes=A-B`, `bytes=A-`, `bytes=-N` → `start..<end`; nil (whole object) for forms S3
    /// ignores (several ranges, other units); `InvalidRange` when unsatisfiable.
    static func parseRange(_ text: String, size: UInt64) throws(S3Error) -> (UInt64, UInt64)? {
        let t = text.trimmingCharacters(in: .whitespaces)
        guard t.hasPrefix("bytes="), !t.contains(",") else { return nil }
        let spec = t.dropFirst(6)
        guard let dash = spec.firstIndex(of: "-") else { return nil }
        let a = spec[..<dash].trimmingSpaces
        let b = spec[spec.index(after: dash)...].trimmingSpaces
        let invalid = S3Error(.rangeNotSatisfiable, "InvalidRange", "the requested range is not satisfiable (object size \(size))")
        if a.isEmpty {
            guard let n = UInt64(b) else { return nil }
            guard n > 0, size > 0 else { throw invalid }
            return (size - min(n, size), size)
        }
        guard let s = UInt64(a) else { return nil }
        guard s < size else { throw invalid }
        if b.isEmpty { return (s, size) }
        guard let e = UInt64(b), e >= s else { return nil }
        return (s, min(e + 1, size))
    }

    func deleteObject(_ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ conn: S3Connection) async throws {
        try require(p, .write, bucket + "/" + key)
        try await conn.drainBody()
        let store = self.store
        _ = try await work { try store.deleteBucketObjects(bucket, keys: [key]) }
        try await emptyResponse(conn, r, status: .noContent)
    }

    /// DeleteObjects: at most 1000 keys in a body of at most 2 MiB (else refused whole).
    func deleteObjects(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        guard p.access >= .write else { throw S3Error.accessDenied("deleting needs write scope") }
        let body = try await conn.readSmallBody(limit: 2 << 20)
        let (requested, quiet) = try S3Decoders.deleteKeys(Array(body.readableBytesView))
        var allowed: [String] = []
        var errors: [(String, S3Error)] = []
        for k in requested {
            if p.covers(bucket + "/" + k) { allowed.append(k) } else {
                errors.append((k, .accessDenied("outside the token's prefixes")))
            }
        }
        let store = self.store
        let keys = allowed
        _ = try await work { try store.deleteBucketObjects(bucket, keys: keys) }
        var x = XMLWriter(root: "DeleteResult")
        if !quiet {
            for k in allowed {
                x.open("Deleted")
                x.element("Key", k)
                x.close("Deleted")
            }
        }
        for (k, e) in errors {
            x.open("Error")
            x.element("Key", k)
            x.element("Code", e.code)
            x.element("Message", e.message)
            x.close("Error")
        }
        x.close("DeleteResult")
        try await xmlResponse(conn, r, x.text)
    }

    /// CopyObject: a catalog operation, no bytes move.
    func copyObject(_ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ conn: S3Connection) async throws {
        try require(p, .write, bucket + "/" + key)
        try Self.validateKey(key)
        try await conn.drainBody()
        var source = r.header("x-amz-copy-source") ?? ""
        if let q = source.firstIndex(of: "?") { source = String(source[..<q]) }
        guard let decoded = URIEncoding.decode(Substring(source.hasPrefix("/") ? String(source.dropFirst()) : source)),
            let slash = decoded.firstIndex(of: "/")
        else { throw S3Error.invalidArgument("x-amz-copy-source must be BUCKET/KEY") }
        let srcBucket = String(decoded[..<slash])
        let srcKey = String(decoded[decoded.index(after: slash)...])
        try require(p, .read, srcBucket + "/" + srcKey)
        let replace: (String?, [String: String])? =
            r.header("x-amz-metadata-directive")?.uppercased() == "REPLACE" ? (r.header("content-type"), r.userMetadata) : nil
        let condition = try writeCondition(r)
        let store = self.store
        let object = try await work {
            try store.copyBucketObject(
                from: (srcBucket, srcKey), to: bucket, key: key, replace: replace.map { (contentType: $0.0, metadata: $0.1) },
                condition: condition)
        }
        var x = XMLWriter(root: "CopyObjectResult")
        x.element("LastModified", HTTPDate.iso8601(millis: object.mtime))
        x.element("ETag", "\"\(object.etag)\"")
        x.close("CopyObjectResult")
        try await xmlResponse(conn, r, x.text)
    }
}
