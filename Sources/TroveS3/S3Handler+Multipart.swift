import Foundation
import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore

/// Multipart uploads: each part is stored as a blob as it arrives; completing concatenates the
/// parts' recipes (no bytes copied).
extension S3Handler {
    func upload(_ id: String, bucket: String, key: String) async throws -> MultipartUpload {
        let store = self.store
        let u = try await work { try store.multipartUpload(id) }
        guard u.bucket == bucket, u.key == key else { throw BucketError.noSuchUpload(id) }
        return u
    }

    func createUpload(_ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ conn: S3Connection) async throws {
        try require(p, .write, bucket + "/" + key)
        try Self.validateKey(key)
        try await conn.drainBody()
        let store = self.store
        let contentType = r.header("content-type")
        let metadata = r.userMetadata
        let u = try await work { try store.createMultipartUpload(bucket, key: key, contentType: contentType, metadata: metadata) }
        var x = XMLWriter(root: "InitiateMultipartUploadResult")
        x.element("Bucket", bucket)
        x.element("Key", key)
        x.element("UploadId", u.id)
        x.close("InitiateMultipartUploadResult")
        try await xmlResponse(conn, r, x.text)
    }

    func uploadPart(
        _ r: S3Request, _ a: AuthResult, _ bucket: String, _ key: String, _ id: String, _ conn: S3Connection
    ) async throws {
        try require(a.principal, .write, bucket + "/" + key)
        guard let n = r.query["partNumber"].flatMap({ Int($0) }), (1...10_000).contains(n) else {
            throw S3Error.invalidArgument("partNumber must be an integer in 1...10000")
        }
        if r.header("x-amz-copy-source") != nil { throw S3Error.notImplemented("UploadPartCopy is not supported") }
        _ = try await upload(id, bucket: bucket, key: key)
        let (blob, md5) = try await receiveBlob(r, a, conn)
        let part = MultipartPart(number: n, blob: blob.digest, size: blob.size, etag: hexString(md5), mtime: Clock.nowMillis())
        let store = self.store
        try await work { try store.putMultipartPart(id, part) }
        var h = HTTPHeaders()
        h.add(name: "etag", value: "\"\(part.etag)\"")
        try await emptyResponse(conn, r, headers: h)
    }

    func completeUpload(
        _ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ id: String, _ conn: S3Connection
    ) async throws {
        try require(p, .write, bucket + "/" + key)
        let body = try await conn.readSmallBody(limit: 4 << 20)
        let parts = try S3Decoders.completeParts(Array(body.readableBytesView))
        // ETag: MD5 of the parts' binary MD5s, then "-N".
        var md5s: [UInt8] = []
        for (_, e) in parts {
            guard e.count == 32, let bytes = Self.hexBytes(e) else { throw BucketError.invalidPart("ETag \(e) is not an MD5") }
            md5s += bytes
        }
        let etag = hexString(MessageDigest.hash(.md5, md5s)) + "-\(parts.count)"
        do {
            _ = try await upload(id, bucket: bucket, key: key)
        } catch BucketError.noSuchUpload(let missing) {
            // A retry of a completion that succeeded (the client gave up waiting for the first
            // answer): the same answer again.
            guard let done = completed.find(id), done.bucket == bucket, done.key == key, done.etag == etag else {
                throw BucketError.noSuchUpload(missing)
            }
            return try await completeResponse(conn, r, bucket: bucket, key: key, etag: etag)
        }
        let condition = try writeCondition(r)
        let store = self.store
        let chosen = parts
        let object = try await work { try store.completeMultipartUpload(id, parts: chosen, etag: etag, condition: condition) }
        completed.add(id, CompletedUploads.Entry(bucket: bucket, key: key, etag: object.etag))
        try await completeResponse(conn, r, bucket: bucket, key: key, etag: object.etag)
    }

    private func completeResponse(_ conn: S3Connection, _ r: S3Request, bucket: String, key: String, etag: String)
        async throws
    {
        var x = XMLWriter(root: "CompleteMultipartUploadResult")
        x.element("Location", "/\(bucket)/\(URIEncoding.encode(key, keepSlash: true))")
        x.element("Bucket", bucket)
        x.element("Key", key)
        x.element("ETag", "\"\(etag)\"")
        x.close("CompleteMultipartUploadResult")
        try await xmlResponse(conn, r, x.text)
    }

    func abortUpload(
        _ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ id: String, _ conn: S3Connection
    ) async throws {
        try require(p, .write, bucket + "/" + key)
        try await conn.drainBody()
        _ = try await upload(id, bucket: bucket, key: key)
        let store = self.store
        try await work { try store.abortMultipartUpload(id) }
        try await emptyResponse(conn, r, status: .noContent)
    }

    func listParts(
        _ r: S3Request, _ p: Principal, _ bucket: String, _ key: String, _ id: String, _ conn: S3Connection
    ) async throws {
        try require(p, .read, bucket + "/" + key)
        try await conn.drainBody()
        _ = try await upload(id, bucket: bucket, key: key)
        let store = self.store
        let parts = try await work { try store.multipartParts(id) }
        var x = XMLWriter(root: "ListPartsResult")
        x.element("Bucket", bucket)
        x.element("Key", key)
        x.element("UploadId", id)
        x.element("MaxParts", 10_000)
        x.element("IsTruncated", false)
        for part in parts {
            x.open("Part")
            x.element("PartNumber", part.number)
            x.element("LastModified", HTTPDate.iso8601(millis: part.mtime))
            x.element("ETag", "\"\(part.etag)\"")
            x.element("Size", part.size)
            x.close("Part")
        }
        x.close("ListPartsResult")
        try await xmlResponse(conn, r, x.text)
    }

    func listUploads(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        guard p.access >= .read, p.seesBucket(bucket) else { throw S3Error.accessDenied("no read access to bucket \(bucket)") }
        try await conn.drainBody()
        let store = self.store
        let prefix = r.query["prefix"] ?? ""
        let uploads = try await work { try store.multipartUploads(bucket, prefix: prefix) }.filter { p.covers(bucket + "/" + $0.key) }
        var x = XMLWriter(root: "ListMultipartUploadsResult")
        x.element("Bucket", bucket)
        x.element("Prefix", prefix)
        x.element("MaxUploads", 1000)
        x.element("IsTruncated", false)
        for u in uploads.prefix(1000) {
            x.open("Upload")
            x.element("Key", u.key)
            x.element("UploadId", u.id)
            x.element("Initiated", HTTPDate.iso8601(millis: u.created))
            x.element("StorageClass", "STANDARD")
            x.close("Upload")
        }
        x.close("ListMultipartUploadsResult")
        try await xmlResponse(conn, r, x.text)
    }

    static func hexBytes(_ s: String) -> [UInt8]? {
        let u = Array(s.utf8)
        guard u.count % 2 == 0 else { return nil }
        var out: [UInt8] = []
        for i in stride(from: 0, to: u.count, by: 2) {
            guard let b = UInt8(String(decoding: u[i..<i + 2], as: UTF8.self), radix: 16) else { return nil }
            out.append(b)
        }
        return out
    }
}
