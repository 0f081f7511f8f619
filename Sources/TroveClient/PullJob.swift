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
        /// Bytes read and hashed to find them.
        var bytesChecked: UInt64 = 0
    }

    /// How far past the end of the last chunk that verified ``verifyExisting`` still checks a file:
    /// more than an interrupted run can leave unwritten before bytes it did write. A run writes a
    /// file's chunks in order (one thread, ``ChunkWriteQueue``, and an interrupted one waits for its
    /// writes), except that a killed one can leave a hole before written bytes where a large file
    /// it created went through a ``DirectFileAppender``: its `writesInFlight` direct writes of up
    /// to ``DirectFileAppender/bufferSize`` may end out of order, and a chunk overlapping one that
    /// did not happen reaches at most a chunk beyond it on either side. Plus 16 MiB of room for a
    /// run that had more direct writes in flight than this one: 25 MiB with two in flight and
    /// chunks of at most 256 KiB.
    static func resumeGap(writesInFlight: Int, largestChunk: UInt64) -> UInt64 {
        let inFlight = UInt64(max(writesInFlight, 1))
        return inFlight * (UInt64(DirectFileAppender.bufferSize) + 2 * largestChunk) + (16 << 20)
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
    ///
    /// A file is checked only as far as an interrupted run can have written it: a large file the run
    /// created was allocated at its full size up front, and the blocks no write reached read as
    /// zeros (most of the file, interrupted early). With `seekHoles`, the chunks lying wholly in a
    /// hole the filesystem reports (`lseek` `SEEK_DATA`, asked before the file is read:
    /// ``dataExtents(_:size:)``; ext4 reports allocated blocks never written as holes) are not read,
    /// and checking ends where the file's data ends. As not every filesystem reports them, checking
    /// also ends at a chunk starting more than ``resumeGap(writesInFlight:largestChunk:)`` bytes past
    /// the end of the last chunk that verified or lay in a hole (`writesInFlight`: the direct writes
    /// this pull keeps in flight). What is not checked is fetched: no chunk is kept unverified, and
    /// the only ones given up are those in holes (zeros no run wrote or, where a filesystem stores
    /// written zeros as holes, chunks of zeros) and those past the gap, where an interrupted run
    /// writes nothing. A chunk of zeros in never-written space does verify, and restarts the gap.
    func verifyExisting(
        _ writer: SafeWriter, into resume: inout Resume, writesInFlight: Int, seekHoles: Bool = true,
        stop: () -> Bool = { false }
    ) throws(ClientError) {
        var buffer = [UInt8]()
        let hasher = SHA256()
        for (fileIndex, e) in files.enumerated() {
            let path = writer.full(e.path)
            var st = stat()
            guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG, st.st_size > 0 else { continue }
            let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
            guard fd >= 0 else { continue }
            defer { close(fd) }
            let size = UInt64(st.st_size)
            let chunks = recipes[e.blob!]!.chunks
            let gap = Self.resumeGap(
                writesInFlight: writesInFlight, largestChunk: UInt64(chunks.lazy.map(\.length).max() ?? 0))
            // Taken before anything of the file is read (``dataExtents(_:size:)``).
            let extents = seekHoles ? Self.dataExtents(fd, size: size) : [0..<size]
            var extent = 0
            var offset: UInt64 = 0
            // The end of the last chunk that verified or lay in a hole: where failing chunks began.
            var good: UInt64 = 0
            for (chunkIndex, c) in chunks.enumerated() {
                if stop() { throw .interrupted(detail: "stopped while checking \(e.path)") }
                let n = Int(c.length)
                guard offset + UInt64(n) <= size else { break }
                while extent < extents.count, extents[extent].upperBound <= offset { extent += 1 }
                guard extent < extents.count else { break }  // nothing but holes from here on
                if offset + UInt64(n) <= extents[extent].lowerBound {
                    offset += UInt64(n)
                    good = offset
                    continue
                }
                if offset - good > gap { break }
                if buffer.count < n { buffer = [UInt8](repeating: 0, count: n) }
                let ok = buffer.withUnsafeMutableBytes { raw -> Bool in
                    let chunk = UnsafeMutableRawBufferPointer(rebasing: raw[0..<n])
                    do { try SafeWriter.preadFully(fd, chunk, at: offset, path: path) } catch { return false }
                    hasher.update(UnsafeRawBufferPointer(chunk))
                    return hasher.finalize() == c.digest
                }
                resume.bytesChecked += UInt64(n)
                if ok {
                    resume.verified.insert(Position(file: fileIndex, chunk: chunkIndex))
                    if resume.local[c.digest] == nil {
                        resume.local[c.digest] = Location(file: fileIndex, offset: offset)
                    }
                    resume.bytes += UInt64(n)
                    resume.files.insert(fileIndex)
                }
                offset += UInt64(n)
                if ok { good = offset }
            }
        }
    }

    /// The ranges of the first `size` bytes of `fd` that hold data as its filesystem reports them
    /// (`lseek` `SEEK_DATA`, `SEEK_HOLE`), in order; all of them where it reports no holes, and
    /// all from the `limit`-th range on. To be taken before the file is read: ext4 reports blocks
    /// never written as data once a read (read-ahead) brought them into the page cache.
    static func dataExtents(_ fd: Int32, size: UInt64, limit: Int = 1 << 16) -> [Range<UInt64>] {
        var extents: [Range<UInt64>] = []
        var offset: UInt64 = 0
        while offset < size {
            let start = lseek(fd, off_t(offset), seekData)
            if start < 0 && errno == ENXIO || start >= off_t(size) { break }  // only holes from `offset` on
            guard start >= 0, extents.count < limit else {
                extents.append(offset..<size)
                break
            }
            let end = lseek(fd, start, seekHole)
            offset = end > start ? min(UInt64(end), size) : size
            extents.append(UInt64(start)..<offset)
        }
        return extents
    }

    #if os(Linux)
        /// `lseek`'s `SEEK_DATA` and `SEEK_HOLE` (Glibc does not export them to Swift).
        static let seekData: Int32 = 3
        static let seekHole: Int32 = 4
    #else
        static let seekData = SEEK_DATA
        static let seekHole = SEEK_HOLE
    #endif

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
