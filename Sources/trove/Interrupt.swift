import Foundation
import Synchronization

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Ctrl-C during a long command (push, pull).
///
/// Before the command reaches a point where it can stop cleanly, or on a second Ctrl-C, SIGINT
/// prints the message given to ``install(message:)`` (what was kept, how to resume) and exits 130
/// at once. Once the command is ``cooperative`` (a pull about to make directories), the first
/// SIGINT only sets ``requested`` and runs the action given to ``whenRequested(_:)`` on a thread
/// of its own (a pull closes its connections, so a wait for the server ends); the command then
/// stops at its next check and reports exactly what it kept. The handler only uses
/// async-signal-safe calls (`write`, `_exit`) and atomics.
enum Interrupt {
    private static let flag = Atomic<Bool>(false)
    private static let canStop = Atomic<Bool>(false)
    /// The message bytes (allocated once, never freed) and their length.
    private static let messageAddress = Atomic<Int>(0)
    private static let messageLength = Atomic<Int>(0)
    /// The write end of the pipe that wakes the ``whenRequested(_:)`` thread (-1: none).
    private static let wakeFD = Atomic<Int32>(-1)

    /// Whether Ctrl-C was pressed.
    static var requested: Bool { flag.load(ordering: .relaxed) }

    /// Whether the command now checks ``requested`` and stops by itself.
    static var cooperative: Bool {
        get { canStop.load(ordering: .relaxed) }
        set { canStop.store(newValue, ordering: .relaxed) }
    }

    /// Installs the SIGINT handler; `message` is what an immediate exit prints on standard error.
    static func install(message: String) {
        let bytes = Array(("\r\u{1B}[2K" + message).utf8)
        let buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: bytes.count)
        buffer.initialize(from: bytes, count: bytes.count)
        messageLength.store(bytes.count, ordering: .relaxed)
        messageAddress.store(Int(bitPattern: buffer), ordering: .releasing)
        // A parent may have started us with SIGINT blocked (the mask is inherited): unblock it
        // before any other thread exists, so threads started later inherit the unblocked mask.
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        signal(SIGINT) { _ in
            let again = Interrupt.flag.exchange(true, ordering: .relaxed)
            if again || !Interrupt.canStop.load(ordering: .relaxed) {
                if let p = UnsafeRawPointer(bitPattern: Interrupt.messageAddress.load(ordering: .acquiring)) {
                    _ = write(2, p, Interrupt.messageLength.load(ordering: .relaxed))
                }
                _exit(130)
            }
            let fd = Interrupt.wakeFD.load(ordering: .acquiring)
            if fd >= 0 {
                let saved = errno  // the interrupted code may be about to read it
                var byte: UInt8 = 1
                _ = write(fd, &byte, 1)
                errno = saved
            }
        }
    }

    /// Runs `action` once, on a thread of its own, when Ctrl-C is pressed while the command is
    /// ``cooperative``: what a signal handler may not do, e.g. close connections a thread waits on.
    /// Call it once, after ``install(message:)``.
    static func whenRequested(_ action: @escaping @Sendable () -> Void) {
        var fds: [Int32] = [-1, -1]
        guard pipe(&fds) == 0 else { return }  // then Ctrl-C stops the command at its next check only
        let (readEnd, writeEnd) = (fds[0], fds[1])
        _ = fcntl(readEnd, F_SETFD, FD_CLOEXEC)
        _ = fcntl(writeEnd, F_SETFD, FD_CLOEXEC)
        Thread {
            var byte: UInt8 = 0
            while read(readEnd, &byte, 1) < 0 && errno == EINTR {}
            action()
        }.start()
        wakeFD.store(writeEnd, ordering: .releasing)
    }
}
