import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A one-line progress bar on standard error:
///
///     hashing   [#########...........]  45%  1.2 GiB / 2.7 GiB  85.3 MiB/s  ETA 18s
///     sending   [####................]  20%  210 MiB / 1.0 GiB  40 MiB/s  ETA 20s  88% already on the server
///     committing
///
/// Phase, bar with percent, bytes, rate and ETA. It is redrawn five times a second by its own
/// ticker thread, so rate and ETA stay current between updates; during a phase that reads local
/// files (`hashing`) the bytes read by the process so far (`/proc/self/io`) move the bar while a
/// large file is still being hashed. Only created when standard error is a terminal
/// (``Progress/forTerminal()``); its output never goes to standard output.
public final class Progress: Sendable {
    private struct State: Sendable {
        var phase = ""
        var total: UInt64 = 0
        var done: UInt64 = 0
        var started = 0.0
        var drawn = false
        var stopped = false
        /// Bytes the process had read (rchar) at the last ``advance(by:)`` of a reading phase.
        var readBaseline: UInt64?
        var alreadyOnServer: Double?
    }

    private let state = Mutex(State())
    private let out: Int32
    /// Called with (phase, bytes done, total) on every start and advance; nil for a display.
    private let observer: (@Sendable (String, UInt64, UInt64) -> Void)?

    /// A progress display when standard error is a terminal, else nil (silent).
    public static func forTerminal() -> Progress? { isatty(2) != 0 ? Progress(fd: 2) : nil }

    /// A display writing to `fd` (standard error by default).
    public init(fd: Int32 = 2) {
        out = fd
        observer = nil
        startTicker()
    }

    /// No display: reports every phase start and every advance to `observer` (phase, bytes done,
    /// total), on the thread that made it, for programs that show progress their own way (the
    /// git-lfs agent's `progress` events).
    public init(observer: @escaping @Sendable (_ phase: String, _ done: UInt64, _ total: UInt64) -> Void) {
        out = -1
        self.observer = observer
    }

    deinit { state.withLock { $0.stopped = true } }

    /// Share (0…1) of the content the server already had (shown as "N% already on the server").
    public var deduplicated: Double? {
        get { state.withLock { $0.alreadyOnServer } }
        set { state.withLock { $0.alreadyOnServer = newValue } }
    }

    /// Starts a phase with a known total in bytes (0: a phase without a measure, e.g. committing).
    /// The phase `reading`/`hashing` also counts the bytes the process reads from files.
    public func start(phase: String, total: UInt64) {
        let label = phase == "reading" ? "hashing" : phase
        let line = state.withLock { s -> String in
            s.phase = label
            s.total = total
            s.done = 0
            s.started = Progress.now()
            s.readBaseline = label == "hashing" ? Progress.bytesRead() : nil
            s.drawn = true
            return Progress.render(s, now: s.started)
        }
        observer?(label, 0, total)
        write(line)
    }

    /// Adds `bytes` to the work done. Thread-safe.
    public func advance(by bytes: UInt64) {
        let now = state.withLock { s in
            s.done += bytes
            if observer == nil, s.readBaseline != nil { s.readBaseline = Progress.bytesRead() }
            return (s.phase, s.done, s.total)
        }
        observer?(now.0, now.1, now.2)
    }

    /// Clears the line; the display stays silent until the next ``start(phase:total:)``.
    public func finish() {
        let clear = state.withLock { s -> Bool in
            defer { s.drawn = false }
            return s.drawn
        }
        if clear { write("\r\u{1B}[2K") }
    }

    /// Stops the display for good (also done when it is released).
    public func stop() {
        finish()
        state.withLock { $0.stopped = true }
    }

    /// The line as the ticker would draw it now (for tests).
    func currentLine() -> String {
        state.withLock { Progress.render($0, now: Progress.now()) }
    }

    private func startTicker() {
        let thread = Thread { [weak self] in
            while true {
                usleep(200_000)
                guard let self else { return }
                let line = self.state.withLock { s -> String? in
                    guard !s.stopped else { return nil }
                    return s.drawn ? Progress.render(s, now: Progress.now()) : ""
                }
                guard let line else { return }
                if !line.isEmpty { self.write(line) }
            }
        }
        thread.start()
    }

    /// The line for `s` at time `now`.
    private static func render(_ s: State, now: Double) -> String {
        var done = s.done
        if let base = s.readBaseline, let read = bytesRead(), read > base {
            done = min(s.total, s.done + (read - base))
        }
        var line = s.phase.padding(10)
        guard s.total > 0 else { return "\r\u{1B}[2K" + line }
        line += " " + bar(done: done, total: s.total)
        line += "  \(bytes(done)) / \(bytes(s.total))"
        let elapsed = now - s.started
        if elapsed > 0.5, done > 0 {
            let rate = Double(done) / elapsed
            line += "  \(bytes(UInt64(rate)))/s"
            if s.total > done { line += "  ETA \(duration(Double(s.total - done) / rate))" }
        }
        if let d = s.alreadyOnServer { line += "  \(Int((d * 100).rounded()))% already on the server" }
        return "\r\u{1B}[2K" + line
    }

    /// `[#####...............]  25%`.
    static func bar(done: UInt64, total: UInt64, width: Int = 20) -> String {
        let fraction = total == 0 ? 1 : min(1, Double(done) / Double(total))
        let filled = Int((fraction * Double(width)).rounded(.down))
        let percent = Int((fraction * 100).rounded(.down))
        let p = String(percent)
        return "[" + String(repeating: "#", count: filled) + String(repeating: ".", count: width - filled)
            + "] " + String(repeating: " ", count: 3 - p.count) + p + "%"
    }

    private func write(_ s: String) {
        guard out >= 0 else { return }
        var s = s
        s.withUTF8 { _ = Glibc.write(out, $0.baseAddress, $0.count) }
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Bytes this process has read with read(2) and friends so far (`rchar` of `/proc/self/io`),
    /// nil where that is not available.
    static func bytesRead() -> UInt64? {
        let fd = open("/proc/self/io", O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var buf = [UInt8](repeating: 0, count: 512)
        let n = buf.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        guard n > 0 else { return nil }
        for line in String(decoding: buf[0..<n], as: UTF8.self).split(separator: "\n")
        where line.hasPrefix("rchar:") {
            return UInt64(line.dropFirst(6).filter { $0 != " " })
        }
        return nil
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

extension String {
    fileprivate func padding(_ n: Int) -> String {
        count >= n ? self : self + String(repeating: " ", count: n - count)
    }
}
