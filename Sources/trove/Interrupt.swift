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
/// at once. Once the command is ``cooperative`` (a pull writing chunks), the first SIGINT only sets
/// ``requested``; the command then stops at the next chunk and reports exactly what it kept.
/// The handler only uses async-signal-safe calls (`write`, `_exit`) and atomics.
enum Interrupt {
    private static let flag = Atomic<Bool>(false)
    private static let canStop = Atomic<Bool>(false)
    /// The message bytes (allocated once, never freed) and their length.
    private static let messageAddress = Atomic<Int>(0)
    private static let messageLength = Atomic<Int>(0)

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
        }
    }
}
