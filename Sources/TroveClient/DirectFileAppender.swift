import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a large pulled file's bytes with direct I/O (`O_DIRECT`), bypassing the page cache.
///
/// A buffered `pwrite` copies every byte into a fresh page-cache page and leaves ext4's delayed
/// allocation and the later writeback to the kernel: on this VM the biggest CPU cost of a pull
/// after the SHA-256 itself (docs/PERFORMANCE.md). Here consecutive writes are gathered into an
/// aligned buffer whose whole blocks go to the file with one direct write each; bytes that do not
/// fill a block (a file's head before the first aligned offset, its tail) go through the ordinary
/// descriptor. ``finish()`` writes what is still gathered, after which the file reads as written.
///
/// Used by one thread at a time (the pull's chunk writer); not thread-safe.
final class DirectFileAppender {
    /// Bytes gathered before a direct write (a multiple of ``DirectIO/alignment``).
    static let bufferSize = 4 << 20

    /// The file's ordinary descriptor (heads, tails, and everything after a refusal).
    let fd: Int32
    /// The same file opened with `O_DIRECT` (closed by ``finish()``), -1 once closed or refused.
    private var directFD: Int32
    let path: String
    private let buffer: UnsafeMutableRawBufferPointer
    /// File offset of `buffer[0]` (aligned) and how many bytes the buffer holds.
    private var start: UInt64 = 0
    private var count = 0

    /// Opens `path` (already open as `fd`) a second time with `O_DIRECT`; nil where the platform
    /// or the filesystem has no direct I/O.
    init?(fd: Int32, path: String) {
        guard DirectIO.openFlag != 0 else { return nil }
        let d = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | DirectIO.openFlag)
        guard d >= 0 else { return nil }
        self.fd = fd
        self.directFD = d
        self.path = path
        self.buffer = .allocate(byteCount: Self.bufferSize, alignment: DirectIO.alignment)
    }

    deinit {
        if directFD >= 0 { Glibc.close(directFD) }
        buffer.deallocate()
    }

    /// Writes `bytes` at `offset`: gathered when they follow what is gathered (else that is written first).
    func write(_ bytes: UnsafeRawBufferPointer, at offset: UInt64) throws(ClientError) {
        var bytes = bytes
        var offset = offset
        if count > 0, offset != start + UInt64(count) { try writeGathered() }
        if count == 0 {
            let misalignment = Int(offset % UInt64(DirectIO.alignment))
            if misalignment != 0 || directFD < 0 {
                // Up to the next aligned offset (or all of it, direct I/O off) the ordinary way.
                let head = directFD < 0 ? bytes.count : min(bytes.count, DirectIO.alignment - misalignment)
                let headBytes = UnsafeRawBufferPointer(rebasing: bytes[0..<head])
                try SafeWriter.pwriteFully(fd, headBytes, at: offset, path: path)
                bytes = UnsafeRawBufferPointer(rebasing: bytes[head...])
                offset += UInt64(head)
                if bytes.isEmpty { return }
            }
            start = offset
        }
        while !bytes.isEmpty {
            let n = min(bytes.count, buffer.count - count)
            UnsafeMutableRawBufferPointer(rebasing: buffer[count..<count + n]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: bytes[0..<n]))
            count += n
            bytes = UnsafeRawBufferPointer(rebasing: bytes[n...])
            if count == buffer.count { try writeBlocks() }
        }
    }

    /// Writes every byte gathered (whole blocks direct, the partial last block through the page
    /// cache) and closes the direct descriptor: what was written is then readable through `fd`.
    /// A later ``write(_:at:)`` opens nothing again: it goes the ordinary way.
    func finish() throws(ClientError) {
        try writeGathered()
        if directFD >= 0 {
            Glibc.close(directFD)
            directFD = -1
        }
    }

    /// Writes everything gathered: whole blocks direct, the rest the ordinary way.
    private func writeGathered() throws(ClientError) {
        try writeBlocks()
        guard count > 0 else { return }
        let tail = UnsafeRawBufferPointer(rebasing: buffer[0..<count])
        try SafeWriter.pwriteFully(fd, tail, at: start, path: path)
        count = 0
    }

    /// Writes the buffer's whole blocks with one direct write and moves the rest to its front.
    private func writeBlocks() throws(ClientError) {
        let whole = count - count % DirectIO.alignment
        guard whole > 0 else { return }
        let blocks = UnsafeRawBufferPointer(rebasing: buffer[0..<whole])
        if directFD >= 0 {
            do {
                try SafeWriter.pwriteFully(directFD, blocks, at: start, path: path)
            } catch {
                // The filesystem took O_DIRECT at open but refuses the transfer: go on without it.
                guard case .io(_, _, EINVAL) = error else { throw error }
                Glibc.close(directFD)
                directFD = -1
                try SafeWriter.pwriteFully(fd, blocks, at: start, path: path)
            }
        } else {
            try SafeWriter.pwriteFully(fd, blocks, at: start, path: path)
        }
        let rest = count - whole
        if rest > 0 {
            UnsafeMutableRawBufferPointer(rebasing: buffer[0..<rest]).copyMemory(
                from: UnsafeRawBufferPointer(rebasing: buffer[whole..<count]))
        }
        start += UInt64(whole)
        count = rest
    }
}
