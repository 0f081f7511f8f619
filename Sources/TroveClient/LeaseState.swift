import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Remembers the lease of an unfinished push so a re-run resumes it (`BEGIN_PUSH` with `resume`).
/// One small file per server + name + version under `$XDG_STATE_HOME/trove/leases` (default
/// `~/.local/state/trove/leases`); removed when the push completes. Best effort: any failure to
/// read or write it only means a new lease (HAS still avoids resending stored data).
public struct LeaseState {
    let path: String?

    public init(server: ServerAddress, name: String, version: String, environment: [String: String]) {
        let base: String?
        if let s = environment["XDG_STATE_HOME"], !s.isEmpty {
            base = s
        } else if let h = environment["HOME"], !h.isEmpty {
            base = h + "/.local/state"
        } else {
            base = nil
        }
        let key = SHA256.hash(Array("\(server)\n\(name)\n\(version)".utf8)).hex
        path = base.map { $0 + "/trove/leases/" + key }
    }

    /// The remembered lease, if any.
    public func load() -> LeaseID? {
        guard let path, let fd = Optional(open(path, O_RDONLY | O_CLOEXEC)), fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 64)
        let n = read(fd, &buf, buf.count)
        guard n >= 32, let text = String(validating: buf[0..<32], as: UTF8.self) else { return nil }
        return LeaseID(hex: text)
    }

    /// Remembers `lease`.
    public func save(_ lease: LeaseID) {
        guard let path else { return }
        var dir = ""
        for comp in path.split(separator: "/").dropLast() {
            dir += "/" + comp
            mkdir(dir, 0o700)
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        guard fd >= 0 else { return }
        let text = Array((lease.description + "\n").utf8)
        _ = write(fd, text, text.count)
        close(fd)
    }

    /// Forgets the lease (the push finished).
    public func clear() {
        if let path { unlink(path) }
    }
}
