import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where an exact pull (``PullMode/exact``, ``PullMode/force``) builds the tree and how it
/// switches it into the destination.
///
/// The stage is named after the tree digest so an interrupted pull of the same version finds it
/// again: `PARENT/.DEST.trove-pull-<16 hex>` beside a destination that does not exist yet (switched
/// in with one `rename`), or `DEST/.trove-pull-<16 hex>` inside an existing one (an existing
/// directory may be the current directory or a mount point, which cannot be renamed); its entries
/// are then moved into place one `rename` each, after `--force` moved the old contents aside.
/// Until the switch, the destination is exactly as it was; a pull that fails (other than by an
/// interruption after chunks came, which keeps the stage to resume from) removes the stage and the
/// destination's parents it made, so the filesystem is as it was.
struct PullTarget {
    static let stagePrefix = ".trove-pull-"
    static let asidePrefix = ".trove-old-"

    let destination: String
    /// Whether the destination directory existed before the pull.
    let exists: Bool
    /// The stage directory.
    let stage: String
    /// Top-level names already in the destination (not counting pull stages).
    let inTheWay: [String]
    /// For a new destination, the writer that makes its missing parents and remembers which it made.
    private let parents: SafeWriter?

    init(destination: String, tree: Digest) throws(ClientError) {
        self.destination = destination
        let tag = String(tree.hex.prefix(16))
        var st = stat()
        if stat(destination, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw .usage(detail: "destination \(destination) exists and is not a directory")
            }
            exists = true
            stage = PullTarget.join(destination, PullTarget.stagePrefix + tag)
            inTheWay = try PullTarget.names(in: destination).filter {
                !$0.hasPrefix(PullTarget.stagePrefix) && !$0.hasPrefix(PullTarget.asidePrefix)
            }.sorted()
            parents = nil
        } else {
            // A symlink that leads nowhere (`stat` follows it, `lstat` does not): the final
            // `rename` could only fail, after the whole version was fetched. Refused up front.
            if lstat(destination, &st) == 0 {
                let target = PullTarget.linkTarget(destination).map { "'\($0)'" } ?? "something"
                throw .usage(
                    detail: "destination \(destination) is a symbolic link to \(target), which leads "
                        + "nowhere: pull into the directory it should lead to, or remove the link")
            }
            exists = false
            let (parent, base) = PullTarget.split(destination)
            stage = PullTarget.join(parent, ".\(base)\(PullTarget.stagePrefix)\(tag)")
            inTheWay = []
            parents = SafeWriter(root: parent)
        }
    }

    /// Creates the stage (and the destination's missing parents), or reuses the one an interrupted
    /// pull left; true when the stage is new (empty: nothing to verify or resume, every file is
    /// new). When it fails, the parents it made are removed again.
    @discardableResult
    func createStage() throws(ClientError) -> Bool {
        do {
            try parents?.prepareRoot()
            return try makeStage()
        } catch {
            parents?.removeMadeDirectories()
            throw error
        }
    }

    private func makeStage() throws(ClientError) -> Bool {
        var st = stat()
        if lstat(stage, &st) == 0 {
            guard st.st_mode & S_IFMT == S_IFDIR else {
                throw .usage(detail: "\(stage) is in the way of the pull's stage directory; remove it")
            }
            return false
        }
        guard mkdir(stage, 0o700) == 0 else {
            throw .io(path: stage, operation: "create directory", errno: errno)
        }
        return true
    }

    /// Removes the stage and everything in it, then the destination's parents this pull made
    /// (deepest first, those still empty): after a failure nothing of the pull is left.
    func discardStage() {
        PullTarget.removeTree(stage)
        parents?.removeMadeDirectories()
    }

    /// The stage, when it is still there (``discardStage()`` could not remove it).
    private var stageLeft: String? {
        var st = stat()
        return lstat(stage, &st) == 0 ? stage : nil
    }

    /// What a stopped pull leaves in its stage for a later run: the bytes in place (written by the
    /// pull, or verified from an earlier interrupted run) and how many files hold any of them.
    struct Kept {
        var bytes: UInt64 = 0
        var files = 0
    }

    /// The error to report when the pull stopped with the stage kept for a later run, saying how
    /// much it keeps (`kept`, in how many of the `total` files). Not the sizes of the stage's
    /// files: a large file is allocated at its full size when it is created, however little of
    /// it was written.
    func kept(_ error: ClientError, _ kept: Kept, files total: Int) -> ClientError {
        let what =
            "kept \(Progress.bytes(kept.bytes)) in \(kept.files) of \(total) file\(total == 1 ? "" : "s") in \(stage) "
            + "(\(destination) is unchanged). Run the same command again to resume: what was kept is verified "
            + "chunk by chunk and only the rest is fetched (or `rm -rf \(stage)` to discard it)"
        switch error {
        case .interrupted: return .interrupted(detail: what)
        case .connectionClosed(let detail): return .connectionClosed(detail: "\(detail); \(what)")
        default: return error
        }
    }

    /// The error to report when the pull stopped (Ctrl-C, a broken connection) before it fetched
    /// anything, having made nothing or removed what it made (``discardStage()``).
    static func nothingLeft(_ error: ClientError, destination: String) -> ClientError {
        switch error {
        case .interrupted:
            return .interrupted(
                detail: "\(destination) is unchanged: the pull stopped before it fetched anything and left "
                    + "nothing behind. Run the same command again to pull the version")
        case .connectionClosed(let detail):
            return .connectionClosed(
                detail: "\(detail); nothing was fetched yet and nothing of the pull was left behind "
                    + "(\(destination) is unchanged)")
        default: return error
        }
    }

    /// Puts the staged tree in place. With an existing destination, its old contents are moved
    /// aside first and removed at the end; returns which of them the version replaced (same path,
    /// other content) and which it removed (paths not in the version). When the `rename` onto a
    /// new destination fails, the stage and the parents this pull made are removed and the error
    /// is ``ClientError/cannotSwitchIn(destination:errno:stage:)``.
    func switchIn(tree: Tree) throws(ClientError) -> (replaced: [String], removed: [String]) {
        guard exists else {
            guard rename(stage, destination) == 0 else {
                let code = errno
                discardStage()
                throw .cannotSwitchIn(destination: destination, errno: code, stage: stageLeft)
            }
            removeStaleStages()
            return ([], [])
        }
        let (replaced, removed) = try report(tree: tree)
        let aside = PullTarget.join(
            destination, PullTarget.asidePrefix + SecureRandom.bytes(6).map { String($0, radix: 16) }.joined()
        )
        guard mkdir(aside, 0o700) == 0 else {
            throw .io(path: aside, operation: "create directory", errno: errno)
        }
        var movedAside: [String] = []
        var movedIn: [String] = []
        func rollBack() {
            for n in movedIn { rename(PullTarget.join(destination, n), PullTarget.join(stage, n)) }
            for n in movedAside { rename(PullTarget.join(aside, n), PullTarget.join(destination, n)) }
            rmdir(aside)
        }
        for n in inTheWay {
            guard rename(PullTarget.join(destination, n), PullTarget.join(aside, n)) == 0 else {
                let e = errno
                rollBack()
                throw .io(path: PullTarget.join(destination, n), operation: "move aside", errno: e)
            }
            movedAside.append(n)
        }
        for n in try PullTarget.names(in: stage) {
            guard rename(PullTarget.join(stage, n), PullTarget.join(destination, n)) == 0 else {
                let e = errno
                rollBack()
                throw .io(path: PullTarget.join(destination, n), operation: "move into place", errno: e)
            }
            movedIn.append(n)
        }
        rmdir(stage)
        PullTarget.removeTree(aside)
        removeStaleStages()
        return (replaced, removed)
    }

    /// After a successful switch, the stages that interrupted pulls of other versions into the
    /// same destination left behind: DEST now holds what the user last asked for, so they can no
    /// longer be resumed into it.
    private func removeStaleStages() {
        let (dir, prefix): (String, String) =
            exists
            ? (destination, PullTarget.stagePrefix)
            : (
                PullTarget.split(destination).0,
                ".\(PullTarget.split(destination).1)\(PullTarget.stagePrefix)"
            )
        for n in (try? PullTarget.names(in: dir)) ?? [] where n.hasPrefix(prefix) {
            PullTarget.removeTree(PullTarget.join(dir, n))
        }
    }

    /// Old non-directory entries of the destination that the version replaces with other content
    /// or does not have.
    private func report(tree: Tree) throws(ClientError) -> ([String], [String]) {
        var old: [String: Entry] = [:]
        for n in inTheWay {
            let p = PullTarget.join(destination, n)
            var st = stat()
            guard lstat(p, &st) == 0 else { continue }
            if st.st_mode & S_IFMT == S_IFDIR {
                for (rel, e) in try PullTarget.walk(p) { old[n + "/" + rel] = e }
            } else {
                old[n] = Entry(kind: st.st_mode & S_IFMT, size: UInt64(st.st_size))
            }
        }
        var inVersion: [String: TreeEntry] = [:]
        for e in tree.entries { inVersion[e.path] = e }
        var replaced: [String] = []
        var removed: [String] = []
        for (path, e) in old.sorted(by: { $0.key < $1.key }) where e.kind != S_IFDIR {
            guard inVersion[path] != nil else {
                removed.append(path)
                continue
            }
            if !PullTarget.sameContent(PullTarget.join(destination, path), PullTarget.join(stage, path)) {
                replaced.append(path)
            }
        }
        return (replaced, removed)
    }

    struct Entry {
        var kind: mode_t
        var size: UInt64
    }

    /// Every entry under `root` (relative path → type and size), without following symlinks.
    static func walk(_ root: String) throws(ClientError) -> [String: Entry] {
        var out: [String: Entry] = [:]
        func visit(_ rel: String) throws(ClientError) {
            let dir = rel.isEmpty ? root : join(root, rel)
            for n in try names(in: dir) {
                let r = rel.isEmpty ? n : rel + "/" + n
                var st = stat()
                guard lstat(join(root, r), &st) == 0 else { continue }
                out[r] = Entry(kind: st.st_mode & S_IFMT, size: UInt64(st.st_size))
                if st.st_mode & S_IFMT == S_IFDIR { try visit(r) }
            }
        }
        try visit("")
        return out
    }

    /// Whether two paths hold the same thing: same type, same bytes (files) or target (links).
    static func sameContent(_ a: String, _ b: String) -> Bool {
        var sa = stat()
        var sb = stat()
        guard lstat(a, &sa) == 0, lstat(b, &sb) == 0, sa.st_mode & S_IFMT == sb.st_mode & S_IFMT else {
            return false
        }
        switch sa.st_mode & S_IFMT {
        case S_IFLNK: return linkTarget(a) == linkTarget(b)
        case S_IFREG:
            guard sa.st_size == sb.st_size else { return false }
            let fa = open(a, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            let fb = open(b, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            defer {
                if fa >= 0 { close(fa) }
                if fb >= 0 { close(fb) }
            }
            guard fa >= 0, fb >= 0 else { return false }
            var ba = [UInt8](repeating: 0, count: 1 << 20)
            var bb = [UInt8](repeating: 0, count: 1 << 20)
            while true {
                let na = read(fa, &ba, ba.count)
                let nb = read(fb, &bb, bb.count)
                guard na == nb, na >= 0 else { return false }
                if na == 0 { return true }
                if ba[0..<na] != bb[0..<nb] { return false }
            }
        default: return true
        }
    }

    static func linkTarget(_ path: String) -> String? {
        var buf = [UInt8](repeating: 0, count: 4097)
        let n = buf.withUnsafeMutableBytes {
            readlink(path, $0.baseAddress!.assumingMemoryBound(to: CChar.self), 4096)
        }
        return n < 0 ? nil : String(decoding: buf[0..<n], as: UTF8.self)
    }

    /// The names in a directory (without `.` and `..`).
    static func names(in dir: String) throws(ClientError) -> [String] {
        guard let d = opendir(dir) else { throw .io(path: dir, operation: "read directory", errno: errno) }
        defer { closedir(d) }
        var out: [String] = []
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name != "." && name != ".." { out.append(name) }
        }
        return out
    }

    /// Removes `path` and everything beneath it, never following symlinks.
    static func removeTree(_ path: String) {
        var st = stat()
        guard lstat(path, &st) == 0 else { return }
        if st.st_mode & S_IFMT == S_IFDIR {
            for n in (try? names(in: path)) ?? [] { removeTree(join(path, n)) }
            rmdir(path)
        } else {
            unlink(path)
        }
    }

    static func join(_ dir: String, _ name: String) -> String {
        dir.hasSuffix("/") ? dir + name : dir + "/" + name
    }

    /// Parent directory and last component of a path (`out` → `.`, `out`).
    static func split(_ path: String) -> (String, String) {
        var p = Substring(path)
        while p.count > 1, p.hasSuffix("/") { p.removeLast() }
        guard let slash = p.lastIndex(of: "/") else { return (".", String(p)) }
        let parent = p[..<slash]
        return (parent.isEmpty ? "/" : String(parent), String(p[p.index(after: slash)...]))
    }
}
