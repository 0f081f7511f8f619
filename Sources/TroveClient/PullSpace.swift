#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A pull that ran out of room on the destination's filesystem, in the user's terms.
///
/// Where the disk fills (or the quota runs out) the write, create or `mkdir` that met it throws
/// ``ClientError/io(path:operation:errno:)`` naming a stage or temporary path the user never asked
/// for. Once the pull has removed what it wrote, that error becomes
/// ``ClientError/destinationFull(destination:file:errno:free:needed:directory:inodes:)``: the
/// destination, the file being written (its path in the version) or the directory being created,
/// the free space left and the version's size; or, when the filesystem has fewer free inodes than
/// the pull makes files and directories while its bytes would do, those two counts.
enum PullSpace {
    /// `error` as ``ClientError/destinationFull(destination:file:errno:free:needed:directory:inodes:)``
    /// when it is an `ENOSPC` or `EDQUOT` failure, else unchanged. `root` is the directory the pull
    /// wrote into (the stage, or the destination itself with `--merge`); `needed` the bytes of the
    /// version's files, `inodes` the files, symlinks and directories it has (``PullJob/inodes``,
    /// counted only for `ENOSPC`);
    /// `staged` whether the pull builds a stage (not `--merge`). Call it after the written files
    /// and the directories made were removed: free space and inodes are measured then.
    static func explain(
        _ error: ClientError, destination: String, root: String, needed: UInt64,
        inodes: @autoclosure () -> Int, staged: Bool
    ) -> ClientError {
        guard case .io(let path, let operation, let code) = error, code == ENOSPC || code == EDQUOT else {
            return error
        }
        let directory = operation == "create directory"
        var name = file(path, under: root)
        if directory, name.isEmpty, root == destination { name = destination }  // --merge's DEST itself
        // The filesystem's free space says nothing about a quota.
        guard code == ENOSPC, let fs = space(at: destination) else {
            return .destinationFull(
                destination: destination, file: name, errno: code, free: -1, needed: needed,
                directory: directory)
        }
        // The pull also makes the destination's missing directories; a new stage takes an inode
        // too, or stands in for a new destination's own.
        let missing = missingDirectories(destination)
        let made = inodes() + max(missing, staged ? 1 : 0)
        let short = fs.inodesFree >= 0 && fs.inodesFree < made && fs.bytes >= needed
        return .destinationFull(
            destination: destination, file: name, errno: code, free: Int64(clamping: fs.bytes),
            needed: needed, directory: directory, inodes: short ? (fs.inodesFree, made) : nil)
    }

    /// `path` relative to `root` when it lies beneath it (empty when it is `root`), with a `--merge`
    /// temporary's name (`.NAME.trove-HEX`, ``SafeWriter/createTemp(for:)``) turned back into `NAME`.
    static func file(_ path: String, under root: String) -> String {
        let prefix = root.hasSuffix("/") ? root : root + "/"
        if path + "/" == prefix || path == prefix { return "" }
        guard path.hasPrefix(prefix) else { return path }
        let rel = String(path.dropFirst(prefix.count))
        let parent = SafeWriter.parent(of: rel)
        var base = Substring(rel.dropFirst(parent.isEmpty ? 0 : parent.count + 1))
        if base.hasPrefix("."), let tag = base.ranges(of: ".trove-").last {
            base = base[base.index(after: base.startIndex)..<tag.lowerBound]
        }
        return parent.isEmpty ? String(base) : parent + "/" + base
    }

    /// Bytes and inodes (files and directories that can still be made; -1 on a filesystem without
    /// an inode limit) free to an unprivileged user on the filesystem holding `path` (or its
    /// nearest existing ancestor); nil when that cannot be read.
    static func space(at path: String) -> (bytes: UInt64, inodesFree: Int64)? {
        var p = path.isEmpty ? "." : path
        var st = statvfs()
        while statvfs(p, &st) != 0 {
            let (parent, _) = PullTarget.split(p)
            guard parent != p else { return nil }
            p = parent
        }
        // Filesystems that make inodes as needed (btrfs) report none in all.
        let inodes = st.f_files == 0 ? -1 : Int64(clamping: st.f_favail)
        return (UInt64(st.f_bavail) * UInt64(st.f_frsize), inodes)
    }

    /// The directories of `path` that do not exist, itself included: those a pull into it makes.
    static func missingDirectories(_ path: String) -> Int {
        var p = path.isEmpty ? "." : path
        var n = 0
        var st = stat()
        while lstat(p, &st) != 0 {
            n += 1
            let (parent, _) = PullTarget.split(p)
            guard parent != p else { break }
            p = parent
        }
        return n
    }
}
