import TroveCore

/// Who is looking: a token's name and the name prefixes it is limited to (none: everything).
/// The listener that serves the pages authenticates; the pages filter by `covers`.
public struct WebViewer: Sendable, Equatable {
    /// The token's name; `nil` in open access (troved without tokens, on loopback).
    public var name: String?
    /// Name prefixes (matched per path component); empty: every name.
    public var prefixes: [String]

    public init(name: String?, prefixes: [String]) {
        self.name = name
        self.prefixes = prefixes.map { $0.hasSuffix("/") ? String($0.dropLast()) : $0 }
    }

    /// Whether `name` is one of the token's prefixes or under one.
    public func covers(_ name: String) -> Bool {
        prefixes.isEmpty || prefixes.contains { $0.isEmpty || name == $0 || name.hasPrefix($0 + "/") }
    }

    /// The token's prefixes that lie under `prefix` ("" for all): what a listing of `prefix`
    /// may show when `prefix` itself is not covered.
    func prefixes(under prefix: String) -> [String] {
        prefixes.filter { prefix.isEmpty || $0 == prefix || $0.hasPrefix(prefix + "/") }
    }
}

/// A GET request for a page, below `/_ui`.
public struct WebRequest: Sendable {
    /// The path below `/_ui` (`/`, `/version`, …), percent-decoded.
    public var path: String
    /// Query parameters, decoded.
    public var query: [String: String]
    public var viewer: WebViewer
    /// The URL that downloads `path` of `name:version` through the S3 API's `versions` bucket
    /// (presigned for the viewer's token when troved has tokens).
    public var downloadURL: @Sendable (_ name: String, _ version: String, _ path: String) -> String

    public init(
        path: String, query: [String: String], viewer: WebViewer,
        downloadURL: @escaping @Sendable (_ name: String, _ version: String, _ path: String) -> String
    ) {
        self.path = path
        self.query = query
        self.viewer = viewer
        self.downloadURL = downloadURL
    }
}

/// A rendered page (or error page).
public struct WebResponse: Sendable {
    /// HTTP status code.
    public var status: Int
    public var contentType: String
    public var body: String

    public init(status: Int, contentType: String = "text/html; charset=utf-8", body: String) {
        self.status = status
        self.contentType = contentType
        self.body = body
    }

    /// Response headers every page carries: no scripts run (CSP), no framing, no sniffing, no caching.
    public static let securityHeaders: [(String, String)] = [
        (
            "content-security-policy",
            "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        ("referrer-policy", "no-referrer"),
        ("cache-control", "no-store"),
    ]
}

/// A page that cannot be shown: its status and a message for the person reading it.
struct WebError: Error {
    var status: Int
    var message: String

    static func notFound(_ m: String) -> WebError { WebError(status: 404, message: m) }
    static func badRequest(_ m: String) -> WebError { WebError(status: 400, message: m) }
    static func forbidden(_ m: String) -> WebError { WebError(status: 403, message: m) }
}
