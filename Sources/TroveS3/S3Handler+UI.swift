import Foundation
import NIOCore
import NIOHTTP1
import TroveCore
import TroveStore
import TroveWeb

/// The web view (TroveWeb, docs/UI.md) on the S3 listener, under `/_ui/` (no bucket name can
/// start with `_`). Read-only: GET and HEAD only. Authentication is HTTP Basic with a token's
/// `NAME:SECRET` (any scope reads); in open access (no tokens, loopback) no credentials are asked.
/// Download links point at the `versions` bucket, presigned for the viewer's token.
extension S3Handler {
    /// Whether `uri` is a web view path.
    static func isUIPath(_ uri: String) -> Bool {
        uri == "/_ui" || uri.hasPrefix("/_ui/") || uri.hasPrefix("/_ui?")
    }

    /// How long a download link of a page stays valid.
    static let uiLinkExpirySeconds = 3600

    /// Serves one web view request; false when the connection must close.
    func serveUI(_ head: HTTPRequestHead, _ conn: S3Connection) async throws -> Bool {
        try await conn.drainBody()
        var headers = HTTPHeaders()
        for (k, v) in WebResponse.securityHeaders { headers.add(name: k, value: v) }
        let keep = head.isKeepAlive && conn.bodyDone
        if !keep { headers.add(name: "connection", value: "close") }
        func send(_ status: HTTPResponseStatus, _ text: String, type: String = "text/plain; charset=utf-8") async throws {
            headers.replaceOrAdd(name: "content-type", value: type)
            let body = ByteBuffer(string: text)
            if head.method == .HEAD {
                try await conn.respond(status, headers: headers, contentLength: UInt64(body.readableBytes))
            } else {
                try await conn.respond(status, headers: headers, body: body)
            }
        }
        guard head.method == .GET || head.method == .HEAD else {
            headers.add(name: "allow", value: "GET, HEAD")
            try await send(.methodNotAllowed, "the web view is read-only: only GET and HEAD are allowed\n")
            return keep
        }
        let (rawPath, rawQuery) = Self.splitURI(head.uri)
        if rawPath == "/_ui" {
            headers.add(name: "location", value: "/_ui/" + (rawQuery.isEmpty ? "" : "?" + rawQuery))
            try await send(.movedPermanently, "see /_ui/\n")
            return keep
        }
        guard let path = URIEncoding.decode(Substring(rawPath.dropFirst(4))), let query = Self.parseQuery(rawQuery) else {
            try await send(.badRequest, "the path or query has a bad %-escape\n")
            return keep
        }
        let viewer: WebViewer
        var credential: S3Credential? = nil
        if config.openAccess {
            viewer = WebViewer(name: nil, prefixes: [])
        } else {
            guard let c = Self.basicCredential(head.headers.first(name: "authorization"), config.credentials) else {
                headers.add(name: "www-authenticate", value: "Basic realm=\"Trove\", charset=\"UTF-8\"")
                try await send(
                    .unauthorized, "sign in with a token: user name = the token's name, password = its secret\n")
                return keep
            }
            credential = c
            viewer = WebViewer(name: c.accessKeyId, prefixes: c.prefixes)
        }
        let host = head.headers.first(name: "host") ?? ""
        let region = config.region
        let signer = credential
        let download: @Sendable (String, String, String) -> String = { name, version, file in
            Self.versionsURL(
                key: "\(name)/\(version)/\(file)", credential: signer, host: host, region: region,
                now: TroveStore.Clock.nowSeconds())
        }
        let request = WebRequest(path: path, query: query, viewer: viewer, downloadURL: download)
        let ui = self.ui
        let page = try await work { ui.respond(request) }
        if page.status >= 500 {
            logger.error("web view page failed", metadata: ["request": "\(head.method) \(head.uri)", "status": "\(page.status)"])
        }
        try await send(HTTPResponseStatus(statusCode: page.status), page.body, type: page.contentType)
        return keep
    }

    /// The token among `credentials` whose `NAME:SECRET` an `Authorization: Basic …` header
    /// carries, if it is one (secrets compared in constant time).
    static func basicCredential(_ header: String?, _ credentials: [S3Credential]) -> S3Credential? {
        guard let header, header.lowercased().hasPrefix("basic "),
            let data = Data(base64Encoded: String(header.dropFirst(6)).trimmingCharacters(in: .whitespaces)),
            let text = String(data: data, encoding: .utf8), let colon = text.firstIndex(of: ":")
        else { return nil }
        let name = String(text[..<colon])
        let secret = String(text[text.index(after: colon)...])
        guard let c = credentials.first(where: { $0.accessKeyId == name }),
            let expected = Digest(hex: c.secretAccessKey),
            let given = Digest(hex: S3Credential.secret(fromKey: AuthProof.key(secret: secret))),
            HMACSHA256.equal(expected, given)
        else { return nil }
        return c
    }

    /// `/versions/KEY`, presigned (SigV4 query form, `host` signed) for `credential` when there is one.
    static func versionsURL(key: String, credential: S3Credential?, host: String, region: String, now: Int64) -> String {
        let path = "/" + URIEncoding.encode(versionsBucket + "/" + key, keepSlash: true)
        guard let credential else { return path }
        let stamp = RefTime.format(now * 1000, milliseconds: false).filter { $0 != "-" && $0 != ":" }
        let date = String(stamp.prefix(8))
        let scope = "\(date)/\(region)/s3/aws4_request"
        let query =
            "X-Amz-Algorithm=\(SigV4.algorithm)&X-Amz-Credential="
            + URIEncoding.encode("\(credential.accessKeyId)/\(scope)", keepSlash: false)
            + "&X-Amz-Date=\(stamp)&X-Amz-Expires=\(uiLinkExpirySeconds)&X-Amz-SignedHeaders=host"
        var h = HTTPHeaders()
        h.add(name: "host", value: host)
        guard let r = try? S3Request(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: path + "?" + query, headers: h), requestID: "")
        else { return path }
        let canonical = SigV4.canonicalRequest(
            r, signedHeaders: ["host"], payloadHash: "UNSIGNED-PAYLOAD", dropSignatureParameter: true)
        let key = SigV4.signingKey(secret: credential.secretAccessKey, date: date, region: region, service: "s3")
        let signature = SigV4.sign(key: key, SigV4.stringToSign(amzDate: stamp, scope: scope, canonicalRequest: canonical))
        return path + "?" + query + "&X-Amz-Signature=" + signature.hex
    }

    static func splitURI(_ uri: String) -> (String, String) {
        guard let q = uri.firstIndex(of: "?") else { return (uri, "") }
        return (String(uri[..<q]), String(uri[uri.index(after: q)...]))
    }

    /// Form-encoded parameters (`+` is a space); nil for a bad escape.
    static func parseQuery(_ raw: String) -> [String: String]? {
        var out: [String: String] = [:]
        for item in raw.split(separator: "&") where !item.isEmpty {
            let eq = item.firstIndex(of: "=") ?? item.endIndex
            guard let k = URIEncoding.decode(item[..<eq], plusIsSpace: true),
                let v = URIEncoding.decode(eq == item.endIndex ? "" : item[item.index(after: eq)...], plusIsSpace: true)
            else { return nil }
            out[k] = v
        }
        return out
    }
}

extension S3Decoders {
    /// The secret of the one token (`fuzz`) ``webView(uri:authorization:)`` accepts.
    public static let fuzzWebSecret = "fuzz-web-secret"

    /// What the web view decodes of a request before rendering anything: the page path and
    /// query of `uri` (nil when it is not a web view path or has a bad escape), and the token an
    /// `Authorization` header signs in as (only `fuzz` with ``fuzzWebSecret`` exists).
    public static func webView(uri: String, authorization: String?) -> (
        path: String?, query: [String: String]?, viewer: String?
    ) {
        let credential = S3Credential(
            accessKeyId: "fuzz", secretAccessKey: S3Credential.secret(fromKey: AuthProof.key(secret: fuzzWebSecret)),
            access: .read)
        let viewer = S3Handler.basicCredential(authorization, [credential])?.accessKeyId
        guard S3Handler.isUIPath(uri) else { return (nil, nil, viewer) }
        let (rawPath, rawQuery) = S3Handler.splitURI(uri)
        return (URIEncoding.decode(Substring(rawPath.dropFirst(4))), S3Handler.parseQuery(rawQuery), viewer)
    }
}
