import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A regular file found by ``LocalTree/scan(_:)``, before its content is read.
public struct LocalFile: Sendable, Hashable {
    /// Where it is on disk.
    public var diskPath: String
    /// Its path inside the tree.
    public var treePath: String
    /// Permission bits.
    public var mode: UInt32
    /// Size when scanned.
    public var size: UInt64
    /// What `stat` said when scanned (the stat cache's key; taken before the content is read).
    public var stamp: FileStamp? = nil
}

/// What a push will send, before chunking: the regular files to ingest and the entries that need
/// no content (symlinks as links, empty directories).
public struct LocalTree: Sendable {
    /// Regular files, sorted by tree path.
    public var files: [LocalFile]
    /// Symlinks and empty directories.
    public var otherEntries: [TreeEntry]
    /// True when the pushed path was a single file (the tree holds one entry named after it).
    public var isSingleFile: Bool
    /// Paths skipped because they are neither files, directories nor symlinks (sockets, devices).
    public var skipped: [String]

    /// Scans `path`: a file becomes a one-entry tree named after it; a directory, its contents
    /// with relative paths, permission bits, symlinks stored as links (never followed) and empty
    /// directories. `path` itself may be a symlink (it is followed, as `cp` would).
    public static func scan(_ path: String) throws(ClientError) -> LocalTree {
        var st = stat()
        guard stat(path, &st) == 0 else { throw .io(path: path, operation: "read", errno: errno) }
        let type = st.st_mode & S_IFMT
        if type == S_IFREG {
            let name = baseName(path)
            try checkTreePath(name, disk: path)
            return LocalTree(
                files: [
                    LocalFile(
                        diskPath: path, treePath: name, mode: UInt32(st.st_mode) & 0o7777,
                        size: UInt64(st.st_size), stamp: FileStamp(st))
                ],
                otherEntries: [], isSingleFile: true, skipped: [])
        }
        guard type == S_IFDIR else {
            throw .usage(
                detail: "\(path) is neither a regular file nor a directory; push a file or a directory")
        }
        var tree = LocalTree(files: [], otherEntries: [], isSingleFile: false, skipped: [])
        try walk(directory: path, prefix: "", into: &tree)
        // The walk yields files in order except where a sibling sorts between a directory and its
        // entries ("a-b" between "a" and "a/x"): sort only then.
        let files = tree.files
        if !zip(files, files.dropFirst()).allSatisfy({ ByteOrder.precedes($0.treePath, $1.treePath) }) {
            tree.files.sort { ByteOrder.precedes($0.treePath, $1.treePath) }
        }
        return tree
    }

    private static func walk(directory: String, prefix: String, into tree: inout LocalTree)
        throws(ClientError)
    {
        guard let dir = opendir(directory) else {
            throw .io(path: directory, operation: "open directory", errno: errno)
        }
        // Kept open for the `fstatat`s below: a name relative to the directory is looked up in
        // it alone, not walked from the root again for every file.
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw -> String? in
                let bytes = raw.prefix { $0 != 0 }
                return String(validating: bytes, as: UTF8.self)
            }
            guard let name else {
                throw .usage(
                    detail: "a file name in \(directory) is not valid UTF-8; rename it before pushing")
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        names.sort { ByteOrder.precedes($0, $1) }
        for name in names {
            let disk = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let treePath = prefix.isEmpty ? name : prefix + "/" + name
            try checkTreePath(treePath, disk: disk)
            var st = stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
                throw .io(path: disk, operation: "stat", errno: errno)
            }
            let mode = UInt32(st.st_mode) & 0o7777
            switch st.st_mode & S_IFMT {
            case S_IFREG:
                tree.files.append(
                    LocalFile(
                        diskPath: disk, treePath: treePath, mode: mode, size: UInt64(st.st_size),
                        stamp: FileStamp(st)))
            case S_IFLNK:
                var buf = [UInt8](repeating: 0, count: TreePath.maxLength + 1)
                let n = buf.withUnsafeMutableBytes {
                    readlink(disk, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
                }
                guard n >= 0 else { throw .io(path: disk, operation: "read link", errno: errno) }
                guard n > 0, n <= TreePath.maxLength,
                    let target = String(validating: buf[0..<n], as: UTF8.self)
                else {
                    throw .usage(detail: "symlink \(disk) has an empty, too long or non-UTF-8 target")
                }
                tree.otherEntries.append(.symlink(treePath, target: target, mode: 0o777))
            case S_IFDIR:
                let before = tree.files.count + tree.otherEntries.count
                try walk(directory: disk, prefix: treePath, into: &tree)
                if tree.files.count + tree.otherEntries.count == before {
                    tree.otherEntries.append(.directory(treePath, mode: mode))
                }
            default:
                tree.skipped.append(disk)
            }
        }
    }

    private static func checkTreePath(_ p: String, disk: String) throws(ClientError) {
        do { try TreePath.validate(p) } catch {
            throw .usage(detail: "cannot push \(disk): \(error)")
        }
    }

    static func baseName(_ path: String) -> String {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        if let slash = p.lastIndex(of: "/") { return String(p[p.index(after: slash)...]) }
        return String(p)
    }
}
