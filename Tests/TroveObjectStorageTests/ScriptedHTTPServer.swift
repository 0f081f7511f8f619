import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A loopback HTTP server that answers each request with the next status of a script (or never
/// answers: `nil`), one connection per request; for the client's retry paths, which a healthy
/// object store does not exercise.
final class ScriptedHTTPServer: Sendable {
    let port: Int
    private let fd: Int32
    /// Requests seen so far.
    private let seen = RequestCount()

    var requests: Int { seen.value.withLock { $0 } }

    init(script: [Int?]) throws {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.fd = fd
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) { p in
            p.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 16) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { throw SeaweedError("cannot listen on loopback: errno \(errno)") }
        port = Int(UInt16(bigEndian: addr.sin_port))
        let listener = fd
        let counter = seen
        Thread.detachNewThread {
            var held: [Int32] = []
            for step in script {
                let c = accept(listener, nil, nil)
                guard c >= 0 else { return }
                // Read the request head (the client's test requests carry no body).
                var buf = [UInt8](repeating: 0, count: 65536)
                var got: [UInt8] = []
                while !got.suffix(4).elementsEqual([13, 10, 13, 10]) {
                    let n = read(c, &buf, buf.count)
                    if n <= 0 { break }
                    got += buf[0..<n]
                }
                counter.value.withLock { $0 += 1 }
                guard let status = step else {
                    held.append(c)  // never answer: the client times out
                    continue
                }
                let body = "<Error><Code>Scripted</Code><Message>status \(status)</Message></Error>"
                let text = "HTTP/1.1 \(status) Scripted\r\nContent-Length: \(body.utf8.count)\r\nConnection: close\r\n\r\n\(body)"
                _ = text.withCString { write(c, $0, strlen($0)) }
                close(c)
            }
            // Hold the silent connections until the server goes (accept fails after shutdown).
            _ = accept(listener, nil, nil)
            for c in held { close(c) }
        }
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

/// A shared counter (the serving thread counts, the test reads), in its Mutex.
final class RequestCount: Sendable {
    let value = Mutex(0)
}
