import Glibc

/// Sends sd_notify(3) messages (`READY=1`, `STOPPING=1`, `STATUS=…`) to systemd when
/// `NOTIFY_SOCKET` is set; does nothing otherwise. No libsystemd dependency.
enum SystemdNotify {
    /// Sends `message`; returns false if NOTIFY_SOCKET is set but the send failed.
    @discardableResult
    static func send(_ message: String) -> Bool {
        guard let raw = getenv("NOTIFY_SOCKET") else { return true }
        var path = Array(String(cString: raw).utf8)
        guard !path.isEmpty, path.count < 108 else { return false }
        if path[0] == UInt8(ascii: "@") { path[0] = 0 }  // abstract namespace
        let fd = socket(AF_UNIX, Int32(SOCK_DGRAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        withUnsafeMutableBytes(of: &addr.sun_path) { p in
            for (i, b) in path.enumerated() { p[i] = b }
        }
        let len = socklen_t(MemoryLayout<sa_family_t>.size + path.count)
        let bytes = Array(message.utf8)
        let sent = withUnsafePointer(to: &addr) { ap in
            ap.withMemoryRebound(to: sockaddr.self, capacity: 1) { sp in
                bytes.withUnsafeBytes { sendto(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL), sp, len) }
            }
        }
        return sent == bytes.count
    }
}
