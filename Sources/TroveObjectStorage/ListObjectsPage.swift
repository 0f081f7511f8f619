/// One page of a ListObjectsV2 answer, read with a minimal XML scan (S3's listing XML has no
/// attributes or nesting beyond `<Contents>`; only the five predefined entities occur).
struct ListObjectsPage {
    var objects: [S3ObjectInfo]
    var nextToken: String?

    static func parse(_ xml: String, prefix: String) throws(S3ClientError) -> ListObjectsPage {
        guard xml.contains("<ListBucketResult") else {
            throw .invalidResponse(operation: "ListObjectsV2", key: prefix, detail: "no ListBucketResult element")
        }
        var objects: [S3ObjectInfo] = []
        for block in elements("Contents", in: xml) {
            guard let key = value(of: "Key", in: block), let size = value(of: "Size", in: block).flatMap({ Int($0) })
            else {
                throw .invalidResponse(operation: "ListObjectsV2", key: prefix, detail: "a Contents entry lacks Key or Size")
            }
            objects.append(S3ObjectInfo(key: key, size: size, etag: value(of: "ETag", in: block) ?? "", metadata: [:]))
        }
        let truncated = value(of: "IsTruncated", in: xml) == "true"
        let token = value(of: "NextContinuationToken", in: xml)
        if truncated && token == nil {
            throw .invalidResponse(operation: "ListObjectsV2", key: prefix, detail: "truncated listing without a continuation token")
        }
        return ListObjectsPage(objects: objects, nextToken: truncated ? token : nil)
    }

    /// The inner texts of every `<tag>…</tag>`.
    static func elements(_ tag: String, in xml: String) -> [Substring] {
        var out: [Substring] = []
        var rest = xml[...]
        while let open = rest.firstRange(of: "<\(tag)>"), let close = rest[open.upperBound...].firstRange(of: "</\(tag)>") {
            out.append(rest[open.upperBound..<close.lowerBound])
            rest = rest[close.upperBound...]
        }
        return out
    }

    /// The entity-decoded text of the first `<tag>…</tag>`.
    static func value(of tag: String, in xml: some StringProtocol) -> String? {
        guard let open = xml.firstRange(of: "<\(tag)>"), let close = xml[open.upperBound...].firstRange(of: "</\(tag)>") else {
            return nil
        }
        return String(xml[open.upperBound..<close.lowerBound])
            .replacingAll("&lt;", "<").replacingAll("&gt;", ">").replacingAll("&quot;", "\"")
            .replacingAll("&apos;", "'").replacingAll("&amp;", "&")
    }
}

extension String {
    fileprivate func replacingAll(_ target: String, _ replacement: String) -> String {
        guard contains(target) else { return self }
        return split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
