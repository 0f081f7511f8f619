import NIOCore
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a large pulled file's bytes with direct I/O (`O_DIRECT`), bypassing the page cache, with
/// more than one write in flight.
///
/// A buffered `pwrite` copies every byte into a fresh page-cache page and leaves ext4's delayed
/// allocation and the later writeback to the kernel: on this VM the biggest CPU cost of a pull
/// after the SHA-256 itself (docs/PERFORMANCE.md). Here consecutive writes are gathered into
/// aligned buffers; each full buffer goes to the file with one direct write on an I/O thread
/// (``DirectWriteThreads``) while the caller gathers into the next one: with one direct write at
/// a time the pull waited for the device (docs/PERFORMANCE.md, sessions 8 and 9). Bytes that do not
/// fill a block (a file's head before the first aligned offset, its tail) go through the ordinary
/// descriptor. ``finish()`` writes what is still gathered and waits for every write, after which
/// the file reads as written.
///
/// When the final size is known, the file's blocks are allocated up front (`fallocate`): ext4 runs
/// direct writes into allocated blocks side by side, where each write that extends a file holds the
/// file's lock until the device is done with it.
///
/// Used by one thread at a time (the pull's chunk writer); not thread-safe. The caller's descriptor
/// `fd` must stay open until ``finish()`` returned or the appender is gone (its deinit waits for
/// the writes in flight).
final class DirectFileAppender {
    /// Bytes gathered before a direct write (a multiple of ``DirectIO/alignment``).
    static let bufferSize = 4 << 20

    /// The file's ordinary descriptor (heads, tails, and everything after a refusal).
    let fd: Int32
    let path: String
    /// The direct descriptor, the buffers and the threads writing them; nil after ``finish()``.
    private var io: DirectWriteThreads?
    /// The buffer being gathered into, the file offset of its first byte (aligned) and how many
    /// bytes it holds.
    private var current: Int
    private var start: UInt64 = 0
    private var count = 0

    /// Opens `path` (already open as `fd`) a second time with `O_DIRECT` and, with `size` > 0,
    /// allocates the file's blocks up to `size` (its size becomes `size`); nil where the platform
    /// or the filesystem has no direct I/O. At most `writesInFlight` direct writes run at once.
    init?(fd: Int32, path: String, size: UInt64 = 0, writesInFlight: Int = 2) {
        guard DirectIO.openFlag != 0 else { return nil }
        let d = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | DirectIO.openFlag)
        guard d >= 0 else { return nil }
        if size > 0, let fallocate = Self.fallocate {
            _ = fallocate(fd, 0, 0, off_t(size))  // where the filesystem cannot, the writes allocate
        }
        self.fd = fd
        self.path = path
        let io = DirectWriteThreads(
            fd: fd, directFD: d, path: path, bufferSize: Self.bufferSize, writesInFlight: writesInFlight)
        self.io = io
        self.current = io.takeFree()
    }

    deinit { io?.stop() }

    private typealias Fallocate = @convention(c) (Int32, Int32, off_t, off_t) -> Int32
    /// Linux's `fallocate(2)` (glibc's wrapper, which Swift's Glibc module does not export), looked
    /// up once. Not `posix_fallocate`: where the filesystem has no fallocate, that one writes a
    /// byte into every block of the file.
    private static let fallocate: Fallocate? = {
        guard let process = dlopen(nil, RTLD_NOW), let symbol = dlsym(process, "fallocate") else {
            return nil
        }
        return unsafeBitCast(symbol, to: Fallocate.self)
    }()

    /// Writes `bytes` at `offset`: gathered when they follow what is gathered (else that is
    /// written first). Throws what an earlier direct write met.
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ClientError) {
        var bytes = bytes
        var offset = offset
        if count > 0, offset != start + UInt64(count) { try writeGathered() }
        if count == 0 {
            let misalignment = Int(offset % UInt64(DirectIO.alignment))
            let ordinary = io == nil || io!.refused
            if misalignment != 0 || ordinary {
                // Up to the next aligned offset (or all of it, direct I/O off) the ordinary way.
                let head = ordinary ? bytes.count : min(bytes.count, DirectIO.alignment - misalignment)
                let headBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<head])
                try SafeWriter.pwriteFully(fd, headBytes, at: offset, path: path)
                bytes = UnsafeRawBufferPointer(rebasing: bytes[head...])
                offset += UInt64(head)
                if bytes.isEmpty { return }
            }
            start = offset
        }
        let io = self.io!
        while !bytes.isEmpty {
            let buffer = io.buffers[current]
            let n = min(bytes.count, buffer.count - count)
            UnsafeMutableRawBufferPointer(rebasing: buffer[count..<count + n]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
            count += n
            bytes = UnsafeRawBufferPointer(rebasing: bytes[n...])
            if count == buffer.count {
                current = try io.submit(current, length: count, at: start)
                start += UInt64(count)
                count = 0
            }
        }
    }

    /// Writes every byte gathered (whole blocks direct, the partial last block through the page
    /// cache), waits for every direct write and closes the direct descriptor: what was written is
    /// then readable through `fd`. A later ``write(_:at:)`` opens nothing again: it goes the
    /// ordinary way.
    func finish() throws(ClientError) {
        try writeGathered()
        io?.stop()
        io = nil
    }

    /// Writes everything gathered: whole blocks direct, the rest the ordinary way; waits until
    /// every direct write is done.
    private func writeGathered() throws(ClientError) {
        guard let io else { return }
        let whole = count - count % DirectIO.alignment
        let tail = count - whole
        let buffer = io.buffers[current]
        var next = current
        if whole > 0 { next = try io.submit(current, length: whole, at: start) }
        if tail > 0 {
            // The direct write only reads the buffer, and not this part of it.
            let bytes = UnsafeRawBufferPointer(rebasing: buffer[whole..<count])
            try SafeWriter.pwriteFully(fd, bytes, at: start + UInt64(whole), path: path)
        }
        count = 0
        current = next
        try io.waitForWrites()
    }
}

/// The I/O side of a ``DirectFileAppender``: its direct descriptor, its aligned buffers, and up to
/// `writesInFlight` threads that write submitted buffers with `pwrite`. The threads hold this
/// object, not the appender, so the appender's deinit can stop and join them.
///
/// Thread-safe: `@unchecked Sendable` because every stored var is guarded by `lock`; a buffer is
/// touched by the gathering thread only while it is neither submitted nor being written.
final class DirectWriteThreads: @unchecked Sendable {
    let fd: Int32
    let directFD: Int32
    let path: String
    let writesInFlight: Int
    /// `writesInFlight + 1` aligned buffers: one gathering, the others written or free.
    let buffers: [UnsafeMutableRawBufferPointer]

    private struct Submitted {
        var buffer: Int
        var offset: UInt64
        var length: Int
    }

    /// Condition 0: a write submitted (or the end), for the I/O threads; 1: a write done, for the
    /// gathering thread.
    private let lock = ConditionLock(conditions: 2)
    private var submitted = CircularBuffer<Submitted>()
    /// Buffers neither gathering nor submitted nor being written.
    private var free: [Int]
    private var writing = 0
    private var failure: ClientError?
    private var refusedTransfer = false
    private var stopping = false
    private var threads: [JoinableThread] = []

    /// Takes ownership of `directFD` (closed at deinit).
    init(fd: Int32, directFD: Int32, path: String, bufferSize: Int, writesInFlight: Int) {
        self.fd = fd
        self.directFD = directFD
        self.path = path
        self.writesInFlight = max(1, writesInFlight)
        self.buffers = (0...self.writesInFlight).map { _ in
            .allocate(byteCount: bufferSize, alignment: DirectIO.alignment)
        }
        self.free = Array(buffers.indices)
    }

    deinit {
        Glibc.close(directFD)
        for b in buffers { b.deallocate() }
    }

    /// The filesystem refused a direct transfer (`EINVAL`): that buffer was written the ordinary
    /// way, and everything after it must be too.
    var refused: Bool {
        lock.lock()
        defer { lock.unlock() }
        return refusedTransfer
    }

    /// A free buffer (the gathering thread's first).
    func takeFree() -> Int {
        lock.lock()
        defer { lock.unlock() }
        return free.removeLast()
    }

    /// Hands `buffers[buffer][0..<length]` (whole blocks, for file offset `offset`) to the I/O
    /// threads and returns a free buffer to gather into next, waiting while every buffer is in
    /// use. After a refused transfer, or with no thread to be had, writes it here. Throws what an
    /// earlier write met.
    func submit(_ buffer: Int, length: Int, at offset: UInt64) throws(ClientError) -> Int {
        let bytes = UnsafeRawBufferPointer(rebasing: buffers[buffer][0..<length])
        lock.lock()
        if let failure {
            lock.unlock()
            throw failure
        }
        if refusedTransfer {
            lock.unlock()
            try SafeWriter.pwriteFully(fd, bytes, at: offset, path: path)
            return buffer
        }
        // A thread more while every one is busy, up to the bound.
        if threads.count < writesInFlight, submitted.count + writing >= threads.count,
            let t = JoinableThread({ self.run() })
        {
            threads.append(t)
        }
        if threads.isEmpty {
            lock.unlock()
            try write(bytes, at: offset)
            return buffer
        }
        submitted.append(Submitted(buffer: buffer, offset: offset, length: length))
        lock.signal(0)
        while failure == nil, free.isEmpty { lock.wait(1) }
        if let failure {
            lock.unlock()
            throw failure
        }
        let next = free.removeLast()
        lock.unlock()
        return next
    }

    /// Waits until no write is submitted or running; throws the first failure.
    func waitForWrites() throws(ClientError) {
        lock.lock()
        while !submitted.isEmpty || writing > 0 { lock.wait(1) }
        let failure = self.failure
        lock.unlock()
        if let failure { throw failure }
    }

    /// Ends the threads once what is submitted is written (after a failure: dropped).
    func stop() {
        lock.lock()
        stopping = true
        lock.broadcast(0)
        let threads = self.threads
        self.threads = []
        lock.unlock()
        for t in threads { t.join() }
    }

    /// An I/O thread: writes submitted buffers until stopped with nothing left.
    private func run() {
        lock.lock()
        while true {
            while submitted.isEmpty, !stopping { lock.wait(0) }
            guard let w = submitted.popFirst() else { break }
            var error: ClientError?
            if failure == nil {
                writing += 1
                lock.unlock()
                do throws(ClientError) {
                    try write(UnsafeRawBufferPointer(rebasing: buffers[w.buffer][0..<w.length]), at: w.offset)
                } catch let e { error = e }
                lock.lock()
                writing -= 1
            }
            free.append(w.buffer)
            if failure == nil { failure = error }
            lock.signal(1)
        }
        lock.unlock()
    }

    /// One direct write; on `EINVAL` (the filesystem took `O_DIRECT` at open but refuses the
    /// transfer) the same bytes the ordinary way, and every later write too.
    private func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ClientError) {
        do {
            try SafeWriter.pwriteFully(directFD, bytes, at: offset, path: path)
        } catch {
            guard case .io(_, _, EINVAL) = error else { throw error }
            lock.lock()
            refusedTransfer = true
            lock.unlock()
            try SafeWriter.pwriteFully(fd, bytes, at: offset, path: path)
        }
    }
}
