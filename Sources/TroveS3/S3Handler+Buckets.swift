import Foundation
import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore

/// Bucket operations and listings.
extension S3Handler {
    func listBuckets(_ r: S3Request, _ p: Principal, _ conn: S3Connection) async throws {
        guard p.access >= .read else { throw S3Error.accessDenied("listing buckets needs read scope") }
        let store = self.store
        try await conn.drainBody()
        let buckets = try await work { try store.listBuckets() }.filter { p.seesBucket($0.name) }
        var x = XMLWriter(root: "ListAllMyBucketsResult")
        x.open("Owner")
        x.element("ID", p.name ?? "trove")
        x.element("DisplayName", p.name ?? "trove")
        x.close("Owner")
        x.open("Buckets")
        for b in buckets {
            x.open("Bucket")
            x.element("Name", b.name)
            x.element("CreationDate", HTTPDate.iso8601(millis: b.created))
            x.close("Bucket")
        }
        x.close("Buckets")
        x.close("ListAllMyBucketsResult")
        try await xmlResponse(conn, r, x.text)
    }

    func createBucket(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        try require(p, .write, bucket)
        // The body may hold a CreateBucketConfiguration (a location constraint): accepted, ignored.
        _ = try await conn.readSmallBody(limit: 64 << 10)
        let store = self.store
        let writeOnce = r.header("x-amz-object-lock-enabled")?.lowercased() == "true"
        _ = try await work { try store.createBucket(bucket, writeOnce: writeOnce) }
        var h = HTTPHeaders()
        h.add(name: "location", value: "/\(bucket)")
        try await emptyResponse(conn, r, headers: h)
    }

    func headBucket(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        guard p.access >= .read, p.seesBucket(bucket) else { throw S3Error.accessDenied("no read access to bucket \(bucket)") }
        let store = self.store
        guard try await work({ try store.bucket(bucket) }) != nil else { throw BucketError.noSuchBucket(bucket) }
        var h = HTTPHeaders()
        h.add(name: "x-amz-bucket-region", value: config.region)
        try await emptyResponse(conn, r, headers: h)
    }

    func deleteBucket(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        try require(p, .write, bucket)
        try await conn.drainBody()
        let store = self.store
        try await work { try store.deleteBucket(bucket) }
        try await emptyResponse(conn, r, status: .noContent)
    }

    func bucketLocation(_ r: S3Request, _ p: Principal, _ bucket: String, _ conn: S3Connection) async throws {
        guard p.access >= .read, p.seesBucket(bucket) else { throw S3Error.accessDenied("no read access to bucket \(bucket)") }
        let store = self.store
        guard try await work({ try store.bucket(bucket) }) != nil else { throw BucketError.noSuchBucket(bucket) }
        let region = config.region == "us-east-1" ? "" : XMLWriter.escape(config.region)
        let text =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"\(XMLWriter.namespace)\">\(region)</LocationConstraint>"
        try await xmlResponse(conn, r, text)
    }

    /// ListObjects (V1) and ListObjectsV2: prefix, delimiter, marker / continuation token /
    /// start-after, max-keys (≤ 1000), encoding-type=url.
    func listObjects(_ r: S3Request, _ p: Principal, _ bucket: String, v2: Bool, _ conn: S3Connection) async throws {
        guard p.access >= .read, p.seesBucket(bucket) else { throw S3Error.accessDenied("no read access to bucket \(bucket)") }
        try await conn.drainBody()
        let prefix = r.query["prefix"] ?? ""
        let delimiter = r.query["delimiter"] ?? ""
        let maxKeys: Int
        if let m = r.query["max-keys"] {
            guard let n = Int(m), n >= 0 else { throw S3Error.invalidArgument("max-keys must be a non-negative integer") }
            maxKeys = min(n, 1000)
        } else {
            maxKeys = 1000
        }
        let urlEncode = r.query["encoding-type"] == "url"
        var marker: String?
        if v2 {
            if let token = r.query["continuation-token"] {
                guard let data = Data(base64Encoded: token), let s = String(data: data, encoding: .utf8) else {
                    throw S3Error.invalidArgument("the continuation token is not valid")
                }
                marker = s
            } else {
                marker = r.query["start-after"]
            }
        } else {
            marker = r.query["marker"]
        }
        let store = self.store
        let start = marker
        let page = try await work {
            try S3Listing.list(store: store, bucket: bucket, prefix: prefix, delimiter: delimiter, marker: start, maxKeys: maxKeys)
        }
        let wholeBucket = p.covers(bucket)
        let contents = wholeBucket ? page.contents : page.contents.filter { p.covers(bucket + "/" + $0.key) }
        let prefixes =
            wholeBucket ? page.commonPrefixes : page.commonPrefixes.filter { cp in p.seesBucket(bucket + "/" + cp) || p.covers(bucket + "/" + cp) }
        func enc(_ s: String) -> String { urlEncode ? URIEncoding.encode(s, keepSlash: true) : s }
        var x = XMLWriter(root: "ListBucketResult")
        x.element("Name", bucket)
        x.element("Prefix", enc(prefix))
        if v2 {
            x.element("KeyCount", contents.count + prefixes.count)
            if let t = r.query["continuation-token"] { x.element("ContinuationToken", t) }
            if let s = r.query["start-after"] { x.element("StartAfter", enc(s)) }
            if page.truncated, let next = page.next {
                x.element("NextContinuationToken", Data(next.utf8).base64EncodedString())
            }
        } else {
            x.element("Marker", enc(r.query["marker"] ?? ""))
            if page.truncated, let next = page.next { x.element("NextMarker", enc(next)) }
        }
        x.element("MaxKeys", maxKeys)
        if !delimiter.isEmpty { x.element("Delimiter", enc(delimiter)) }
        if urlEncode { x.element("EncodingType", "url") }
        x.element("IsTruncated", page.truncated)
        for o in contents {
            x.open("Contents")
            x.element("Key", enc(o.key))
            x.element("LastModified", HTTPDate.iso8601(millis: o.mtime))
            x.element("ETag", "\"\(o.etag)\"")
            x.element("Size", o.size)
            x.element("StorageClass", "STANDARD")
            x.close("Contents")
        }
        for cp in prefixes {
            x.open("CommonPrefixes")
            x.element("Prefix", enc(cp))
            x.close("CommonPrefixes")
        }
        x.close("ListBucketResult")
        try await xmlResponse(conn, r, x.text)
    }
}

/// The listing walk: keys in order, rolled up into common prefixes at the delimiter.
enum S3Listing {
    struct Page: Sendable {
        var contents: [BucketObject] = []
        var commonPrefixes: [String] = []
        var truncated = false
        /// The last key or common prefix returned (the next marker / continuation token).
        var next: String?
    }

    /// After this string come only strings that do not start with `p` (no key holds U+10FFFF).
    static func pastPrefix(_ p: String) -> String { p + "\u{10FFFF}" }

    static func list(
        store: Store, bucket: String, prefix: String, delimiter: String, marker: String?, maxKeys: Int
    ) throws -> Page {
        var page = Page()
        var after = marker
        // A marker inside a common prefix resumes after the whole prefix.
        if let m = after, !delimiter.isEmpty, m.hasPrefix(prefix),
            let range = m.dropFirst(prefix.count).range(of: delimiter)
        {
            after = pastPrefix(String(m[..<range.upperBound]))
        }
        if maxKeys == 0 {
            page.truncated = !(try store.listBucketObjects(bucket, prefix: prefix, after: after, limit: 1).isEmpty)
            return page
        }
        var count = 0
        while true {
            let rows = try store.listBucketObjects(bucket, prefix: prefix, after: after, limit: min(1000, maxKeys - count + 1))
            if rows.isEmpty { return page }
            for o in rows {
                if count == maxKeys {
                    page.truncated = true
                    return page
                }
                if !delimiter.isEmpty, let range = o.key.dropFirst(prefix.count).range(of: delimiter) {
                    let cp = String(o.key[..<range.upperBound])
                    page.commonPrefixes.append(cp)
                    page.next = cp
                    count += 1
                    after = pastPrefix(cp)
                    break  // query again past the prefix
                }
                page.contents.append(o)
                page.next = o.key
                count += 1
                after = o.key
            }
        }
    }
}
