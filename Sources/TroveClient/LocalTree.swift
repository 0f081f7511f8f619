import Dispatch
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
    ///
    /// With `parallel` (the default) the directories of each level of the tree are listed and
    /// `lstat`ed on all cores at once (``walkByLevels(root:into:)``), which gives the same tree, or
    /// fails with the same error, as the one-thread walk (`parallel: false`).
    public static func scan(_ path: String, parallel: Bool = true) throws(ClientError) -> LocalTree {
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
        if parallel {
            try walkByLevels(root: path, into: &tree)
        } else {
            try assemble(path, into: &tree) { list(directory: $0, prefix: $1) }
        }
        // The walk yields files in order except where a sibling sorts between a directory and its
        // entries ("a-b" between "a" and "a/x"): sort only then.
        let files = tree.files
        if !zip(files, files.dropFirst()).allSatisfy({ ByteOrder.precedes($0.treePath, $1.treePath) }) {
            tree.files.sort { ByteOrder.precedes($0.treePath, $1.treePath) }
        }
        return tree
    }

    /// An entry of a directory as ``list(directory:prefix:)`` found it, or the failure that ended
    /// the listing (the error the walk throws when it gets there).
    private enum Listed {
        case file(LocalFile)
        case symlink(TreeEntry)
        case directory(disk: String, treePath: String, mode: UInt32)
        case skipped(String)
        case failed(ClientError)
    }

    /// The tree below `directory` (tree path `prefix`), depth first in name order, from the
    /// directories' listings (`listing(disk, treePath)`): files and symlinks in order, a directory
    /// holding nothing as an entry of its own, the first failure met thrown.
    private static func assemble(
        _ directory: String, prefix: String = "", into tree: inout LocalTree,
        listing: (String, String) -> [Listed]
    ) throws(ClientError) {
        for entry in listing(directory, prefix) {
            switch entry {
            case .file(let f): tree.files.append(f)
            case .symlink(let e): tree.otherEntries.append(e)
            case .skipped(let disk): tree.skipped.append(disk)
            case .failed(let error): throw error
            case .directory(let disk, let treePath, let mode):
                let before = tree.files.count + tree.otherEntries.count
                try assemble(disk, prefix: treePath, into: &tree, listing: listing)
                if tree.files.count + tree.otherEntries.count == before {
                    tree.otherEntries.append(.directory(treePath, mode: mode))
                }
            }
        }
    }

    /// The same tree as listing each directory when the walk reaches it, and the same first
    /// error, but the directories of each level are listed on all cores at once first (`readdir`
    /// and one `fstatat` per entry are most of a scan of many small files, and troved has nothing
    /// to do meanwhile).
    private static func walkByLevels(root: String, into tree: inout LocalTree) throws(ClientError) {
        var listings: [String: [Listed]] = [:]
        var level = [(disk: root, treePath: "")]
        while !level.isEmpty {
            let lists = listAll(level)
            var next: [(disk: String, treePath: String)] = []
            for (dir, list) in zip(level, lists) {
                listings[dir.disk] = list
                for case .directory(let disk, let treePath, _) in list { next.append((disk, treePath)) }
            }
            level = next
        }
        // Each listing is taken once: its entries leave the map as they join the tree.
        try assemble(root, into: &tree) { disk, _ in listings.removeValue(forKey: disk) ?? [] }
    }

    /// ``list(directory:prefix:)`` of each of `dirs`, on up to one thread per core.
    private static func listAll(_ dirs: [(disk: String, treePath: String)]) -> [[Listed]] {
        let threads = min(dirs.count, max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))), 8)
        guard threads > 1 else { return dirs.map { list(directory: $0.disk, prefix: $0.treePath) } }
        let out = UnsafeMutableBufferPointer<[Listed]>.allocate(capacity: dirs.count)
        out.initialize(repeating: [])
        defer {
            out.deinitialize()
            out.deallocate()
        }
        // Worker w writes only the slots k ≡ w (mod threads); `dirs` is not mutated meanwhile.
        nonisolated(unsafe) let slots = out
        DispatchQueue.concurrentPerform(iterations: threads) { w in
            for k in stride(from: w, to: dirs.count, by: threads) {
                slots[k] = list(directory: dirs[k].disk, prefix: dirs[k].treePath)
            }
        }
        return Array(out)
    }

    /// One directory's entries (sorted by name, tree paths checked, `lstat`ed, links read), without
    /// descending; a failure ends the listing. The directory stays open for the `fstatat`s: a name
    /// relative to it is looked up in it alone, not walked from the root again for every file.
    private static func list(directory: String, prefix: String) -> [Listed] {
        guard let dir = opendir(directory) else {
            return [.failed(.io(path: directory, operation: "open directory", errno: errno))]
        }
        defer { closedir(dir) }
        let fd = dirfd(dir)
        var names: [String] = []
        while let ent = readdir(dir) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw -> String? in
                let bytes = raw.prefix { $0 != 0 }
                return String(validating: bytes, as: UTF8.self)
            }
            guard let name else {
                let detail = "a file name in \(directory) is not valid UTF-8; rename it before pushing"
                return [.failed(.usage(detail: detail))]
            }
            if name == "." || name == ".." { continue }
            names.append(name)
        }
        names.sort { ByteOrder.precedes($0, $1) }
        var out: [Listed] = []
        out.reserveCapacity(names.count)
        for name in names {
            let disk = directory.hasSuffix("/") ? directory + name : directory + "/" + name
            let treePath = prefix.isEmpty ? name : prefix + "/" + name
            do throws(ClientError) {
                out.append(try entry(fd, name: name, disk: disk, treePath: treePath))
            } catch {
                out.append(.failed(error))
                break
            }
        }
        return out
    }

    /// What `name` in the directory open as `fd` is, as the walk records it.
    private static func entry(_ fd: Int32, name: String, disk: String, treePath: String) throws(ClientError)
        -> Listed
    {
        try checkTreePath(treePath, disk: disk)
        var st = stat()
        guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else {
            throw .io(path: disk, operation: "stat", errno: errno)
        }
        let mode = UInt32(st.st_mode) & 0o7777
        switch st.st_mode & S_IFMT {
        case S_IFREG:
            return .file(
                LocalFile(
                    diskPath: disk, treePath: treePath, mode: mode, size: UInt64(st.st_size),
                    stamp: FileStamp(st)))
        case S_IFLNK:
            return .symlink(.symlink(treePath, target: try linkTarget(disk), mode: 0o777))
        case S_IFDIR:
            return .directory(disk: disk, treePath: treePath, mode: mode)
        default:
            return .skipped(disk)
        }
    }

    /// The target of the symlink at `disk`: valid UTF-8, 1 to ``TreePath/maxLength`` bytes.
    private static func linkTarget(_ disk: String) throws(ClientError) -> String {
        var buf = [UInt8](repeating: 0, count: TreePath.maxLength + 1)
        let n = buf.withUnsafeMutableBytes {
            readlink(disk, $0.baseAddress!.assumingMemoryBound(to: CChar.self), $0.count)
        }
        guard n >= 0 else { throw .io(path: disk, operation: "read link", errno: errno) }
        guard n > 0, n <= TreePath.maxLength, let target = String(validating: buf[0..<n], as: UTF8.self)
        else {
            throw .usage(detail: "symlink \(disk) has an empty, too long or non-UTF-8 target")
        }
        return target
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
