import Foundation

/// One HTTP response, as a test reads it.
struct HTTPReply: CustomStringConvertible {
    var status: Int
    var headers: [String: String]
    var body: [UInt8]
    var text: String { String(decoding: body, as: UTF8.self) }
    var description: String { "HTTP \(status) \(headers)\n\(text.prefix(3000))" }

    /// The `href` values of `<a … class="CLASS" … href="…">` links, HTML entities decoded.
    func links(class cls: String) -> [String] {
        var out: [String] = []
        var rest = Substring(text)
        while let r = rest.range(of: "class=\"\(cls)\"") {
            let tail = rest[r.upperBound...]
            let tagEnd = tail.firstIndex(of: ">") ?? tail.endIndex
            if let h = tail[..<tagEnd].range(of: "href=\""), let q = tail[h.upperBound...].firstIndex(of: "\"") {
                out.append(String(tail[h.upperBound..<q]).replacingOccurrences(of: "&amp;", with: "&"))
            }
            rest = tail
        }
        return out
    }

    /// The first `id="ID" href="…"` link.
    func link(id: String) -> String? {
        guard let r = text.range(of: "id=\"\(id)\" href=\"") else { return nil }
        let tail = text[r.upperBound...]
        guard let q = tail.firstIndex(of: "\"") else { return nil }
        return String(tail[..<q]).replacingOccurrences(of: "&amp;", with: "&")
    }
}

/// A minimal HTTP/1.1 client over a socket (Connection: close), so the tests see exactly what
/// troved sends.
enum WebClient {
    static func get(
        _ address: String, _ target: String, method: String = "GET", headers: [String: String] = [:]
    ) throws -> HTTPReply {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else { throw CLIError(description: "bad address \(address)") }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, String(parts[0]), &addr.sin_addr)
        let c = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard c == 0 else { throw CLIError(description: "connect to \(address) failed: errno \(errno)") }
        var tv = timeval(tv_sec: 30, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var req = "\(method) \(target) HTTP/1.1\r\nHost: \(address)\r\nConnection: close\r\n"
        for (k, v) in headers { req += "\(k): \(v)\r\n" }
        req += "\r\n"
        let bytes = Array(req.utf8)
        _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress!, $0.count, Int32(MSG_NOSIGNAL)) }
        var all: [UInt8] = []
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { break }
            all += buf[0..<n]
        }
        let sep: [UInt8] = Array("\r\n\r\n".utf8)
        guard let end = (0..<max(0, all.count - 3)).first(where: { Array(all[$0..<$0 + 4]) == sep }) else {
            throw CLIError(description: "no HTTP response head from \(target): \(String(decoding: all, as: UTF8.self))")
        }
        let head = String(decoding: all[..<end], as: UTF8.self).components(separatedBy: "\r\n")
        let status = Int(head[0].split(separator: " ")[1]) ?? 0
        var hs: [String: String] = [:]
        for line in head.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            hs[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        return HTTPReply(status: status, headers: hs, body: Array(all[(end + 4)...]))
    }

    /// `Authorization: Basic …` for a `NAME:SECRET` token.
    static func basic(_ token: String) -> [String: String] {
        ["Authorization": "Basic " + Data(token.utf8).base64EncodedString()]
    }
}

/// Tokens made by `troved token new --json`: (client token `NAME:SECRET`, config entry).
enum WebTokens {
    static func make(_ name: String, _ scope: String, prefix: String? = nil, prefixes: [String] = []) throws
        -> (token: String, config: String)
    {
        var args = ["token", "new", name, "--scope", scope, "--json"]
        for p in (prefix.map { [$0] } ?? []) + prefixes { args += ["--prefix", p] }
        let r = try CLI.troved(args)
        guard r.status == 0, let o = try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: String],
            let token = o["token"], let config = o["config"]
        else { throw CLIError(description: "troved token new failed: \(r)") }
        return (token, config)
    }
}
