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
/// ``ClientError/destinationFull(destination:file:errno:free:needed:)``: the destination, the file
/// being written (its path in the version), the free space left and the version's size.
enum PullSpace {
    /// `error` as ``ClientError/destinationFull(destination:file:errno:free:needed:)`` when it is
    /// an `ENOSPC` or `EDQUOT` failure, else unchanged. `root` is the directory the pull wrote into
    /// (the stage, or the destination itself with `--merge`); `needed` the bytes of the version's
    /// files. Call it after the written files were removed: the free space is measured then.
    static func explain(_ error: ClientError, destination: String, root: String, needed: UInt64)
        -> ClientError
    {
        guard case .io(let path, _, let code) = error, code == ENOSPC || code == EDQUOT else { return error }
        // The filesystem's free space says nothing about a quota.
        return .destinationFull(
            destination: destination, file: file(path, under: root), errno: code,
            free: code == EDQUOT ? -1 : free(at: destination), needed: needed)
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

    /// Bytes free to an unprivileged user on the filesystem holding `path` (or its nearest
    /// existing ancestor); -1 when that cannot be read.
    static func free(at path: String) -> Int64 {
        var p = path.isEmpty ? "." : path
        var st = statvfs()
        while statvfs(p, &st) != 0 {
            let (parent, _) = PullTarget.split(p)
            guard parent != p else { return -1 }
            p = parent
        }
        return Int64(st.f_bavail) * Int64(st.f_frsize)
    }
}
