import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Thin POSIX helpers with typed errors. Every durable write goes
/// tmp → fsync → rename → fsync(dir). A write, create or rename that finds the filesystem full
/// throws `.noSpace` (naming the path and its free space); an fsync failure stays `.io`, whatever
/// its errno: after a failed fsync the file's state is unknown (a durability failure). Writes,
/// fsyncs, renames and reads consult `FileFaults` (inert unless a test arms it).
enum FileIO {
    static func open(_ path: String, _ flags: Int32, _ mode: mode_t = 0o644) throws(StoreError) -> Int32 {
        let fd = Glibc.open(path, flags | O_CLOEXEC, mode)
        guard fd >= 0 else { throw failure("open", path, errno) }
        return fd
    }

    /// The failure of `op` on `path`: `.noSpace` when the filesystem is full (ENOSPC, EDQUOT),
    /// else `.io`. `needed` is the size of the write that failed (0 if unknown).
    static func failure(_ op: String, _ path: String, _ code: Int32, needed: Int = 0) -> StoreError {
        guard code == ENOSPC || code == EDQUOT else { return .io(op: op, path: path, errno: code) }
        return .noSpace(path: path, free: freeBytes(at: path), needed: Int64(needed))
    }

    /// Bytes an unprivileged writer may still use on the filesystem holding `path` (or its
    /// parent, if `path` does not exist); -1 if unknown.
    static func freeBytes(at path: String) -> Int64 {
        var st = statvfs()
        var p = path
        while statvfs(p, &st) != 0 {
            guard p.contains("/"), p != "/" else { return -1 }
            p = parent(of: p)
            if p.isEmpty { p = "/" }
        }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }

    static func fsync(_ fd: Int32, _ path: String) throws(StoreError) {
        if let e = FileFaults.check(.fsync, path) { throw .io(op: "fsync", path: path, errno: e) }
        guard Glibc.fsync(fd) == 0 else { throw .io(op: "fsync", path: path, errno: errno) }
    }

    /// fdatasync (a pack append: its data and size, not its timestamps).
    static func fdatasync(_ fd: Int32, _ path: String) throws(StoreError) {
        if let e = FileFaults.check(.fsync, path) { throw .io(op: "fdatasync", path: path, errno: e) }
        guard Glibc.fdatasync(fd) == 0 else { throw .io(op: "fdatasync", path: path, errno: errno) }
    }

    /// rename(2); a full directory (ENOSPC) throws `.noSpace`.
    static func rename(_ from: String, _ to: String) throws(StoreError) {
        if let e = FileFaults.check(.rename, to) { throw failure("rename", to, e) }
        guard Glibc.rename(from, to) == 0 else { throw failure("rename", to, errno) }
    }

    static func fsyncDirectory(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY | O_DIRECTORY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func mkdir(_ path: String) throws(StoreError) {
        if Glibc.mkdir(path, 0o755) != 0 && errno != EEXIST {
            throw failure("mkdir", path, errno)
        }
    }

    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    static func fileSize(_ fd: Int32, _ path: String) throws(StoreError) -> Int {
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw .io(op: "fstat", path: path, errno: errno) }
        return Int(st.st_size)
    }

    /// The errno of a swift-system failure.
    static func code(_ error: any Error) -> Int32 { (error as? Errno)?.rawValue ?? EIO }

    /// Writes all of `buf` at `offset` (swift-system retries EINTR and short writes).
    static func pwriteAll(_ fd: Int32, _ buf: UnsafeRawBufferPointer, at offset: Int, _ path: String)
        throws(StoreError)
    {
        if let e = FileFaults.check(.write, path) { throw failure("write", path, e, needed: buf.count) }
        do { _ = try FileDescriptor(rawValue: fd).writeAll(toAbsoluteOffset: Int64(offset), buf) } catch {
            throw failure("write", path, code(error), needed: buf.count)
        }
    }

    static func pwriteAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int, _ path: String) throws(StoreError) {
        if let e = FileFaults.check(.write, path) { throw failure("write", path, e, needed: bytes.count) }
        do { _ = try FileDescriptor(rawValue: fd).writeAll(toAbsoluteOffset: Int64(offset), bytes) } catch {
            throw failure("write", path, code(error), needed: bytes.count)
        }
    }

    static func writeAll(_ fd: Int32, _ bytes: [UInt8], _ path: String) throws(StoreError) {
        if let e = FileFaults.check(.write, path) { throw failure("write", path, e, needed: bytes.count) }
        do { _ = try FileDescriptor(rawValue: fd).writeAll(bytes) } catch {
            throw failure("write", path, code(error), needed: bytes.count)
        }
    }

    /// Reads exactly `buf.count` bytes at `offset`; throws `corruptData` on a short read.
    static func preadAll(_ fd: Int32, _ buf: UnsafeMutableRawBufferPointer, at offset: Int, _ path: String)
        throws(StoreError)
    {
        if let e = FileFaults.check(.read, path) { throw .io(op: "read", path: path, errno: e) }
        let file = FileDescriptor(rawValue: fd)
        var done = 0
        while done < buf.count {
            let n: Int
            do {
                n = try file.read(
                    fromAbsoluteOffset: Int64(offset + done),
                    into: UnsafeMutableRawBufferPointer(rebasing: buf[done...]),
                    retryOnInterrupt: true)
            } catch {
                throw .io(op: "read", path: path, errno: code(error))
            }
            if n == 0 {
                throw .corruptData(
                    what: path, detail: "file ends at \(offset + done), expected \(offset + buf.count) bytes")
            }
            done += n
        }
    }

    static func pread(_ fd: Int32, count: Int, at offset: Int, _ path: String) throws(StoreError) -> [UInt8] {
        var err: StoreError? = nil
        // Read straight into the array's storage (no zero-filling first).
        let out = [UInt8](unsafeUninitializedCapacity: count) { b, initialized in
            do throws(StoreError) {
                try preadAll(fd, UnsafeMutableRawBufferPointer(b), at: offset, path)
                initialized = count
            } catch {
                err = error
                initialized = 0
            }
        }
        if let err { throw err }
        return out
    }

    /// Reads a whole (small) file.
    static func readFile(_ path: String, limit: Int) throws(StoreError) -> [UInt8] {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        let size = try fileSize(fd, path)
        guard size <= limit else {
            throw .corruptData(what: path, detail: "file is \(size) bytes, above the limit \(limit)")
        }
        return try pread(fd, count: size, at: 0, path)
    }

    /// Writes `bytes` to `path` durably: temp file in `tmpDir` → fsync → rename → fsync(dir of path).
    static func writeDurably(_ bytes: [UInt8], to path: String, tmpDir: String, syncDirectory: Bool = true)
        throws(StoreError)
    {
        let tmp = tmpDir + "/" + randomHex(16) + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        do {
            try writeAll(fd, bytes, tmp)
            try fsync(fd, tmp)
        } catch {
            close(fd)
            unlink(tmp)
            throw error
        }
        close(fd)
        do { try rename(tmp, path) } catch {
            unlink(tmp)
            throw error
        }
        if syncDirectory { try fsyncDirectory(parent(of: path)) }
    }

    /// Writes `bytes` to a new temporary file in `tmpDir` (not synced); returns its path.
    static func writeTemporary(_ bytes: [UInt8], tmpDir: String) throws(StoreError) -> String {
        let tmp = tmpDir + "/" + randomHex(16) + ".tmp"
        let fd = try open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        defer { close(fd) }
        do { try writeAll(fd, bytes, tmp) } catch {
            unlink(tmp)
            throw error
        }
        return tmp
    }

    /// fsync of the file at `path`.
    static func fsyncPath(_ path: String) throws(StoreError) {
        let fd = try open(path, O_RDONLY)
        defer { close(fd) }
        try fsync(fd, path)
    }

    static func parent(of path: String) -> String {
        guard let i = path.lastIndex(of: "/") else { return "." }
        return String(path[..<i])
    }

    /// Names in a directory (excluding . and ..); empty if it does not exist.
    static func list(_ path: String) -> [String] {
        guard let d = opendir(path) else { return [] }
        defer { closedir(d) }
        var out: [String] = []
        while let e = readdir(d) {
            let name = withUnsafePointer(to: e.pointee.d_name) {
                $0.withMemoryRebound(to: CChar.self, capacity: 256) { String(cString: $0) }
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    static func randomHex(_ bytes: Int) -> String {
        var out = ""
        var g = SystemRandomNumberGenerator()
        for _ in 0..<bytes {
            let b = UInt8.random(in: 0...255, using: &g)
            out += String(b >> 4, radix: 16) + String(b & 0xF, radix: 16)
        }
        return out
    }
}
