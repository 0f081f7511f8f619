import NIOCore
import NIOHTTP1
import TroveCore

/// A parsed request head: path-style addressing (`/BUCKET/KEY`), query parameters decoded.
struct S3Request {
    let head: HTTPRequestHead
    /// The path as sent (still percent-encoded), without the query.
    let rawPath: String
    /// The query string as sent (no leading `?`).
    let rawQuery: String
    let bucket: String?
    let key: String?
    let query: [String: String]
    let requestID: String

    init(head: HTTPRequestHead, requestID: String) throws(S3Error) {
        self.head = head
        self.requestID = requestID
        let uri = head.uri
        if let q = uri.firstIndex(of: "?") {
            rawPath = String(uri[..<q])
            rawQuery = String(uri[uri.index(after: q)...])
        } else {
            rawPath = uri
            rawQuery = ""
        }
        guard rawPath.hasPrefix("/") else { throw .invalidRequest("the request target must be a path starting with /") }
        var query: [String: String] = [:]
        for item in rawQuery.split(separator: "&") where !item.isEmpty {
            let (k, v): (Substring, Substring)
            if let eq = item.firstIndex(of: "=") { (k, v) = (item[..<eq], item[item.index(after: eq)...]) } else { (k, v) = (item, "") }
            guard let key = URIEncoding.decode(k, plusIsSpace: true), let value = URIEncoding.decode(v, plusIsSpace: true)
            else { throw .invalidArgument("the query string has a bad %-escape") }
            query[key] = value
        }
        self.query = query
        let path = rawPath.dropFirst()
        if path.isEmpty {
            bucket = nil
            key = nil
        } else if let slash = path.firstIndex(of: "/") {
            guard let b = URIEncoding.decode(path[..<slash]), let k = URIEncoding.decode(path[path.index(after: slash)...]) else {
                throw .invalidArgument("the path has a bad %-escape or is not UTF-8")
            }
            bucket = b
            key = k.isEmpty ? nil : k
        } else {
            guard let b = URIEncoding.decode(path) else { throw .invalidArgument("the path has a bad %-escape") }
            bucket = b
            key = nil
        }
    }

    var method: HTTPMethod { head.method }

    func header(_ name: String) -> String? { head.headers.first(name: name) }

    func has(_ parameter: String) -> Bool { query[parameter] != nil }

    /// `Content-Length`, if present and numeric.
    var contentLength: UInt64? { header("content-length").flatMap { UInt64($0) } }

    /// The resource named in error documents.
    var resource: String { rawPath }

    /// User metadata from `x-amz-meta-*` headers (names lowercased, without the prefix).
    var userMetadata: [String: String] {
        var m: [String: String] = [:]
        for (name, value) in head.headers {
            let n = name.lowercased()
            if n.hasPrefix("x-amz-meta-") { m[String(n.dropFirst(11))] = value }
        }
        return m
    }
}
