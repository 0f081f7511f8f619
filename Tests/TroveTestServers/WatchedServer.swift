import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Test servers started in the background under a watchdog shell, so they never outlive the test
/// process that started them (even after it is killed with SIGKILL).
public enum WatchedServer {
    /// Runs `command` (a shell command line, already quoted) with its output in `log`; the watchdog
    /// runs `afterStart` once it has started (`$w` is the server's pid), and once this process or
    /// the server is gone sends the server TERM, then KILL after `grace` seconds, and removes `dir`.
    /// Returns the watchdog shell's process (running while the server runs).
    public static func start(
        _ command: String, log: String, removing dir: String, grace: Int, afterStart: String = ""
    ) throws -> Process {
        let started = afterStart.isEmpty ? "" : " \(afterStart);"
        let script =
            "\(command) >'\(log)' 2>&1 & w=$!;\(started) while kill -0 \(getpid()) 2>/dev/null && "
            + "kill -0 $w 2>/dev/null; do sleep 1; done; kill $w 2>/dev/null; sleep \(grace); "
            + "kill -9 $w 2>/dev/null; rm -rf '\(dir)'"
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/bin/sh")
        p.arguments = ["-c", script]
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        return p
    }
}
