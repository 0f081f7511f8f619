import Foundation
import NIOCore
import Synchronization
import Testing
import TroveCore
import TroveProtocol

/// Floods troved the way issue 14 did, bounded in time: 500 idle sockets, slowloris handshakes and
/// 250 authenticated connections each sending all but the last byte of a maximum-size frame,
/// while a normal client pushes and pulls. troved must stay under a stated resident size, the
/// normal client must succeed, and memory must come back near its baseline once the flood ends.
@Suite("troved under a connection flood", .serialized)
struct FloodSoakTests {
    /// The resident-size ceiling troved must stay under (receive_memory is 256 MiB).
    static let rssCeiling = 512 << 20
    /// How far above its pre-flood resident size troved may stay once the flood is over.
    static let settleMargin = 96 << 20

    @Test func floodOfIdleSlowAndHalfSentFramesDoesNotStarveANormalClient() throws {
        raiseOpenFileLimit()
        let server = try TestServer(
            config: """
                [server]
                max_connections = 300
                max_handshakes = 64
                receive_memory = "256MiB"
                frame_stall_ms = 1000
                [limits]
                handshake_timeout_ms = 3000
                max_frame = "8MiB"
                """)
        let pid = try #require(server.pid)
        let dir = try TemporaryDirectory()
        let warm = try dir.write("warm.bin", ClientE2E.random(seed: 90, count: 1_000_000))
        #expect(try server.trove(["push", warm, "soak/warm:1"]).status == 0)
        let baseline = try ProcStatus.read(pid)

        let flood = Flood(address: server.address)
        let sampler = RSSSampler(pid: pid)
        // Authenticated attackers first (they need a handshake slot), then the idle sockets and
        // the slowloris handshakes that fill the handshake budget.
        try flood.openHalfFrameSenders(250)
        flood.openIdleSockets(500)
        flood.startSlowloris(32)
        flood.startSending()
        Thread.sleep(forTimeInterval: 2)

        let data = ClientE2E.random(seed: 91, count: 24_000_000)
        let path = try dir.write("model.bin", data)
        let started = Date()
        let push = try server.trove(["push", path, "soak/model:1"], timeout: 120)
        let pushSeconds = Date().timeIntervalSince(started)
        #expect(push.status == 0, "push during the flood: \(push)\n\(server.log().suffix(3000))")
        let dest = dir.url.appendingPathComponent("out")
        let pullStarted = Date()
        let pull = try server.trove(["pull", "soak/model:1", dest.path], timeout: 120)
        let pullSeconds = Date().timeIntervalSince(pullStarted)
        #expect(pull.status == 0, "pull during the flood: \(pull)")
        #expect(try ClientE2E.read(dest.appendingPathComponent("model.bin").path) == data)
        let counts = flood.stop()
        let peak = sampler.stop()

        let hwm = try ProcStatus.read(pid).hwm
        #expect(hwm < Self.rssCeiling, "troved peaked at \(hwm >> 20) MiB resident")
        // Memory comes back once the connections are gone (polled; the bound, not the time, decides).
        var settled = try ProcStatus.read(pid)
        let deadline = Date().addingTimeInterval(20)
        while settled.rss > baseline.rss + Self.settleMargin && Date() < deadline {
            Thread.sleep(forTimeInterval: 0.25)
            settled = try ProcStatus.read(pid)
        }
        #expect(
            settled.rss <= baseline.rss + Self.settleMargin,
            "troved holds \(settled.rss >> 20) MiB after the flood, baseline \(baseline.rss >> 20) MiB")
        let c = try RawConnection(server.address)
        #expect(c.hello() != nil, "troved still answers after the flood")
        print(
            "flood soak: baseline \(baseline.rss >> 20) MiB, peak sampled \(peak >> 20) MiB, VmHWM \(hwm >> 20) MiB, "
                + "after \(settled.rss >> 20) MiB; push \(String(format: "%.1f", pushSeconds)) s, pull "
                + "\(String(format: "%.1f", pullSeconds)) s (24 MB); attackers sent \(counts.bytesSent >> 20) MiB, "
                + "closed by troved: \(counts.attackersClosed)/250 half-frame, \(counts.idleClosed)/500 idle, "
                + "\(counts.slowlorisConnects) slowloris connects")
    }

    func raiseOpenFileLimit() {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
    }
}

/// VmRSS and VmHWM of a process, in bytes.
struct ProcStatus {
    var rss: Int
    var hwm: Int

    static func read(_ pid: Int32) throws -> ProcStatus {
        let text = try String(contentsOfFile: "/proc/\(pid)/status", encoding: .utf8)
        func kb(_ key: String) -> Int {
            let line = text.split(separator: "\n").first { $0.hasPrefix(key + ":") } ?? ""
            return
                (Int(line.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first ?? "") ?? 0)
                << 10
        }
        return ProcStatus(rss: kb("VmRSS"), hwm: kb("VmHWM"))
    }
}

/// Samples a process's resident size every 100 ms until stopped; returns the largest sample.
final class RSSSampler: Sendable {
    private let peak = Mutex(0)
    private let running = Mutex(true)
    private let done = DispatchSemaphore(value: 0)

    init(pid: Int32) {
        Thread.detachNewThread { [self] in
            while running.withLock({ $0 }) {
                if let s = try? ProcStatus.read(pid) { peak.withLock { $0 = max($0, s.rss) } }
                Thread.sleep(forTimeInterval: 0.1)
            }
            done.signal()
        }
    }

    func stop() -> Int {
        running.withLock { $0 = false }
        done.wait()
        return peak.withLock { $0 }
    }
}

/// The hostile connections: raw sockets driven without blocking from two threads.
final class Flood: Sendable {
    struct Counts {
        var bytesSent = 0
        var attackersClosed = 0
        var idleClosed = 0
        var slowlorisConnects = 0
    }

    private struct State {
        var senders: [(fd: Int32, sent: Int)] = []
        var idle: [Int32] = []
        var counts = Counts()
        var running = true
    }

    private let address: String
    private let state = Mutex(State())
    private let finished = DispatchGroup()
    /// All but the last byte of a PUT_CHUNKS frame announcing an 8 MiB payload.
    private let halfFrame: [UInt8]

    init(address: String) {
        self.address = address
        let length = 8 << 20
        var header = ByteBuffer()
        header.writeInteger(UInt32(length))
        header.writeInteger(MessageType.putChunks.rawValue)
        header.writeInteger(UInt8(0))
        header.writeInteger(UInt32(2))
        halfFrame = Array(header.readableBytesView) + [UInt8](repeating: 0, count: length + 4 - 1)
    }

    private var running: Bool { state.withLock { $0.running } }

    func connectSocket() -> Int32? {
        let parts = address.split(separator: ":")
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(parts[1])!.bigEndian
        inet_pton(AF_INET, String(parts[0]), &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if r != 0 {
            close(fd)
            return nil
        }
        return fd
    }

    /// Connections that complete the handshake (open access), ready to send their half frame.
    func openHalfFrameSenders(_ n: Int) throws {
        for _ in 0..<n {
            guard let fd = connectSocket() else { throw CLIError(description: "connect failed: \(errno)") }
            var b = Preamble.current.encoded
            Envelope(.hello(.init(client: "flood", codecs: [])), requestID: 1).write(into: &b)
            _ = b.withUnsafeReadableBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            // Preamble (8) + HELLO_OK frame: read until one whole frame is in.
            var inbox = ByteBuffer()
            var buf = [UInt8](repeating: 0, count: 4096)
            var tv = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
            while true {
                let got = recv(fd, &buf, buf.count, 0)
                guard got > 0 else { throw CLIError(description: "handshake of a flood connection failed") }
                inbox.writeBytes(buf[0..<got])
                var probe = inbox
                probe.moveReaderIndex(forwardBy: min(Preamble.size, probe.readableBytes))
                if inbox.readableBytes > Preamble.size,
                    (try? Frame.parse(&probe, maxPayload: ProtocolLimits.absoluteMaxPayload)) != nil
                {
                    break
                }
            }
            state.withLock { $0.senders.append((fd, 0)) }
        }
    }

    /// Sockets that connect and say nothing (most are closed at accept).
    func openIdleSockets(_ n: Int) {
        for _ in 0..<n {
            if let fd = connectSocket() { state.withLock { $0.idle.append(fd) } }
        }
    }

    /// `n` handshakes that send one byte every 200 ms and reconnect when troved closes them.
    func startSlowloris(_ n: Int) {
        finished.enter()
        Thread.detachNewThread { [self] in
            var bytes = Array(Preamble.current.encoded.readableBytesView)
            var hello = ByteBuffer()
            Envelope(.hello(.init(client: "slow", codecs: [])), requestID: 1).write(into: &hello)
            bytes += Array(hello.readableBytesView)
            var conns: [(fd: Int32, at: Int)] = []
            while running {
                while conns.count < n, let fd = connectSocket() {
                    conns.append((fd, 0))
                    state.withLock { $0.counts.slowlorisConnects += 1 }
                }
                for i in conns.indices.reversed() {
                    let (fd, at) = conns[i]
                    let r = send(fd, [bytes[at % (bytes.count - 1)]], 1, Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                    if r < 0 && errno != EAGAIN {
                        close(fd)
                        conns.remove(at: i)
                    } else {
                        conns[i].at += 1
                    }
                }
                Thread.sleep(forTimeInterval: 0.2)
            }
            for c in conns { close(c.fd) }
            finished.leave()
        }
    }

    /// Sends the half frames round-robin without blocking until each is sent or its socket closed.
    func startSending() {
        finished.enter()
        Thread.detachNewThread { [self] in
            while running {
                let progress = state.withLock { s in
                    var progress = false
                    for i in s.senders.indices
                    where s.senders[i].fd >= 0 && s.senders[i].sent < halfFrame.count {
                        let (fd, sent) = s.senders[i]
                        let n = halfFrame.withUnsafeBytes { raw in
                            send(
                                fd, raw.baseAddress! + sent, min(1 << 20, halfFrame.count - sent),
                                Int32(MSG_NOSIGNAL | MSG_DONTWAIT))
                        }
                        if n > 0 {
                            s.senders[i].sent += n
                            s.counts.bytesSent += n
                            progress = true
                        } else if n < 0 && errno != EAGAIN && errno != EWOULDBLOCK {
                            close(fd)
                            s.senders[i].fd = -1
                            s.counts.attackersClosed += 1
                        }
                    }
                    return progress
                }
                if !progress { Thread.sleep(forTimeInterval: 0.02) }
            }
            finished.leave()
        }
    }

    /// Stops the flood, counts what troved closed, closes every socket.
    func stop() -> Counts {
        state.withLock { $0.running = false }
        finished.wait()
        return state.withLock { s in
            for sender in s.senders where sender.fd >= 0 {
                if Flood.closedByPeer(sender.fd) { s.counts.attackersClosed += 1 }
                close(sender.fd)
            }
            for fd in s.idle {
                if Flood.closedByPeer(fd) { s.counts.idleClosed += 1 }
                close(fd)
            }
            s.senders = []
            s.idle = []
            return s.counts
        }
    }

    /// Whether the peer has closed `fd` (EOF or reset pending), without blocking.
    static func closedByPeer(_ fd: Int32) -> Bool {
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buf, buf.count, Int32(MSG_DONTWAIT))
            if n == 0 { return true }
            if n < 0 { return errno != EAGAIN && errno != EWOULDBLOCK }
        }
    }
}
