import Foundation

/// A TCP listener on loopback that is not troved: it answers every connection with fixed bytes
/// (e.g. an HTTP response) and closes it, or, with an empty answer, accepts and stays silent
/// (a client then waits in its handshake). For testing what `trove` says when --server points at
/// the wrong service, and what Ctrl-C does while a command waits.
final class FakeServer {
    /// `127.0.0.1:PORT`.
    let address: String
    private let fd: Int32
    private let thread: Thread
    /// Connections accepted so far.
    let accepted = Locked(0)

    init(answer: [UInt8]) throws {
        let s: Int32
        (s, address) = try FakeServer.listenOnLoopback()
        fd = s
        let accepted = self.accepted
        thread = Thread {
            while true {
                let c = accept(s, nil, nil)
                if c < 0 { return }
                accepted.withValue { $0 += 1 }
                var buf = [UInt8](repeating: 0, count: 4096)
                if !answer.isEmpty {
                    // Answer once the client's first request has begun to arrive (its 8-byte
                    // preamble and more), as an HTTP server answers a request line: the client then
                    // fails that request with what it read, not with a write to a closed channel.
                    var got = 0
                    while got < 16 {
                        let n = recv(c, &buf, buf.count, 0)
                        if n <= 0 { break }
                        got += n
                    }
                    _ = answer.withUnsafeBytes { send(c, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
                    // Like a well-behaved server: finish writing, then read until the client hangs
                    // up (closing with unread input would reset the connection and lose the answer).
                    shutdown(c, Int32(SHUT_WR))
                }
                var tv = timeval(tv_sec: 60, tv_usec: 0)
                setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
                while recv(c, &buf, buf.count, 0) > 0 {}
                close(c)
            }
        }
        thread.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// A socket listening on an ephemeral loopback port, and its `127.0.0.1:PORT`.
    static func listenOnLoopback() throws -> (fd: Int32, address: String) {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = 0
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(s, p, len) == 0 && listen(s, 8) == 0 && getsockname(s, p, &len) == 0
            }
        }
        guard bound else {
            close(s)
            throw CLIError(description: "cannot listen on loopback: errno \(errno)")
        }
        return (s, "127.0.0.1:\(UInt16(bigEndian: addr.sin_port))")
    }

    /// A loopback port nothing listens on (bound, then closed).
    static func closedPort() throws -> String {
        let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(s) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr)
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { p -> Bool in
                bind(s, p, len) == 0 && getsockname(s, p, &len) == 0
            }
        }
        guard ok else { throw CLIError(description: "cannot bind loopback: errno \(errno)") }
        return "127.0.0.1:\(UInt16(bigEndian: addr.sin_port))"
    }
}

extension CLI {
    /// Runs `trove` with standard output a pipe whose reading end is already closed (what
    /// `trove … | head` looks like once `head` has exited): every write fails with EPIPE.
    static func troveIntoClosedPipe(_ arguments: [String], environment: [String: String] = [:]) throws
        -> CLIResult
    {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw CLIError(description: "pipe failed: errno \(errno)") }
        close(fds[0])
        let writeEnd = FileHandle(fileDescriptor: fds[1], closeOnDealloc: true)
        let scratch = try TemporaryDirectory("trove-pipe")
        let errURL = scratch.url.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let errHandle = try FileHandle(forWritingTo: errURL)
        defer { try? errHandle.close() }
        let process = Process()
        process.executableURL = try binary("trove")
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = writeEnd
        process.standardError = errHandle
        try process.run()
        try writeEnd.close()
        process.waitUntilExit()
        let status: Int32 =
            process.terminationReason == .uncaughtSignal
            ? 128 + process.terminationStatus : process.terminationStatus
        return CLIResult(
            status: status, stdoutData: Data(), stderrData: try Data(contentsOf: errURL), timedOut: false)
    }
}
