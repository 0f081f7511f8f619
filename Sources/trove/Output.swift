import SystemPackage
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Standard output and standard error for every `trove` command.
///
/// A reader that stops early (`trove ls --json | head`) closes the pipe: SIGPIPE is ignored
/// (``ignoreBrokenPipe()``, first thing in `main`), so writes fail with `EPIPE` instead of killing
/// the process, and the first such failure ends the command quietly with exit 0 — the reader got
/// what it wanted; there is nothing to report. Nothing here traps (Foundation's
/// `FileHandle.write(_:)` does on `EPIPE`, which is why commands never use it).
enum Output {
    /// Ignores SIGPIPE for the whole process (NIO does too once a connection opens), so closed
    /// pipes show up as `EPIPE` and are handled in one place.
    static func ignoreBrokenPipe() {
        signal(SIGPIPE, SIG_IGN)
    }

    /// Bytes written but not yet sent to file descriptor 1.
    private static let pending = Mutex<[UInt8]>([])
    /// Whether standard output is a terminal (then every line is sent at once).
    private static let interactive = isatty(1) != 0

    /// Writes `text` to standard output; a closed pipe ends the command (exit 0).
    static func out(_ text: String) { out(bytes: Array(text.utf8)) }

    /// Writes raw bytes to standard output, buffered (64 KiB; a line at a time on a terminal); a
    /// closed pipe ends the command (exit 0).
    static func out(bytes: [UInt8]) {
        pending.withLock { buffer in
            buffer += bytes
            if buffer.count >= 1 << 16 || (interactive && bytes.contains(0x0A)) {
                send(buffer)
                buffer.removeAll(keepingCapacity: true)
            }
        }
    }

    /// Sends what is buffered (before exiting, and before anything writes to fd 1 directly).
    static func flush() {
        pending.withLock { buffer in
            send(buffer)
            buffer.removeAll(keepingCapacity: true)
        }
    }

    private static func send(_ bytes: [UInt8]) {
        bytes.withUnsafeBytes { buf in
            do { try FileDescriptor.standardOutput.writeFully(buf) } catch { stdoutFailed((error as? Errno)?.rawValue ?? EIO) }
        }
    }

    /// Writes `text` to standard error, unbuffered; failures are ignored (there is nowhere left
    /// to report them).
    static func err(_ text: String) {
        var text = text
        text.withUTF8 { buf in
            try? FileDescriptor.standardError.writeFully(UnsafeRawBufferPointer(buf))
        }
    }

    /// Called when writing to standard output failed: a closed pipe exits 0 quietly; any other
    /// error (disk full on a redirect) is reported and exits 1.
    static func stdoutFailed(_ code: Int32) -> Never {
        if code == EPIPE { _exit(0) }
        err("trove: error: cannot write to standard output: \(String(cString: strerror(code)))\n")
        _exit(1)
    }
}

/// `print` for the `trove` executable: the standard library's, routed through ``Output`` so a
/// closed pipe ends the command quietly instead of being ignored or crashing. (Declared in this
/// module, it shadows `Swift.print` for every command file.)
func print(_ items: Any..., separator: String = " ", terminator: String = "\n") {
    var line = ""
    for (i, item) in items.enumerated() {
        if i > 0 { line += separator }
        line += String(describing: item)
    }
    Output.out(line + terminator)
}
