import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// What a pull did.
public struct PullResult: Sendable {
    /// The reference as resolved.
    public var info: Message.RefInfo
    /// Regular files written.
    public var files: Int
    /// Symlinks created.
    public var symlinks: Int
    /// Bytes written to files.
    public var bytesWritten: UInt64
    /// Distinct chunks fetched from the server.
    public var chunksFetched: Int
    /// Raw bytes of those chunks.
    public var bytesFetched: UInt64
}

/// Pulls a version into a destination directory (PROTOCOL.md §10): tree (verified, every path
/// checked before anything is written), recipes, chunks in pipelined batches, each chunk and each
/// blob verified; files are written under temporary names and renamed into place at the end.
public final class Puller {
    let connection: Connection
    let progress: Progress?
    /// Accept symlinks pointing outside the destination (created as links, never written through).
    public var allowExternalSymlinks = false
    /// GET_CHUNKS requests in flight per connection.
    public var window = 8
    /// Further connections to the same server to fetch chunks over in parallel.
    public var extraConnections: [Connection] = []

    public init(connection: Connection, progress: Progress? = nil) {
        self.connection = connection
        self.progress = progress
    }

    public func pull(ref: String, into destination: String) throws(ClientError) -> PullResult {
        let remote = Remote(connection: connection)
        let info = try remote.resolve(ref)
        let tree = try remote.tree(info.tree)
        try PullSafety.check(tree, allowExternalSymlinks: allowExternalSymlinks)

        let fileEntries = tree.entries.filter { $0.kind == .file }
        var sizes: [Digest: UInt64] = [:]
        for e in fileEntries {
            if let s = sizes[e.blob!], s != e.size {
                throw .integrity(detail: "the tree gives blob \(e.blob!) two different sizes")
            }
            sizes[e.blob!] = e.size
        }
        let recipes = try remote.recipes(Array(sizes.keys).sorted(), sizes: sizes)

        // Distinct chunks in first-use order: the order they are fetched and consumed.
        var seen = Set<Digest>()
        var order: [RecipeChunk] = []
        var total: UInt64 = 0
        for e in fileEntries {
            for c in recipes[e.blob!]!.chunks where seen.insert(c.digest).inserted {
                order.append(c)
                total += UInt64(c.length)
            }
        }

        let dest = destination.isEmpty ? "." : destination
        let writer = SafeWriter(root: dest)
        defer { writer.cleanUp() }
        try writer.prepareRoot()
        // Directories first (refusing to go through existing symlinks), then files.
        for e in tree.entries {
            let parent = SafeWriter.parent(of: e.path)
            if !parent.isEmpty { try writer.makeDirectories(parent) }
        }

        progress?.start(phase: "pulling", total: tree.totalSize)
        let stream = ChunkStream(
            connection: connection, extra: extraConnections, order: order, window: window)
        var placed: [Digest: (file: Int, offset: UInt64)] = [:]
        var temps: [(temp: String, final: String)] = []
        let hasher = SHA256()
        var copyBuffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16)
        defer { copyBuffer.deallocate() }
        var written: UInt64 = 0
        for e in fileEntries {
            let recipe = recipes[e.blob!]!
            let (fd, temp) = try writer.createTemp(for: e.path)
            let fileIndex = temps.count
            temps.append((temp, e.path))
            hasher.reset()
            var offset: UInt64 = 0
            for c in recipe.chunks {
                if let at = placed[c.digest] {
                    // Already fetched (and verified) for an earlier position: copy it locally.
                    let n = Int(c.length)
                    if copyBuffer.count < n {
                        copyBuffer.deallocate()
                        copyBuffer = .allocate(byteCount: n, alignment: 16)
                    }
                    let srcFD = at.file == fileIndex ? fd : try writer.openForRead(temps[at.file].temp)
                    defer { if srcFD != fd { close(srcFD) } }
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: copyBuffer[0..<n])
                    try SafeWriter.preadFully(srcFD, chunk, at: at.offset, path: temps[at.file].temp)
                    hasher.update(UnsafeRawBufferPointer(chunk))
                    try SafeWriter.pwriteFully(fd, UnsafeRawBufferPointer(chunk), at: offset, path: temp)
                } else {
                    try stream.next { (chunk) throws(ClientError) in
                        hasher.update(chunk)
                        try SafeWriter.pwriteFully(fd, chunk, at: offset, path: temp)
                    }
                    placed[c.digest] = (fileIndex, offset)
                }
                offset += UInt64(c.length)
                progress?.advance(by: UInt64(c.length))
            }
            let digest = hasher.finalize()
            guard digest == e.blob!, offset == e.size else {
                close(fd)
                throw .integrity(
                    detail: "\(e.path): the assembled content hashes to \(digest), expected \(e.blob!)")
            }
            fchmod(fd, mode_t(e.mode & 0o7777))
            close(fd)
            written += offset
        }
        // Everything verified: move files into place, then empty directories and symlinks.
        for t in temps { try writer.commit(temp: t.temp, to: t.final) }
        var links = 0
        for e in tree.entries {
            switch e.kind {
            case .directory: try writer.makeDirectories(e.path, mode: e.mode)
            case .symlink:
                try writer.symlink(e.target!, at: e.path)
                links += 1
            case .file: break
            }
        }
        progress?.finish()
        return PullResult(
            info: info, files: fileEntries.count, symlinks: links, bytesWritten: written,
            chunksFetched: order.count,
            bytesFetched: total)
    }
}

/// Writes inside one destination directory without ever following a symlink that is already
/// there: every directory component is checked with `lstat`, files are created exclusively
/// under temporary names (`O_NOFOLLOW`) and renamed over the final name (a rename replaces a
/// symlink instead of following it).
final class SafeWriter {
    let root: String
    private var created: [String] = []
    private var checkedDirs = Set<String>()

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
        // Create it and any missing parents (like mkdir -p).
        var prefix = root.hasPrefix("/") ? "" : "."
        for comp in root.split(separator: "/") {
            prefix += "/" + comp
            guard mkdir(prefix, 0o755) == 0 || errno == EEXIST else {
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
                guard mkdir(p, mode_t(prefix == rel ? mode : 0o755)) == 0 || errno == EEXIST else {
                    throw .io(path: p, operation: "create directory", errno: errno)
                }
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
                created.append(p)
                return (fd, p)
            }
            if errno != EEXIST { throw .io(path: p, operation: "create", errno: errno) }
        }
        throw .io(path: full(rel), operation: "create a temporary file for", errno: EEXIST)
    }

    func openForRead(_ path: String) throws(ClientError) -> Int32 {
        let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
        guard fd >= 0 else { throw .io(path: path, operation: "open", errno: errno) }
        return fd
    }

    func commit(temp: String, to rel: String) throws(ClientError) {
        let p = full(rel)
        guard rename(temp, p) == 0 else { throw .io(path: p, operation: "rename into place", errno: errno) }
        created.removeAll { $0 == temp }
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

    static func pwriteFully(_ fd: Int32, _ data: UnsafeRawBufferPointer, at offset: UInt64, path: String)
        throws(ClientError)
    {
        var done = 0
        while done < data.count {
            let n = pwrite(fd, data.baseAddress! + done, data.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "write", errno: errno)
            }
            done += n
        }
    }

    static func preadFully(_ fd: Int32, _ out: UnsafeMutableRawBufferPointer, at offset: UInt64, path: String)
        throws(ClientError)
    {
        var done = 0
        while done < out.count {
            let n = pread(fd, out.baseAddress! + done, out.count - done, off_t(offset) + off_t(done))
            if n < 0 {
                if errno == EINTR { continue }
                throw .io(path: path, operation: "read", errno: errno)
            }
            if n == 0 { throw .io(path: path, operation: "read (unexpected end)", errno: EIO) }
            done += n
        }
    }
}
