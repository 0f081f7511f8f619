import Foundation
import NIOCore
import TroveCore
import TroveProtocol

/// A bare TCP connection for testing how troved treats hostile or broken clients: sends raw
/// bytes, reads frames back with a timeout, and tells when the server closed the connection.
final class RawConnection {
    private let fd: Int32
    private var inbox = ByteBuffer()
    private var sawPreamble = false

    /// Connects to `address` (`HOST:PORT`).
    init(_ address: String) throws {
        let parts = address.split(separator: ":")
        guard parts.count == 2, let port = UInt16(parts[1]) else {
            throw CLIError(description: "bad address \(address)")
        }
        fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        inet_pton(AF_INET, String(parts[0]), &addr.sin_addr)
        let r = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard r == 0 else { throw CLIError(description: "connect to \(address) failed: errno \(errno)") }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(fd) }

    /// Sends raw bytes (errors such as a reset connection are ignored: the test reads the outcome).
    func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { raw in
            var off = 0
            while off < raw.count {
                let n = Glibc.send(fd, raw.baseAddress! + off, raw.count - off, Int32(MSG_NOSIGNAL))
                if n <= 0 { return }
                off += n
            }
        }
    }

    func sendPreamble() { send(Array(Preamble.current.encoded.readableBytesView)) }

    /// Sends one frame holding `message`.
    func send(_ message: Message, requestID: UInt32) {
        var b = ByteBuffer()
        Envelope(message, requestID: requestID).write(into: &b)
        send(Array(b.readableBytesView))
    }

    /// Reads until one whole frame (after the server's preamble) arrives; nil on EOF or timeout.
    func readFrame() -> Frame? {
        while true {
            if !sawPreamble, inbox.readableBytes >= Preamble.size {
                inbox.moveReaderIndex(forwardBy: Preamble.size)
                sawPreamble = true
            }
            if sawPreamble, let f = try? Frame.parse(&inbox, maxPayload: ProtocolLimits.absoluteMaxPayload) {
                return f
            }
            var buf = [UInt8](repeating: 0, count: 65536)
            let n = recv(fd, &buf, buf.count, 0)
            if n <= 0 { return nil }
            inbox.writeBytes(buf[0..<n])
        }
    }

    /// Reads one frame and decodes its message.
    func readMessage() -> Message? { try? readFrame()?.message() }

    /// True when the server has closed the connection (EOF within the timeout, after any
    /// remaining frames are drained).
    func isClosedByServer() -> Bool {
        var buf = [UInt8](repeating: 0, count: 65536)
        while true {
            let n = recv(fd, &buf, buf.count, 0)
            if n == 0 { return true }
            if n < 0 { return errno == ECONNRESET }
        }
    }

    /// HELLO and its answer.
    func hello() -> Message.HelloOK? {
        sendPreamble()
        send(.hello(.init(client: "raw-test", codecs: [.zstd, .raw])), requestID: 1)
        guard let ok = readMessage()?.as(Message.HelloOK.self) else { return nil }
        return ok
    }
}
