import NIOCore
import TroveCore

/// Writes a pull's verified chunks into their files on a thread of its own, while the pulling
/// thread hashes the next ones.
///
/// On a large file the pulling thread did two things per chunk: hash it (its digest and its share
/// of the blob digest, ``ChunkStream``) and `pwrite` it into the page cache — about a third of its
/// time. Here it only hashes and queues the chunk's bytes (the received frame's own buffer, no
/// copy); this thread writes them, in order. A chunk is queued only after its SHA-256 verified,
/// as before; the blob digest and the switch into place still wait for ``drain()``.
///
/// Memory: at most ``maxPendingBytes`` queued (or one chunk, whatever its size): the received
/// frames those bytes lie in stay referenced until then; plus, writing a large file this pull
/// created, the direct writer's buffer (``DirectFileAppender/bufferSize``).
/// Thread-safe: `@unchecked Sendable` because every stored var is guarded by `lock`, except
/// `appender`, `refused` and `gathered`, which only the writer thread touches.
final class ChunkWriteQueue: @unchecked Sendable {
    /// Most bytes queued and not yet written.
    let maxPendingBytes: Int

    private struct Write {
        var fd: Int32
        var offset: UInt64
        var bytes: ByteBuffer
        var path: String
        /// Through a ``DirectFileAppender`` (a large file this pull created).
        var direct: Bool
        /// The file's final size, for the direct writer to allocate up front (0: unknown).
        var size: UInt64
    }

    /// A write, or (nil) the point where everything before must be readable from the files.
    private typealias Item = Write?

    /// Condition 0: work for the writer (or the end); 1: a write finished (for the pulling thread).
    private let lock = ConditionLock(conditions: 2)
    private var queue = CircularBuffer<Item>()
    private var pendingBytes = 0
    /// The writer holds a write outside the lock.
    private var writing = false
    private var failure: ClientError?
    private var stopping = false
    private var thread: JoinableThread?
    /// Bytes written into their files so far (``completed``).
    private var completedBytes: UInt64 = 0

    /// The writer is woken once this many bytes are queued (or when someone waits for it), not
    /// for every chunk: a chunk of a large file is ~64 KiB, and a wake-up per chunk costs both
    /// threads a futex call and a context switch.
    let wakeBytes: Int

    /// Direct writes a ``DirectFileAppender`` keeps in flight.
    let directWritesInFlight: Int

    /// A queue holding at most `maxPendingBytes` (16 MiB: four 4 MiB CHUNKS frames, enough to
    /// even out the two threads' pace without growing the client's memory much), waking its
    /// writer every `wakeBytes` (at most `maxPendingBytes`); its thread starts with the first write.
    /// Direct writes run up to `directWritesInFlight` at a time.
    init(maxPendingBytes: Int = 16 << 20, wakeBytes: Int = 0, directWritesInFlight: Int = 2) {
        self.maxPendingBytes = maxPendingBytes
        self.wakeBytes = min(wakeBytes, maxPendingBytes)
        self.directWritesInFlight = directWritesInFlight
    }

    /// The writer thread's direct writer for the file it writes, and a file whose filesystem
    /// refused direct I/O (only that thread uses them).
    private var appender: DirectFileAppender?
    private var refused: Int32 = -1
    /// Bytes given to `appender` since it was made: written only once it finished.
    private var gathered: UInt64 = 0

    /// Bytes the queue has written into their files: a write counts once its `pwrite` returned, or,
    /// through a direct writer, once that writer finished the file (``DirectFileAppender/finish()``,
    /// at a ``drain()`` or the next file); queued bytes, and those of a write or direct writer that
    /// failed, do not count. After ``settle()``, what the queue was given for a file and did write.
    var completed: UInt64 {
        lock.lock()
        defer { lock.unlock() }
        return completedBytes
    }

    /// Queues `bytes` to be written to `fd` at `offset`; waits while the queue is full. Throws the
    /// failure an earlier write met (nothing is written after one). With `direct`, the bytes are
    /// written with direct I/O where the file's filesystem allows (``DirectFileAppender``; `size`,
    /// the file's final size when known, lets it allocate the file's blocks up front).
    func write(
        _ bytes: ByteBuffer, fd: Int32, at offset: UInt64, path: String, direct: Bool = false,
        size: UInt64 = 0
    ) throws(ClientError) {
        let n = bytes.readableBytes
        lock.lock()
        if thread == nil, !startLocked() {
            lock.unlock()
            // No thread to be had: write here.
            try bytes.withUnsafeReadableBytes { (raw) throws(ClientError) in
                try SafeWriter.pwriteFully(fd, raw, at: offset, path: path)
            }
            lock.lock()
            completedBytes += UInt64(n)
            lock.unlock()
            return
        }
        while failure == nil, pendingBytes > 0, pendingBytes + n > maxPendingBytes {
            lock.signal(0)  // whatever is queued must be written before this one fits
            lock.wait(1)
        }
        if let failure {
            lock.unlock()
            throw failure
        }
        queue.append(Write(fd: fd, offset: offset, bytes: bytes, path: path, direct: direct, size: size))
        pendingBytes += n
        if pendingBytes >= wakeBytes { lock.signal(0) }
        lock.unlock()
    }

    /// Waits until everything queued is written; throws the first failure.
    func drain() throws(ClientError) {
        lock.lock()
        if thread != nil {
            queue.append(nil)  // a direct writer's gathered bytes too
            lock.signal(0)  // the writer may be waiting for `wakeBytes`
        }
        while !queue.isEmpty || writing { lock.wait(1) }
        let failure = self.failure
        lock.unlock()
        if let failure { throw failure }
    }

    /// Waits until nothing is being written, whatever happened (before a file is closed on an
    /// error path: no write may reach a descriptor after it was closed).
    func settle() { try? drain() }

    /// Writes what is queued and ends the thread (the owner must call it: the thread holds the queue).
    func stop() {
        lock.lock()
        stopping = true
        lock.signal(0)
        let thread = self.thread
        self.thread = nil
        lock.unlock()
        thread?.join()
    }

    /// Starts the writer thread (lock held); false when the system refuses one.
    private func startLocked() -> Bool {
        thread = JoinableThread { self.run() }
        return thread != nil
    }

    private func run() {
        lock.lock()
        while true {
            while queue.isEmpty, !stopping { lock.wait(0) }
            guard let item = queue.popFirst() else { break }
            writing = true
            let skip = failure != nil
            lock.unlock()
            var error: ClientError?
            var written: UInt64 = 0
            if !skip {
                do throws(ClientError) { written = try perform(item) } catch let e { error = e }
            } else if item == nil {
                // After a failure, a drain still ends the direct writer (its deinit waits for
                // the writes in flight): the caller may close the file next.
                dropAppender()
                refused = -1
            }
            lock.lock()
            writing = false
            completedBytes += written
            pendingBytes -= item?.bytes.readableBytes ?? 0
            if failure == nil { failure = error }
            lock.signal(1)
        }
        let failed = failure != nil
        lock.unlock()
        // After a failure nothing more is written: the direct writer is dropped, not finished.
        var written: UInt64 = 0
        if failed { dropAppender() } else { written = (try? finishAppender()) ?? 0 }
        lock.lock()
        completedBytes += written
        lock.unlock()
    }

    /// Writes one item on the writer thread: a write, directly or the ordinary way, or the end of
    /// the direct writer's file (its gathered bytes written, its descriptor closed); returns the
    /// bytes that are now written into their files (a direct writer's once it finished).
    private func perform(_ item: Item) throws(ClientError) -> UInt64 {
        guard let w = item else {
            defer { refused = -1 }
            return try finishAppender()
        }
        var written: UInt64 = 0
        if let a = appender, !w.direct || a.fd != w.fd { written = try finishAppender() }
        if w.direct, appender == nil, refused != w.fd {
            appender = DirectFileAppender(
                fd: w.fd, path: w.path, size: w.size, writesInFlight: directWritesInFlight)
            if appender == nil { refused = w.fd }
        }
        try w.bytes.withUnsafeReadableBytes { (raw) throws(ClientError) in
            if let a = appender {
                try a.write(raw, at: w.offset)
                gathered += UInt64(raw.count)
            } else {
                try SafeWriter.pwriteFully(w.fd, raw, at: w.offset, path: w.path)
                written += UInt64(raw.count)
            }
        }
        return written
    }

    /// Drops the direct writer unfinished (its deinit waits for the writes in flight); what it
    /// gathered is not counted as written.
    private func dropAppender() {
        appender = nil
        gathered = 0
    }

    /// Ends the direct writer, if any (its gathered bytes written, its descriptor closed); returns
    /// the bytes given to it, now written. Gone either way.
    private func finishAppender() throws(ClientError) -> UInt64 {
        guard let a = appender else { return 0 }
        let n = gathered
        appender = nil
        gathered = 0
        try a.finish()
        return n
    }
}
