/// Where troved listens: `HOST:PORT` (`[V6ADDR]:PORT` for IPv6 literals), `tls://HOST:PORT` for
/// its TLS listener.
public struct ServerAddress: Sendable, Hashable, CustomStringConvertible {
    /// The default: loopback, port 7420.
    public static let `default` = ServerAddress(host: "127.0.0.1", port: 7420)

    public var host: String
    public var port: Int
    /// Whether the connection speaks TLS 1.3 (`tls://`, `--tls`, `TROVE_TLS=1`).
    public var tls: Bool
    /// The PEM file of the CA that signs troved's certificate (`--tls-ca`, `TROVE_TLS_CA`); nil:
    /// the system's trust store.
    public var caFile: String?

    public init(host: String, port: Int, tls: Bool = false, caFile: String? = nil) {
        self.host = host
        self.port = port
        self.tls = tls
        self.caFile = caFile
    }

    /// Parses `HOST:PORT`, `[V6]:PORT`, or a bare `HOST` (port 7420), each optionally after `tls://`.
    public init(parsing text: String) throws(ClientError) {
        let bad = ClientError.usage(
            detail: "invalid server address \"\(text)\": expected HOST:PORT or tls://HOST:PORT, e.g. 127.0.0.1:7420")
        var host = Substring(text)
        let tls = host.hasPrefix("tls://")
        if tls { host = host.dropFirst("tls://".count) }
        var port = 7420
        if host.hasPrefix("[") {
            guard let close = host.firstIndex(of: "]") else { throw bad }
            let rest = host[host.index(after: close)...]
            let inner = host[host.index(after: host.startIndex)..<close]
            if !rest.isEmpty {
                guard rest.hasPrefix(":"), let p = Int(rest.dropFirst()) else { throw bad }
                port = p
            }
            host = inner
        } else if let colon = host.lastIndex(of: ":") {
            guard host.firstIndex(of: ":") == colon, let p = Int(host[host.index(after: colon)...]) else {
                throw bad
            }
            port = p
            host = host[..<colon]
        }
        guard !host.isEmpty, (1...65535).contains(port) else { throw bad }
        self.init(host: String(host), port: port, tls: tls)
    }

    /// `HOST:PORT`, with `tls://` in front for a TLS connection (parses back to the same address
    /// but for ``caFile``).
    public var description: String {
        (tls ? "tls://" : "") + (host.contains(":") ? "[\(host)]:\(port)" : "\(host):\(port)")
    }
}

/// A token as users hold it: `NAME:SECRET`.
public struct Credentials: Sendable, Hashable {
    public var name: String
    public var secret: String

    public init(name: String, secret: String) {
        self.name = name
        self.secret = secret
    }

    /// Parses `NAME:SECRET` (surrounding whitespace and a trailing newline are ignored).
    public init(parsing text: String, source: String) throws(ClientError) {
        let t = text.trimmingWhitespace()
        guard let colon = t.firstIndex(of: ":"), colon != t.startIndex, t.index(after: colon) != t.endIndex
        else {
            throw .usage(detail: "the token in \(source) must have the form NAME:SECRET")
        }
        self.init(name: String(t[..<colon]), secret: String(t[t.index(after: colon)...]))
    }
}

extension String {
    func trimmingWhitespace() -> String {
        var s = Substring(self)
        while let f = s.first, f.isWhitespace { s.removeFirst() }
        while let l = s.last, l.isWhitespace { s.removeLast() }
        return String(s)
    }
}
