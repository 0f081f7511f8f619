import Dispatch
import Synchronization
import SystemPackage
import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Creates and writes the small files of a pull into a new stage directory on worker threads,
/// while the pulling thread receives and verifies the next files' chunks.
///
/// Creating a file is most of a small-file pull (the file system allocating an inode and a
/// directory entry under the directory's lock, far more than writing a few KiB into the page
/// cache), and the pulling thread otherwise did it between chunks. A file is queued only after its
/// bytes were verified (every chunk's SHA-256 and the blob digest); each worker creates its files
/// `O_EXCL` in a stage this pull made, writes them whole and gives them their mode. Files of one
/// directory go to one worker (two creators in one directory wait on its lock); the next directory
/// to the next worker.
///
/// Memory: at most ``maxPendingBytes`` of queued content (or one file, whatever its size).
final class StagedFileWriters: Sendable {
    /// Largest file the pull queues here; larger ones are written as their chunks stream in.
    static let fileLimit = 256 << 10
    /// Most bytes queued and not yet written.
    static let maxPendingBytes = 8 << 20

    private struct State {
        var pendingBytes = 0
        var pendingFiles = 0
        var failure: ClientError?
        /// Files written that hold any bytes, and their bytes (``written``).
        var writtenFiles = 0
        var writtenBytes: UInt64 = 0
    }

    private let queues: [DispatchQueue]
    /// Guards the pending counts and the first failure.
    private let state = Mutex(State())
    /// Signalled after each file written (the pulling thread waits on it for room or the end).
    private let done = DispatchSemaphore(value: 0)

    init(threads: Int = 2) {
        queues = (0..<max(1, threads)).map { DispatchQueue(label: "trove.pull.writer.\($0)") }
    }

    var threads: Int { queues.count }

    /// The files the workers have written whole that hold any bytes, and those bytes. A file still
    /// queued, or one the workers skipped after an earlier failure or failed to write, does not
    /// count: after ``settle()``, what the stage holds of what was queued.
    var written: (files: Int, bytes: UInt64) { state.withLock { ($0.writtenFiles, $0.writtenBytes) } }

    /// Queues `content` to be written as the new file `path` (which must not exist) with `mode`
    /// by worker `worker` (modulo the number of workers). Waits while the queue is full; throws
    /// a failure an earlier file met.
    func write(path: String, content: [UInt8], mode: UInt32, worker: Int) throws(ClientError) {
        let n = content.count
        while true {
            let admitted: Bool = try state.withLock { (s) throws(ClientError) in
                if let f = s.failure { throw f }
                guard s.pendingFiles == 0 || s.pendingBytes + n <= StagedFileWriters.maxPendingBytes else {
                    return false
                }
                s.pendingFiles += 1
                s.pendingBytes += n
                return true
            }
            if admitted { break }
            done.wait()
        }
        queues[worker % queues.count].async { [self] in
            var failure: ClientError?
            var written = false
            if state.withLock({ $0.failure == nil }) {
                do throws(ClientError) {
                    try StagedFileWriters.create(path, content, mode: mode)
                    written = true
                } catch {
                    failure = error
                }
            }
            state.withLock { s in
                s.pendingFiles -= 1
                s.pendingBytes -= n
                if s.failure == nil { s.failure = failure }
                if written, n > 0 {
                    s.writtenFiles += 1
                    s.writtenBytes += UInt64(n)
                }
            }
            done.signal()
        }
    }

    /// Waits until every queued file is written; throws the first failure.
    func finish() throws(ClientError) {
        while true {
            let (pending, failure) = state.withLock { ($0.pendingFiles, $0.failure) }
            if pending == 0 {
                if let failure { throw failure }
                return
            }
            done.wait()
        }
    }

    /// Waits until the workers are idle, whatever happened (before a stage is kept or removed).
    func settle() { try? finish() }

    /// Creates `path` exclusively (no symlink followed), writes `content`, gives it `mode`.
    static func create(_ path: String, _ content: [UInt8], mode: UInt32) throws(ClientError) {
        // The creating open may write whatever the mode; the umask is already applied to it
        // (PullSafety.localModes), so the file gets exactly these permission bits.
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode_t(mode & 0o777))
        guard fd >= 0 else { throw .io(path: path, operation: "create", errno: errno) }
        defer { close(fd) }
        do {
            _ = try content.withUnsafeBytes { try FileDescriptor(rawValue: fd).writeAll($0) }
        } catch {
            throw .io(path: path, operation: "write", errno: (error as? Errno)?.rawValue ?? EIO)
        }
        // Set-id and sticky bits (kept only with --preserve-special-modes) are not left to open.
        if mode & 0o7000 != 0, fchmod(fd, mode_t(mode)) != 0 {
            throw .io(path: path, operation: "set the mode of", errno: errno)
        }
    }
}
