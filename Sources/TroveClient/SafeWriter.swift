import SystemPackage
import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Writes inside one destination directory without ever following a symlink that is already
/// there: every directory component is checked with `lstat`, files are created exclusively
/// under temporary names (`O_NOFOLLOW`) and renamed over the final name (a rename replaces a
/// symlink instead of following it).
final class SafeWriter {
    let root: String
    /// Temporaries not yet renamed into place (a set: a pull of many files renames each once).
    private var created = Set<String>()
    private var checkedDirs = Set<String>()
    /// Directories this writer created (``prepareRoot()``, ``makeDirectories(_:mode:)``), in the
    /// order it created them.
    private var madeDirectories: [MadeDirectory] = []

    /// A directory this writer created, with the device and inode it got: a directory someone
    /// else put at the same path after this one was removed is not it.
    private struct MadeDirectory {
        let path: String
        let device: UInt64
        let inode: UInt64

        /// The directory `mkdir` just created at `path` (nil when it is already gone again).
        init?(_ path: String) {
            var st = stat()
            guard lstat(path, &st) == 0 else { return nil }
            self.path = path
            device = UInt64(st.st_dev)
            inode = UInt64(st.st_ino)
        }

        /// Whether `path` is still this directory.
        var isStillThere: Bool {
            var st = stat()
            return lstat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFDIR && UInt64(st.st_dev) == device
                && UInt64(st.st_ino) == inode
        }
    }

    /// Records a directory `mkdir` just created at `path`.
    private func made(_ path: String) {
        if let d = MadeDirectory(path) { madeDirectories.append(d) }
    }

    init(root: String) { self.root = root }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        return String(path[..<slash])
    }

    func full(_ rel: String) -> String { root.hasSuffix("/") ? root + rel : root + "/" + rel }

    func prepareRoot() throws(ClientError) {
        var st = stat()
        if stat(root, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw .usage(detail: "destination \(root) exists and is not a directory")
            }
            return
        }
        // Create it and any missing parents (like mkdir -p), each named as in `root` (errors name it).
        var prefix = ""
        for comp in root.split(separator: "/") {
            prefix = prefix.isEmpty && !root.hasPrefix("/") ? String(comp) : prefix + "/" + comp
            if mkdir(prefix, 0o755) == 0 {
                made(prefix)
            } else if errno != EEXIST {
                throw .io(path: prefix, operation: "create directory", errno: errno)
            }
        }
    }

    /// Creates `rel` and its parents inside the root; refuses when a component is a symlink or a
    /// non-directory.
    func makeDirectories(_ rel: String, mode: UInt32 = 0o755) throws(ClientError) {
        var prefix = ""
        for comp in rel.split(separator: "/") {
            prefix = prefix.isEmpty ? String(comp) : prefix + "/" + comp
            if checkedDirs.contains(prefix) { continue }
            let p = full(prefix)
            var st = stat()
            if lstat(p, &st) == 0 {
                let type = st.st_mode & S_IFMT
                if type == S_IFLNK {
                    throw .unsafeTree(detail: "\(p) is a symlink; pull refuses to write through it")
                }
                guard type == S_IFDIR else {
                    throw .usage(detail: "\(p) exists and is not a directory; remove it or pull elsewhere")
                }
            } else {
                if mkdir(p, mode_t(prefix == rel ? mode : 0o755)) == 0 {
                    made(p)
                } else if errno != EEXIST {
                    throw .io(path: p, operation: "create directory", errno: errno)
                }
                // mkdir may not set setgid/sticky bits a pull was told to keep.
                if prefix == rel, mode & 0o7000 != 0 { chmod(p, mode_t(mode)) }
            }
            checkedDirs.insert(prefix)
        }
    }

    func createTemp(for rel: String) throws(ClientError) -> (Int32, String) {
        let parent = SafeWriter.parent(of: rel)
        let base = rel[rel.index(rel.startIndex, offsetBy: parent.isEmpty ? 0 : parent.count + 1)...]
        for _ in 0..<8 {
            let suffix = SecureRandom.bytes(6).map { String($0, radix: 16) }.joined()
            let name = ".\(base.prefix(100)).trove-\(suffix)"
            let temp = parent.isEmpty ? name : parent + "/" + name
            let p = full(temp)
            let fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 {
                created.insert(p)
                return (fd, p)
            }
            if errno != EEXIST { throw .io(path: p, operation: "create", errno: errno) }
        }
        throw .io(path: full(rel), operation: "create a temporary file for", errno: EEXIST)
    }

    static func openForRead(_ path: String) throws(ClientError) -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        return fd
    }

    /// Opens (creating if needed, never truncating) `rel` for writing in place: for a private
    /// stage directory, where a previous interrupted run may have left verified chunks. A file a
    /// previous run already made read-only is made writable again first.
    func openInPlace(_ rel: String) throws(ClientError) -> (Int32, String) {
        let p = full(rel)
        var fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        if fd < 0, errno == EACCES, chmod(p, 0o600) == 0 {
            fd = open(p, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o600)
        }
        guard fd >= 0 else { throw .io(path: p, operation: "create", errno: errno) }
        return (fd, p)
    }

    /// Creates `rel` exclusively (it must not exist) for writing: in a stage directory this pull
    /// just made, where there is nothing to resume (no `lstat` before, no truncation after).
    func createNew(_ rel: String) throws(ClientError) -> (Int32, String) {
        let p = full(rel)
        let fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard fd >= 0 else { throw .io(path: p, operation: "create", errno: errno) }
        return (fd, p)
    }

    func commit(temp: String, to rel: String) throws(ClientError) {
        let p = full(rel)
        guard rename(temp, p) == 0 else { throw .io(path: p, operation: "rename into place", errno: errno) }
        created.remove(temp)
    }

    func symlink(_ target: String, at rel: String) throws(ClientError) {
        let p = full(rel)
        let parent = SafeWriter.parent(of: rel)
        let suffix = SecureRandom.bytes(6).map { String($0, radix: 16) }.joined()
        let temp = full((parent.isEmpty ? "" : parent + "/") + ".trove-link-\(suffix)")
        guard Glibc.symlink(target, temp) == 0 else {
            throw .io(path: temp, operation: "create symlink", errno: errno)
        }
        guard rename(temp, p) == 0 else {
            let e = errno
            unlink(temp)
            throw .io(path: p, operation: "create symlink", errno: e)
        }
    }

    /// Removes temporary files left by a failed pull.
    func cleanUp() {
        for p in created { unlink(p) }
        created = []
    }

    /// Removes the directories this writer created, deepest first, that are still empty: after a
    /// failed pull (with `--merge` after ``cleanUp()``; otherwise after the stage went), so the
    /// filesystem is left as it was. A directory something else put an entry in meanwhile stays,
    /// and so does one that is no longer the directory this writer made (removed and made again
    /// by someone else: another device or inode).
    func removeMadeDirectories() {
        for d in madeDirectories.reversed() where d.isStillThere { rmdir(d.path) }
        madeDirectories = []
    }

    static func pwriteFully(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: UInt64, path: String)
        throws(ClientError)
    {
        do {
            try FileDescriptor(rawValue: fd).writeFully(toAbsoluteOffset: Int64(offset), data)
        } catch {
            throw .io(path: path, operation: "write", errno: error.rawValue)
        }
    }

    static func preadFully(_ fd: Int32, _ out: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String)
        throws(ClientError)
    {
        let n: Int
        do {
            n = try FileDescriptor(rawValue: fd).readFully(fromAbsoluteOffset: Int64(offset), into: out)
        } catch {
            throw .io(path: path, operation: "read", errno: error.rawValue)
        }
        if n < out.count { throw .io(path: path, operation: "read (unexpected end)", errno: EIO) }
    }
}
