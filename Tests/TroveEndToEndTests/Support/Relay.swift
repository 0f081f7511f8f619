import Foundation

/// A TCP relay on loopback in front of a real troved: every byte goes through unchanged, both
/// ways, on every connection. Once `condition` holds when a client's bytes arrive, `action` runs
/// (once, on the relay's thread) before those bytes, or any later client bytes on any connection,
/// are passed on. So a test can act at a point of a command it cannot otherwise stop at: e.g.
/// between a pull making its stage directory and its first `GET_CHUNKS` reaching troved, which
/// can then not finish before `action` has.
final class Relay: Sendable {
    /// `127.0.0.1:PORT`, for `--server` / `TROVE_SERVER`.
    let address: String
    /// Whether `action` has run.
    var fired: Bool { state.withValue { $0 == .done } }

    private enum Stage: Sendable { case waiting, running, done }
    private let state = Locked(Stage.waiting)
    private let fd: Int32

    /// Relays to `server` (`127.0.0.1:PORT`).
    init(
        to server: String, when condition: @escaping @Sendable () -> Bool,
        then action: @escaping @Sendable () -> Void
    ) throws {
        guard let colon = server.lastIndex(of: ":"), let port = UInt16(server[server.index(after: colon)...])
        else { throw CLIError(description: "relay: \(server) is not HOST:PORT") }
        let s: Int32
        (s, address) = try FakeServer.listenOnLoopback()
        fd = s
        let state = self.state
        /// Called with the client's bytes in hand, before they are passed on.
        let gate: @Sendable () -> Void = {
            guard condition() else { return }
            let mine = state.withValue { s -> Bool in
                guard s == .waiting else { return false }
                s = .running
                return true
            }
            if mine {
                action()
                state.withValue { $0 = .done }
            }
            while state.withValue({ $0 }) != .done { usleep(1000) }
        }
        Thread {
            while true {
                let client = accept(s, nil, nil)
                if client < 0 { return }
                let upstream = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                var to = sockaddr_in()
                to.sin_family = sa_family_t(AF_INET)
                to.sin_port = port.bigEndian
                inet_pton(AF_INET, "127.0.0.1", &to.sin_addr)
                let connected = withUnsafePointer(to: &to) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                        connect(upstream, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0
                    }
                }
                guard connected else {
                    close(upstream)
                    close(client)
                    continue
                }
                // The second direction to end closes both sockets.
                let open = Locked(2)
                let directions: [(Int32, Int32, (@Sendable () -> Void)?)] = [
                    (client, upstream, gate), (upstream, client, nil),
                ]
                for (from, into, check) in directions {
                    Thread {
                        Relay.pump(from: from, to: into, gate: check)
                        if open.withValue({ n -> Int in
                            n -= 1
                            return n
                        }) == 0 {
                            close(client)
                            close(upstream)
                        }
                    }.start()
                }
            }
        }.start()
    }

    deinit {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }

    /// Copies `from` to `to` until `from` ends, then ends `to`'s sending side.
    private static func pump(from: Int32, to: Int32, gate: (@Sendable () -> Void)?) {
        var buffer = [UInt8](repeating: 0, count: 1 << 16)
        copying: while true {
            let n = recv(from, &buffer, buffer.count, 0)
            if n <= 0 { break }
            gate?()
            var sent = 0
            while sent < n {
                let m = buffer[sent..<n].withUnsafeBytes {
                    send(to, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL))
                }
                if m <= 0 { break copying }
                sent += m
            }
        }
        shutdown(to, Int32(SHUT_WR))
    }
}
