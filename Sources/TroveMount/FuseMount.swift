import CFuse
import Glibc
import Synchronization

/// The file system the FUSE callbacks serve. libfuse callbacks are C function pointers that
/// cannot capture context, so they reach the one mounted file system through this global
/// (set before `fuse_new`, cleared after the loop ends; one mount per process).
private let served = Mutex<MountFileSystem?>(nil)

/// Mounts a ``MountFileSystem`` with libfuse 3 (high-level API, multithreaded loop) and serves it
/// until unmounted (`fusermount3 -u`, `umount`) or told to stop (SIGTERM, SIGINT, SIGHUP).
public enum FuseMount {
    /// Mount settings.
    public struct Options: Sendable {
        /// Let other users read the mount (`-o allow_other`; non-root needs `user_allow_other`
        /// in /etc/fuse.conf). Permissions are then checked by the kernel from the modes shown.
        public var allowOther = false
        /// Print libfuse's debug trace to standard error.
        public var debug = false
        public init() {}
    }

    /// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread (and so in every thread it starts
    /// later). Call first thing on the main thread: ``serve(_:at:options:ready:)`` unblocks them
    /// on the main thread only, where libfuse's handlers then run and end the loop cleanly.
    public static func blockStopSignals() {
        var set = stopSignals()
        pthread_sigmask(SIG_BLOCK, &set, nil)
    }

    private static func stopSignals() -> sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGTERM)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGHUP)
        return set
    }

    /// Mounts `fs` at `mountpoint`, calls `ready` once the mount is live, serves requests until
    /// unmounted or signalled, then unmounts (nothing is left mounted) and returns.
    public static func serve(
        _ fs: MountFileSystem, at mountpoint: String, options: Options, ready: () -> Void
    ) throws(MountError) {
        served.withLock { $0 = fs }
        defer { served.withLock { $0 = nil } }
        var mountOptions = "ro,default_permissions,fsname=trove,subtype=trove"
        if options.allowOther { mountOptions += ",allow_other" }
        var argvStrings = ["trove-mount", "-o", mountOptions]
        if options.debug { argvStrings.append("-d") }
        let argv = UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>.allocate(
            capacity: argvStrings.count + 1)
        for (i, s) in argvStrings.enumerated() { argv[i] = strdup(s) }
        argv[argvStrings.count] = nil
        defer {
            for i in 0..<argvStrings.count { free(argv[i]) }
            argv.deallocate()
        }
        var args = fuse_args(argc: Int32(argvStrings.count), argv: argv, allocated: 0)
        defer { fuse_opt_free_args(&args) }
        var ops = makeFuseOperations()
        guard let fuse = fuse_new(&args, &ops, MemoryLayout<fuse_operations>.size, nil) else {
            throw .local(detail: "libfuse could not set up the file system (fuse_new failed)")
        }
        defer { fuse_destroy(fuse) }
        guard fuse_mount(fuse, mountpoint) == 0 else {
            throw .local(
                detail: "cannot mount on \(mountpoint): is it an existing, empty directory you own, "
                    + "and is /dev/fuse available (apt install fuse3)?")
        }
        let session = fuse_get_session(fuse)
        guard fuse_set_signal_handlers(session) == 0 else {
            fuse_unmount(fuse)
            throw .local(detail: "cannot install signal handlers")
        }
        ready()
        var set = stopSignals()
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        _ = fuse_loop_mt_31(fuse, 0)
        pthread_sigmask(SIG_BLOCK, &set, nil)
        fuse_remove_signal_handlers(session)
        fuse_unmount(fuse)
    }
}

// MARK: callbacks

private func fsPath(_ p: UnsafePointer<CChar>?) -> String {
    p.map { String(cString: $0) } ?? "/"
}

private func fill(_ st: UnsafeMutablePointer<stat>, _ a: MountAttributes) {
    memset(st, 0, MemoryLayout<stat>.size)
    switch a.kind {
    case .directory:
        st.pointee.st_mode = S_IFDIR | mode_t(a.mode)
        st.pointee.st_nlink = 2
    case .file:
        st.pointee.st_mode = S_IFREG | mode_t(a.mode)
        st.pointee.st_nlink = 1
    case .symlink:
        st.pointee.st_mode = S_IFLNK | mode_t(a.mode)
        st.pointee.st_nlink = 1
    }
    st.pointee.st_size = off_t(clamping: a.size)
    st.pointee.st_blocks = blkcnt_t(clamping: (a.size + 511) / 512)
    st.pointee.st_blksize = 128 << 10
    st.pointee.st_uid = getuid()
    st.pointee.st_gid = getgid()
    let t = timespec(tv_sec: time_t(a.modified / 1000), tv_nsec: Int((a.modified % 1000) * 1_000_000))
    st.pointee.st_mtim = t
    st.pointee.st_ctim = t
    st.pointee.st_atim = t
}

/// Runs `body`, turning a ``MountError`` into a negative errno.
private func reply(_ body: (MountFileSystem) throws(MountError) -> Int32) -> Int32 {
    guard let fs = served.withLock({ $0 }) else { return -EIO }
    do { return try body(fs) } catch {
        if case .local = error {
        } else if error.errno == EIO {
            let line = Array("trove mount: \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
        }
        return -error.errno
    }
}

private func makeFuseOperations() -> fuse_operations {
    var ops = fuse_operations()
    ops.`init` = { conn, cfg in
        if let cfg {
            let cacheTimeout = served.withLock { $0?.listingTTL } ?? 2
            cfg.pointee.entry_timeout = cacheTimeout
            cfg.pointee.attr_timeout = cacheTimeout
            cfg.pointee.negative_timeout = 0
            // Version contents are immutable: keep the kernel's page cache across opens.
            cfg.pointee.kernel_cache = 1
            cfg.pointee.use_ino = 0
        }
        if let conn {
            conn.pointee.max_readahead = min(conn.pointee.max_readahead, 1 << 20)
        }
        return nil
    }
    ops.getattr = { path, st, _ in
        reply { (fs) throws(MountError) in
            fill(st!, try fs.attributes(fsPath(path)))
            return 0
        }
    }
    ops.readlink = { path, buf, size in
        reply { (fs) throws(MountError) in
            let target = Array(try fs.readlink(fsPath(path)).utf8)
            guard let buf, size > 0 else { return -EINVAL }
            let n = min(target.count, size - 1)
            target.withUnsafeBytes {
                UnsafeMutableRawPointer(buf).copyMemory(from: $0.baseAddress!, byteCount: n)
            }
            buf[n] = 0
            return 0
        }
    }
    ops.readdir = { path, buf, filler, _, _, _ in
        reply { (fs) throws(MountError) in
            let names = try fs.list(fsPath(path))
            guard let filler else { return -EIO }
            _ = filler(buf, ".", nil, 0, fuse_fill_dir_flags(0))
            _ = filler(buf, "..", nil, 0, fuse_fill_dir_flags(0))
            for n in names where filler(buf, n, nil, 0, fuse_fill_dir_flags(0)) != 0 { break }
            return 0
        }
    }
    ops.opendir = { path, _ in
        reply { (fs) throws(MountError) in
            guard try fs.attributes(fsPath(path)).kind == .directory else { return -ENOTDIR }
            return 0
        }
    }
    ops.open = { path, fi in
        reply { (fs) throws(MountError) in
            guard let fi else { return -EIO }
            let accmode = fi.pointee.flags & O_ACCMODE
            if accmode != O_RDONLY || fi.pointee.flags & (O_TRUNC | O_APPEND | O_CREAT) != 0 { return -EROFS }
            fi.pointee.fh = try fs.open(fsPath(path))
            fi.pointee.keep_cache = 1
            return 0
        }
    }
    ops.read = { _, buf, size, offset, fi in
        reply { (fs) throws(MountError) in
            guard let fi, let buf, offset >= 0 else { return -EINVAL }
            let n = try fs.read(
                fi.pointee.fh, offset: UInt64(offset),
                into: UnsafeMutableRawBufferPointer(start: buf, count: min(size, Int(Int32.max))))
            return Int32(n)
        }
    }
    ops.release = { _, fi in
        if let fi { served.withLock { $0 }?.release(fi.pointee.fh) }
        return 0
    }
    ops.statfs = { _, st in
        guard let st else { return -EINVAL }
        memset(st, 0, MemoryLayout<statvfs>.size)
        st.pointee.f_bsize = 4096
        st.pointee.f_frsize = 4096
        st.pointee.f_namemax = 255
        st.pointee.f_flag = UInt(ST_RDONLY)
        return 0
    }
    // Every write operation: read-only file system.
    ops.mknod = { _, _, _ in -EROFS }
    ops.mkdir = { _, _ in -EROFS }
    ops.unlink = { _ in -EROFS }
    ops.rmdir = { _ in -EROFS }
    ops.symlink = { _, _ in -EROFS }
    ops.rename = { _, _, _ in -EROFS }
    ops.link = { _, _ in -EROFS }
    ops.chmod = { _, _, _ in -EROFS }
    ops.chown = { _, _, _, _ in -EROFS }
    ops.truncate = { _, _, _ in -EROFS }
    ops.write = { _, _, _, _, _ in -EROFS }
    ops.create = { _, _, _ in -EROFS }
    ops.setxattr = { _, _, _, _, _ in -EROFS }
    ops.removexattr = { _, _ in -EROFS }
    ops.utimens = { _, _, _ in -EROFS }
    ops.fallocate = { _, _, _, _, _ in -EROFS }
    return ops
}
