import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress display on standard error: phase, bytes done of total, rate, ETA and the
/// share deduplicated. Only created when standard error is a terminal (``Progress/forTerminal()``).
/// Thread-safe: the display state lives inside one `Mutex`.
public final class Progress: Sendable {
    private struct State {
        var phase = ""
        var total: UInt64 = 0
        var done: UInt64 = 0
        var started = 0.0
        var lastDraw = 0.0
        var drawn = false
        var deduplicated: Double?
    }

    private let state = Mutex(State())

    /// Share (0…1) of the content the server already had, shown when set.
    public var deduplicated: Double? {
        get { state.withLock { $0.deduplicated } }
        set { state.withLock { $0.deduplicated = newValue } }
    }

    /// A progress display when standard error is a terminal, else nil (silent).
    public static func forTerminal() -> Progress? { isatty(2) != 0 ? Progress() : nil }

    public init() {}

    /// Starts a phase with a known total in bytes.
    public func start(phase: String, total: UInt64) {
        state.withLock { s in
            s.phase = phase
            s.total = total
            s.done = 0
            s.started = Progress.now()
            s.lastDraw = 0
            Progress.draw(&s, force: true)
        }
    }

    /// Adds `bytes` to the work done.
    public func advance(by bytes: UInt64) {
        state.withLock { s in
            s.done += bytes
            Progress.draw(&s, force: false)
        }
    }

    /// Clears the line.
    public func finish() {
        state.withLock { s in
            if s.drawn { Progress.write("\r\u{1B}[2K") }
            s.drawn = false
        }
    }

    private static func draw(_ s: inout State, force: Bool) {
        let t = Progress.now()
        guard force || t - s.lastDraw >= 0.2 else { return }
        s.lastDraw = t
        let elapsed = max(t - s.started, 0.001)
        let rate = Double(s.done) / elapsed
        var line = "\(s.phase) \(Progress.bytes(s.done)) / \(Progress.bytes(s.total))"
        if elapsed > 0.3 {
            line += "  \(Progress.bytes(UInt64(rate)))/s"
            if rate > 0, s.total > s.done {
                line += "  ETA \(Progress.duration(Double(s.total - s.done) / rate))"
            }
        }
        if let d = s.deduplicated { line += "  \(Int((d * 100).rounded()))% deduplicated" }
        write("\r\u{1B}[2K" + line)
        s.drawn = true
    }

    private static func write(_ s: String) {
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
