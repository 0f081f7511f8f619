#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress display on standard error: phase, bytes done of total, rate, ETA and the
/// share deduplicated. Only created when standard error is a terminal (``Progress/forTerminal()``).
public final class Progress {
    private var phase = ""
    private var total: UInt64 = 0
    private var done: UInt64 = 0
    private var started = 0.0
    private var lastDraw = 0.0
    private var drawn = false
    /// Share (0…1) of the content the server already had, shown when set.
    public var deduplicated: Double?

    /// A progress display when standard error is a terminal, else nil (silent).
    public static func forTerminal() -> Progress? { isatty(2) != 0 ? Progress() : nil }

    public init() {}

    /// Starts a phase with a known total in bytes.
    public func start(phase: String, total: UInt64) {
        self.phase = phase
        self.total = total
        done = 0
        started = Progress.now()
        lastDraw = 0
        draw(force: true)
    }

    /// Adds `bytes` to the work done. Thread-safe.
    public func advance(by bytes: UInt64) {
        lock.withLock {
            done += bytes
            draw(force: false)
        }
    }

    private let lock = Lock()

    /// Clears the line.
    public func finish() {
        if drawn { write("\r\u{1B}[2K") }
        drawn = false
    }

    private func draw(force: Bool) {
        let t = Progress.now()
        guard force || t - lastDraw >= 0.2 else { return }
        lastDraw = t
        let elapsed = max(t - started, 0.001)
        let rate = Double(done) / elapsed
        var line = "\(phase) \(Progress.bytes(done)) / \(Progress.bytes(total))"
        if elapsed > 0.3 {
            line += "  \(Progress.bytes(UInt64(rate)))/s"
            if rate > 0, total > done { line += "  ETA \(Progress.duration(Double(total - done) / rate))" }
        }
        if let d = deduplicated { line += "  \(Int((d * 100).rounded()))% deduplicated" }
        write("\r\u{1B}[2K" + line)
        drawn = true
    }

    private func write(_ s: String) {
        var s = s
        s.withUTF8 { _ = Glibc.write(2, $0.baseAddress, $0.count) }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Binary units: `1.5 GiB`.
    public static func bytes(_ n: UInt64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var u = 0
        while v >= 1024, u < units.count - 1 {
            v /= 1024
            u += 1
        }
        if u == 0 { return "\(n) B" }
        let r = (v * 10).rounded() / 10
        return "\(r) \(units[u])"
    }

    static func duration(_ s: Double) -> String {
        let t = Int(s.rounded())
        if t < 60 { return "\(t)s" }
        if t < 3600 { return "\(t / 60)m\(t % 60)s" }
        return "\(t / 3600)h\((t % 3600) / 60)m"
    }
}
