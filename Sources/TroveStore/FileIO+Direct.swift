import SystemPackage
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Direct I/O (`O_DIRECT`) for pack segments: reads and writes that bypass the page cache. On a
/// VM whose host backs guest memory lazily, the kernel's copy of each written byte into a fresh
/// page-cache page costs more than the rest of a push together (docs/PERFORMANCE.md). Offsets,
/// lengths and buffers must be aligned (``PackFormat/alignment``); a filesystem that refuses
/// direct I/O (tmpfs: `EINVAL`) gets ordinary I/O on the same aligned layout.
extension FileIO {
    /// `O_DIRECT` on this platform; 0 where unknown.
    static var directFlag: Int32 { DirectIO.openFlag }

    /// Opens `path` with `flags` plus `O_DIRECT` when `direct` and the filesystem takes it (else
    /// without). Returns the descriptor and whether it is direct.
    static func openDirect(_ path: String, _ flags: Int32, direct: Bool = true) throws(StoreError)
        -> (fd: Int32, direct: Bool)
    {
        if direct && directFlag != 0 {
            let fd = Glibc.open(path, flags | directFlag | O_CLOEXEC, 0o644)
            if fd >= 0 { return (fd, true) }
            guard errno == EINVAL else { throw failure("open", path, errno) }
        }
        return (try open(path, flags), false)
    }

    /// Turns direct I/O off on `fd`; false if that fails.
    static func clearDirect(_ fd: Int32) -> Bool {
        let flags = fcntl(fd, F_GETFL)
        return flags >= 0 && fcntl(fd, F_SETFL, flags & ~directFlag) == 0
    }

    /// `pwriteAll` of an aligned buffer at an aligned offset. If the descriptor is direct and the
    /// filesystem refuses this write (`EINVAL`), direct I/O is turned off on it and the write
    /// repeated.
    static func pwriteAligned(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int, _ path: String)
        throws(StoreError)
    {
        do { try pwriteAll(fd, buf, at: offset, path) } catch {
            guard case .io(_, _, EINVAL) = error, clearDirect(fd) else { throw error }
            try pwriteAll(fd, buf, at: offset, path)
        }
    }

    /// One read of up to `buf.count` bytes at `offset` (aligned, into an aligned buffer, on a
    /// direct descriptor); returns how many were read (fewer only at the end of the file), or nil
    /// when the filesystem refuses this direct read (`EINVAL`: read it another way).
    static func preadDirect(_ fd: Int32, _ buf: UnsafeMutableRawBufferPointer, at offset: Int, _ path: String)
        throws(StoreError) -> Int?
    {
        if let e = FileFaults.check(.read, path) { throw .io(op: "read", path: path, errno: e) }
        do {
            return try FileDescriptor(rawValue: fd).read(fromAbsoluteOffset: Int64(offset), into: buf, retryOnInterrupt: true)
        } catch {
            let e = code(error)
            if e == EINVAL { return nil }
            throw .io(op: "read", path: path, errno: e)
        }
    }
}
