import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore

/// The reserved, read-only bucket `versions`: `versions/NAME/VERSION/PATH` and
/// `versions/NAME/ALIAS/PATH` read files of registered versions (docs/S3.md). Token prefixes
/// apply to NAME, as for the binary protocol.
extension S3Handler {
    static let versionsBucket = "versions"

    /// A key of `versions` split into a resolvable NAME:TAG and the path below it.
    struct VersionPath: Sendable {
        var name: String
        var created: Int64
        var tree: Tree
        var path: String
    }

    /// Resolves the longest-possible NAME/TAG split of `key` (NAME may hold '/').
    static func resolveVersionPath(_ store: Store, _ key: String) throws -> VersionPath? {
        let comps = key.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard comps.count >= 2 else { return nil }
        for i in stride(from: comps.count - 1, through: 1, by: -1) {
            let name = comps[0..<i].joined(separator: "/")
            let tag = comps[i]
            guard (try? Names.validateName(name)) != nil, !tag.isEmpty else { continue }
            guard let resolved = try? store.resolve(.tag(name: name, tag: tag)) else { continue }
            let created = (try? store.version(name: name, version: resolved.version ?? tag))??.created ?? 0
            let tree = try store.readTree(resolved.tree)
            return VersionPath(
                name: name, created: created, tree: tree, path: comps[(i + 1)...].joined(separator: "/"))
        }
        return nil
    }

    func getVersionObject(_ r: S3Request, _ p: Principal, _ key: String, head: Bool, _ conn: S3Connection) async throws {
        guard p.access >= .read else { throw S3Error.accessDenied("reading versions needs read scope") }
        try await conn.drainBody()
        let store = self.store
        let found = try await work { try Self.resolveVersionPath(store, key) }
        guard let found, let entry = found.tree.entries.first(where: { $0.path == found.path && $0.kind == .file }),
            let blob = entry.blob
        else { throw BucketError.noSuchKey(bucket: Self.versionsBucket, key: key) }
        guard p.covers(found.name) else { throw S3Error.accessDenied("\(found.name) is outside the token's prefixes") }
        var h = HTTPHeaders()
        h.add(name: "x-amz-request-id", value: r.requestID)
        // Not an MD5: the blob's SHA-256 (64 hex digits), so MD5-checking clients skip it.
        h.add(name: "etag", value: "\"\(blob.hex)\"")
        h.add(name: "last-modified", value: HTTPDate.rfc7231(millis: found.created))
        h.add(name: "accept-ranges", value: "bytes")
        h.add(name: "content-type", value: "binary/octet-stream")
        if let n = r.header("if-none-match"), Self.etagList(n).contains(blob.hex) {
            return try await conn.respond(.notModified, headers: h)
        }
        var start: UInt64 = 0
        var end = entry.size
        var status = HTTPResponseStatus.ok
        if let range = r.header("range"), let (s, e) = try Self.parseRange(range, size: entry.size) {
            (start, end, status) = (s, e, .partialContent)
            h.add(name: "content-range", value: "bytes \(s)-\(e - 1)/\(entry.size)")
        }
        h.add(name: "content-length", value: String(end - start))
        if head || start == end { return try await conn.respond(status, headers: h, contentLength: end - start) }
        try await streamBlob(blob, key: key, status, headers: h, start: start, end: end, conn)
    }

    /// ListObjects(V2) on `versions`: the files of the version the prefix names (the prefix must
    /// reach at least NAME/TAG/), with delimiter roll-up; no pagination beyond 1000 entries.
    func listVersionObjects(_ r: S3Request, _ p: Principal, v2: Bool, _ conn: S3Connection) async throws {
        guard p.access >= .read else { throw S3Error.accessDenied("reading versions needs read scope") }
        try await conn.drainBody()
        let prefix = r.query["prefix"] ?? ""
        let delimiter = r.query["delimiter"] ?? ""
        let store = self.store
        // The NAME/TAG part: resolve the prefix up to its last '/'.
        let head = prefix.contains("/") ? String(prefix[..<prefix.lastIndex(of: "/")!]) + "/x" : ""
        let found = head.isEmpty ? nil : try await work { try Self.resolveVersionPath(store, head) }
        var contents: [(String, UInt64, Digest)] = []
        var prefixes: [String] = []
        if let found, p.covers(found.name) {
            let root = String(head.dropLast(found.path.count))  // "NAME/TAG/"
            for e in found.tree.entries where e.kind == .file {
                let key = root + e.path
                guard key.hasPrefix(prefix) else { continue }
                if !delimiter.isEmpty, let d = key.dropFirst(prefix.count).range(of: delimiter) {
                    let cp = String(key[..<d.upperBound])
                    if prefixes.last != cp { prefixes.append(cp) }
                    continue
                }
                if let b = e.blob { contents.append((key, e.size, b)) }
            }
        }
        var x = XMLWriter(root: "ListBucketResult")
        x.element("Name", Self.versionsBucket)
        x.element("Prefix", prefix)
        if v2 { x.element("KeyCount", contents.count + prefixes.count) }
        x.element("MaxKeys", 1000)
        if !delimiter.isEmpty { x.element("Delimiter", delimiter) }
        x.element("IsTruncated", false)
        for (k, size, blob) in contents.prefix(1000) {
            x.open("Contents")
            x.element("Key", k)
            x.element("LastModified", HTTPDate.iso8601(millis: found?.created ?? 0))
            x.element("ETag", "\"\(blob.hex)\"")
            x.element("Size", size)
            x.element("StorageClass", "STANDARD")
            x.close("Contents")
        }
        for cp in prefixes.prefix(1000) {
            x.open("CommonPrefixes")
            x.element("Prefix", cp)
            x.close("CommonPrefixes")
        }
        x.close("ListBucketResult")
        try await xmlResponse(conn, r, x.text)
    }
}
