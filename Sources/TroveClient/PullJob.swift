import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// The files of one pull with their recipes: which chunks to fetch, in which order, and which
/// are already in place from an interrupted run.
struct PullJob {
    let tree: Tree
    /// The regular files, in tree order (the order they are written).
    let files: [TreeEntry]
    let recipes: [Digest: Recipe]

    /// A chunk position: the `chunk`-th chunk of the `file`-th file.
    struct Position: Hashable {
        var file: Int
        var chunk: Int
    }

    /// Where a chunk's bytes can be read locally: file index and offset.
    struct Location {
        var file: Int
        var offset: UInt64
    }

    /// What an interrupted run left that verified: positions that need no write, and where each
    /// verified chunk can be copied from.
    struct Resume {
        var verified = Set<Position>()
        var local: [Digest: Location] = [:]
        /// Bytes of the verified positions.
        var bytes: UInt64 = 0
        /// Indices of the files holding a verified position.
        var files = Set<Int>()
    }

    /// Throws unless a file's assembled bytes hash to its blob digest and have its size.
    static func check(_ e: TreeEntry, digest: Digest, size: UInt64) throws(ClientError) {
        guard digest == e.blob!, size == e.size else {
            throw .integrity(
                detail: "\(e.path): the assembled content hashes to \(digest), expected \(e.blob!)")
        }
    }

    /// The files, symlinks and directories the tree makes: the inodes it takes on the destination's
    /// filesystem.
    var inodes: Int {
        var directories = Set<Substring>()
        for e in tree.entries {
            // The entry's directory (itself, for an empty one) and those above it, up to the first
            // already counted.
            var dir: Substring? =
                e.kind == .directory ? Substring(e.path) : e.path.lastIndex(of: "/").map { e.path[..<$0] }
            while let d = dir, directories.insert(d).inserted {
                dir = d.lastIndex(of: "/").map { d[..<$0] }
            }
        }
        return tree.entries.count(where: { $0.kind != .directory }) + directories.count
    }

    /// The parent directories of every entry (refusing to go through symlinks).
    func makeParents(_ writer: SafeWriter) throws(ClientError) {
        for e in tree.entries {
            let parent = SafeWriter.parent(of: e.path)
            if !parent.isEmpty { try writer.makeDirectories(parent) }
        }
    }

    /// Reads what an interrupted run left in `writer`'s root, chunk by chunk, into `resume`: a
    /// chunk whose bytes at its position hash to its digest is kept; everything else will be
    /// fetched or copied. Asks `stop` before each chunk: true stops it as
    /// ``ClientError/interrupted(detail:)``, `resume` then holding the chunks checked so far.
    func verifyExisting(_ writer: SafeWriter, into resume: inout Resume, stop: () -> Bool = { false })
        throws(ClientError)
    {
        var buffer = [UInt8]()
        let hasher = SHA256()
        for (fileIndex, e) in files.enumerated() {
            let path = writer.full(e.path)
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size > 0 else { continue }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            var offset: UInt64 = 0
            for (chunkIndex, c) in recipes[e.blob!]!.chunks.enumerated() {
                if stop() { throw .interrupted(detail: "stopped while checking \(e.path)") }
                let n = Int(c.length)
                guard offset + UInt64(n) <= UInt64(st.st_size) else { break }
                if buffer.count < n { buffer = [UInt8](repeating: 0, count: n) }
                let ok = buffer.withUnsafeMutableBytes { raw -> Bool in
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                    do { try SafeWriter.preadFully(fd, chunk, at: offset, path: path) } catch { return false }
                    hasher.update(UnsafeRawBufferPointer(chunk))
                    return hasher.finalize() == c.digest
                }
                if ok {
                    resume.verified.insert(Position(file: fileIndex, chunk: chunkIndex))
                    if resume.local[c.digest] == nil {
                        resume.local[c.digest] = Location(file: fileIndex, offset: offset)
                    }
                    resume.bytes += UInt64(n)
                    resume.files.insert(fileIndex)
                }
                offset += UInt64(n)
            }
        }
    }

    /// The distinct chunks to fetch, in the order the writer consumes them: first uses of chunks
    /// neither verified in place nor available locally.
    func fetchOrder(skipping resume: Resume) -> [RecipeChunk] {
        var seen = Set<Digest>()
        var order: [RecipeChunk] = []
        for (fileIndex, e) in files.enumerated() {
            for (chunkIndex, c) in recipes[e.blob!]!.chunks.enumerated() {
                if resume.verified.contains(Position(file: fileIndex, chunk: chunkIndex)) { continue }
                if resume.local[c.digest] != nil { continue }
                if seen.insert(c.digest).inserted { order.append(c) }
            }
        }
        return order
    }

    /// Creates the empty directories and symlinks of the tree (after the files); returns the
    /// number of symlinks.
    func makeLinksAndDirectories(_ writer: SafeWriter) throws(ClientError) -> Int {
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
        return links
    }
}
