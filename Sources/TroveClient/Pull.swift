import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// How a pull treats a destination that already holds files.
public enum PullMode: String, Sendable {
    /// The destination must be absent or empty (else ``ClientError/destinationNotEmpty``);
    /// afterwards it holds exactly the version.
    case exact
    /// Whatever the destination holds is replaced: afterwards it holds exactly the version.
    case force
    /// The version is written over the destination; other files stay (the behaviour before
    /// `--force`/`--merge` existed).
    case merge
}

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
    /// Chunks found already written (and verified) by an interrupted run, not fetched again.
    public var chunksReused = 0
    /// Bytes of those chunks.
    public var bytesReused: UInt64 = 0
    /// Bytes of the interrupted run's files read and hashed to find those chunks: not their holes,
    /// nor what lies past what that run can have written
    /// (``PullJob/verifyExisting(_:into:writesInFlight:seekHoles:stop:)``).
    public var bytesChecked: UInt64 = 0
    /// `--force`: paths of the destination whose content the version replaced.
    public var replaced: [String] = []
    /// `--force`: paths of the destination that are not in the version and were removed.
    public var removed: [String] = []
}

/// Pulls a version into a destination directory (PROTOCOL.md §10): tree (verified, every path
/// checked before anything is written), recipes, chunks in pipelined batches, each chunk and each
/// blob verified.
///
/// In ``PullMode/exact`` and ``PullMode/force`` the whole tree is built in a stage directory
/// (``PullTarget``) and switched into place only when every file verified, so a failure leaves
/// the destination as it was: the stage is removed, and so are the destination's parents the
/// pull made, also when the final switch fails
/// (``ClientError/cannotSwitchIn(destination:errno:stage:)``). An interrupted pull keeps its
/// stage, and the next run verifies what is there chunk by chunk and fetches only the rest; one
/// interrupted before the first chunk came into a new stage removes it and those parents. In
/// ``PullMode/merge`` files are written under temporary names next to their final place and
/// renamed over it at the end; a failure before then removes the temporaries and the directories
/// made for them. A destination that runs out of space (or inodes) fails as
/// ``ClientError/destinationFull(destination:file:errno:free:needed:directory:inodes:)`` after that
/// cleanup.
public final class Puller {
    let connection: Connection
    let progress: Progress?
    /// Accept symlinks pointing outside the destination (created as links, never written through).
    public var allowExternalSymlinks = false
    /// GET_CHUNKS requests in flight, shared among the connections (at least two per connection):
    /// the memory a pull's received frames take is bounded by it, however many connections.
    public var window = 8
    /// Threads that create and write small files in a new stage (0: the pulling thread does it).
    public var writerThreads = 2
    /// Check each fetched chunk's SHA-256 on arrival (on the connections' event loops, a frame's
    /// chunks together: ``SHA256Pair/digests(of:)``) and only feed the blob digest on the pulling
    /// thread; false: both digests in one interleaved pass on the pulling thread (``SHA256Pair``).
    /// The default is on arrival where the chunk digests take sixteen AVX-512 lanes
    /// (``SHA256Pair/manyOnSixteenLanes``): there sixteen lanes plus one stream for the blob cost
    /// less CPU than the interleaved pair (docs/PERFORMANCE.md, "Pull, session 12"); elsewhere the
    /// pair (two lanes on arrival saved no CPU, session 10).
    public var hashOnArrival = SHA256Pair.manyOnSixteenLanes
    /// The thread writing large files' chunks is woken once this many bytes are queued (0: for
    /// every chunk, ~16 000 wake-ups per GiB).
    public var writerWakeBytes = 1 << 20
    /// Write large files (≥ ``DirectFileAppender/bufferSize``) this pull creates with direct I/O
    /// (``DirectFileAppender``: their blocks allocated up front, ``directWritesInFlight`` writes at
    /// a time) where the filesystem allows, else through the page cache; false: always through the
    /// page cache. On by default (session 14): direct writes take the kernel's page-cache copy,
    /// delayed allocation and the filling of fresh page-cache pages off the client's CPU, which on
    /// this project's VM kind cost a 1 GiB restore 3.1–5.3 CPU-s against 2.1–2.8
    /// (docs/PERFORMANCE.md, "Pull, session 14"). The pulled file is then not in the page cache.
    public var directWrites = true
    /// Direct writes kept in flight per file (each on an I/O thread): with one, the pull waited for
    /// the device after every 4 MiB (session 8). Also how far a resume checks past a gap in a file
    /// an interrupted pull left (``PullJob/resumeGap(writesInFlight:largestChunk:)``).
    public var directWritesInFlight = 2
    /// A resume skips the holes the filesystem reports in an interrupted pull's files (`lseek`
    /// `SEEK_DATA`) rather than reading them; false (for tests): only the gap bounds what it reads.
    var resumeSeeksHoles = true
    /// Further connections to the same server to fetch chunks over in parallel: all of them when
    /// the version holds a file of ``DirectFileAppender/bufferSize`` or more, else the first.
    public var extraConnections: [Connection] = []
    /// What to do with a destination that already holds files.
    public var mode = PullMode.exact
    /// Keep setuid, setgid and sticky bits from the tree (dropped by default; see
    /// ``PullSafety/localModes(_:preserveSpecial:umask:)``).
    public var preserveSpecialModes = false
    /// Asked before the pull makes any directory, while it checks what an interrupted run kept,
    /// and before each chunk, with the number of chunks fetched so far; true stops the pull as
    /// ``ClientError/interrupted(detail:)`` (Ctrl-C), keeping what a later run can resume from, or,
    /// before the first chunk came into a new stage, nothing: the stage and the parents made for it
    /// are removed. To end a wait for the server at once, close the pull's connections once this
    /// returns true: the pull then stops as interrupted too, not as a broken connection.
    public var shouldStop: (Int) -> Bool = { _ in false }

    public init(connection: Connection, progress: Progress? = nil) {
        self.connection = connection
        self.progress = progress
    }

    public func pull(ref: String, into destination: String) throws(ClientError) -> PullResult {
        let remote = Remote(connection: connection)
        let info = try remote.resolve(ref)
        let tree = PullSafety.localModes(
            try remote.tree(info.tree), preserveSpecial: preserveSpecialModes)
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
        let dest = destination.isEmpty ? "." : destination
        let job = PullJob(tree: tree, files: fileEntries, recipes: recipes)
        // From here on, before anything is made, a Ctrl-C is the pull's to handle: it removes what
        // it made unless that is worth resuming from.
        if shouldStop(0) { throw PullTarget.nothingLeft(.interrupted(detail: ""), destination: dest) }
        var fetched = 0
        // What this run put in place: in a stage, kept when the pull is interrupted.
        var wrote = PullTarget.Kept()

        if mode == .merge {
            let writer = SafeWriter(root: dest)
            defer { writer.cleanUp() }
            var result: (pull: PullResult, temps: [String])
            do {
                try writer.prepareRoot()
                try job.makeParents(writer)
                result = try write(
                    job, info: info, total: tree.totalSize, resume: nil, fetched: &fetched, wrote: &wrote
                ) {
                    (e) throws(ClientError) in
                    let (fd, path) = try writer.createTemp(for: e.path)
                    return (fd, path, true)
                }
            } catch {
                // Nothing is in place yet: the temporaries go, and the directories made for them.
                writer.cleanUp()
                writer.removeMadeDirectories()
                throw PullSpace.explain(
                    stopped(error, fetched: fetched), destination: dest, root: dest, needed: tree.totalSize,
                    inodes: job.inodes, staged: false)
            }
            for (temp, e) in zip(result.temps, fileEntries) { try writer.commit(temp: temp, to: e.path) }
            result.pull.symlinks = try job.makeLinksAndDirectories(writer)
            return result.pull
        }

        let target = try PullTarget(destination: dest, tree: info.tree)
        if mode == .exact, !target.inTheWay.isEmpty {
            throw .destinationNotEmpty(
                path: dest, entries: Array(target.inTheWay.prefix(10)), count: target.inTheWay.count)
        }
        // A new stage holds nothing to resume: no file to look for, each one created new.
        let fresh: Bool
        do { fresh = try target.createStage() } catch {
            throw PullSpace.explain(
                error, destination: dest, root: target.stage, needed: tree.totalSize, inodes: job.inodes,
                staged: true)
        }
        var result: PullResult
        // What an interrupted run left that verified (so far, when stopped while checking it).
        var resume = PullJob.Resume()
        do {
            let writer = SafeWriter(root: target.stage)
            try job.makeParents(writer)
            if !fresh {
                try job.verifyExisting(
                    writer, into: &resume, writesInFlight: directWritesInFlight, seekHoles: resumeSeeksHoles
                ) { shouldStop(0) }
            }
            // In a new stage, small files are created and written by workers (StagedFileWriters).
            let queued = fresh && writerThreads > 0 ? StagedFileWriters(threads: writerThreads) : nil
            let written = try write(
                job, info: info, total: tree.totalSize, resume: resume, fetched: &fetched, wrote: &wrote,
                queued: queued.map { ($0, writer) }
            ) {
                (e) throws(ClientError) in
                if fresh {
                    let (fd, path) = try writer.createNew(e.path)
                    return (fd, path, true)
                }
                let (fd, path) = try writer.openInPlace(e.path)
                return (fd, path, false)
            }
            result = written.pull
            result.symlinks = try job.makeLinksAndDirectories(writer)
        } catch {
            let error = stopped(error, fetched: fetched)
            switch error {
            case .interrupted, .connectionClosed:
                if fresh && fetched == 0 {
                    // Stopped before the first chunk came: the stage this run made holds nothing to
                    // resume from, so it goes, and so do the parents made for it.
                    target.discardStage()
                    throw PullTarget.nothingLeft(error, destination: dest)
                }
                // Keep the stage: the next run verifies it chunk by chunk and fetches the rest. It
                // holds what this run wrote and what it verified of an earlier run's.
                let kept = PullTarget.Kept(
                    bytes: resume.bytes + wrote.bytes, files: resume.files.count + wrote.files)
                throw target.kept(error, kept, files: fileEntries.count)
            default:
                target.discardStage()
                throw PullSpace.explain(
                    error, destination: dest, root: target.stage, needed: tree.totalSize, inodes: job.inodes,
                    staged: true)
            }
        }
        do {
            (result.replaced, result.removed) = try target.switchIn(tree: tree)
        } catch {
            // The switch put the destination back as it was; the complete stage goes too.
            target.discardStage()
            throw error
        }
        return result
    }

    /// `error`, or the interruption it is: Ctrl-C closes the pull's connections to end a wait for
    /// the server (``shouldStop`` then says so).
    private func stopped(_ error: ClientError, fetched: Int) -> ClientError {
        guard case .connectionClosed = error, shouldStop(fetched) else { return error }
        return .interrupted(detail: "stopped while waiting for troved")
    }

    /// Writes every file of `job` through `open` (a temporary or the staged file), fetching the
    /// chunks that `resume` does not already have in place; returns the result and the paths
    /// written, in file order; `fetched` counts the chunks fetched so far. `wrote` counts the bytes
    /// this call put in place, also when it throws: chunks fetched or copied, once their writes
    /// completed (not queued: ``ChunkWriteQueue/completed``), and whole queued files, once a worker
    /// wrote them (``StagedFileWriters/written``); and the files holding any of them, apart from
    /// those holding a chunk `resume` verified.
    ///
    /// With `queued`, files up to ``StagedFileWriters/fileLimit`` are gathered in memory, verified,
    /// and handed to the workers to create under the writer's root (a stage this pull made).
    private func write(
        _ job: PullJob, info: Message.RefInfo, total: UInt64, resume: PullJob.Resume?, fetched: inout Int,
        wrote: inout PullTarget.Kept, queued: (StagedFileWriters, SafeWriter)? = nil,
        open: (TreeEntry) throws(ClientError) -> (fd: Int32, path: String, new: Bool)
    ) throws(ClientError) -> (pull: PullResult, temps: [String]) {
        wrote = PullTarget.Kept()
        // Nothing may still be writing when the caller keeps or removes the stage.
        defer {
            if let (writers, _) = queued {
                writers.settle()
                let (files, bytes) = writers.written
                wrote.files += files
                wrote.bytes += bytes
            }
        }
        let resume = resume ?? PullJob.Resume()
        let order = job.fetchOrder(skipping: resume)
        progress?.start(phase: "fetching", total: total)
        defer { progress?.finish() }
        // Each fetched chunk's digest and its file's blob digest in one pass (SHA256Pair).
        let hasher = SHA256Pair()
        // All the connections only where a file is large enough to be read from the packs in long
        // runs (their depth of pack reads is what helps); files under that go over two, as each
        // connection's buffers add to the client's memory (a 20 000-file restore: 123–125 MiB
        // peak over four against 114–117 over two, and no faster).
        let large = job.files.contains { $0.size >= UInt64(DirectFileAppender.bufferSize) }
        let extra = large ? extraConnections : Array(extraConnections.prefix(1))
        let stream = ChunkStream(
            connection: connection, extra: extra, order: order,
            window: max(2, (window + extra.count) / (1 + extra.count)), blob: hasher, fused: !hashOnArrival)
        // Fetched chunks of large files are written by a thread of their own (ChunkWriteQueue).
        let writes = ChunkWriteQueue(wakeBytes: writerWakeBytes, directWritesInFlight: directWritesInFlight)
        defer { writes.stop() }
        var placed = resume.local
        var paths: [String] = []
        var buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 0, alignment: 16)
        defer { buffer.deallocate() }
        func chunkBuffer(_ n: Int) -> UnsafeMutableRawBufferPointer {
            if buffer.count < n {
                buffer.deallocate()
                buffer = .allocate(byteCount: n, alignment: 16)
            }
            return UnsafeMutableRawBufferPointer(rebasing: buffer[0..<n])
        }
        var written: UInt64 = 0
        fetched = 0
        /// Files before this index may still be queued (not on disk yet).
        var queuedBelow = 0
        var worker = 0
        var lastParent = Substring()
        /// The bytes of a chunk placed earlier in another file (or, with `own`, this file), read
        /// into `chunkBuffer` once a worker has written it.
        func readPlaced(_ at: PullJob.Location, _ n: Int, own: Int32?) throws(ClientError)
            -> UnsafeMutableRawBufferPointer
        {
            if at.file < queuedBelow, let (writers, _) = queued {
                try writers.finish()
                queuedBelow = 0
            }
            try writes.drain()  // the bytes may still be queued
            let chunk = chunkBuffer(n)
            let srcFD: Int32
            if let own { srcFD = own } else { srcFD = try SafeWriter.openForRead(paths[at.file]) }
            defer { if own == nil { close(srcFD) } }
            try SafeWriter.preadFully(srcFD, chunk, at: at.offset, path: paths[at.file])
            return chunk
        }
        for (fileIndex, e) in job.files.enumerated() {
            let recipe = job.recipes[e.blob!]!
            if let (writers, root) = queued, e.size <= UInt64(StagedFileWriters.fileLimit) {
                // Gathered in memory, verified whole, then created and written by a worker.
                var content: [UInt8] = []
                content.reserveCapacity(Int(e.size))
                for c in recipe.chunks {
                    if shouldStop(fetched) {
                        throw .interrupted(detail: "stopped before \(e.path) was complete")
                    }
                    let n = Int(c.length)
                    if let at = placed[c.digest] {
                        let start = content.count
                        if at.file == fileIndex {
                            content += content[Int(at.offset)..<Int(at.offset) + n]
                        } else {
                            content += UnsafeRawBufferPointer(try readPlaced(at, n, own: nil))
                        }
                        content.withUnsafeBytes {
                            hasher.append(UnsafeRawBufferPointer(rebasing: $0[start...]))
                        }
                    } else {
                        let start = content.count
                        try stream.next { (chunk) throws(ClientError) in content += chunk }
                        fetched += 1
                        placed[c.digest] = PullJob.Location(file: fileIndex, offset: UInt64(start))
                    }
                    progress?.advance(by: UInt64(n))
                }
                try PullJob.check(e, digest: hasher.finalizeRunning(), size: UInt64(content.count))
                let path = root.full(e.path)
                paths.append(path)
                // One directory's files to one worker, the next directory's to the next.
                let parent = e.path[..<(e.path.lastIndex(of: "/") ?? e.path.startIndex)]
                if parent != lastParent {
                    lastParent = parent
                    worker += 1
                }
                written += UInt64(content.count)
                try writers.write(path: path, content: content, mode: e.mode, worker: worker)
                queuedBelow = fileIndex + 1
                continue
            }
            let (fd, path, new) = try open(e)
            // Nothing is queued from an earlier file (each one settles the queue at its end): what
            // it completes from here on is this file's.
            let completedBefore = writes.completed
            var copied: UInt64 = 0
            defer {
                writes.settle()  // no queued write may reach the descriptor after it is closed
                close(fd)
                let n = writes.completed - completedBefore + copied
                if n > 0 {
                    wrote.bytes += n
                    if !resume.files.contains(fileIndex) { wrote.files += 1 }
                }
            }
            paths.append(path)
            let direct = new && directWrites && e.size >= UInt64(DirectFileAppender.bufferSize)
            var offset: UInt64 = 0
            for (chunkIndex, c) in recipe.chunks.enumerated() {
                if shouldStop(fetched) { throw .interrupted(detail: "stopped before \(e.path) was complete") }
                let n = Int(c.length)
                if resume.verified.contains(PullJob.Position(file: fileIndex, chunk: chunkIndex)) {
                    // Written and verified by an interrupted run: only its bytes are needed for the digest.
                    let chunk = chunkBuffer(n)
                    try SafeWriter.preadFully(fd, chunk, at: offset, path: path)
                    hasher.append(UnsafeRawBufferPointer(chunk))
                } else if let at = placed[c.digest] {
                    // Already fetched (and verified) for an earlier position: copy it locally.
                    let chunk = try readPlaced(at, n, own: at.file == fileIndex ? fd : nil)
                    hasher.append(UnsafeRawBufferPointer(chunk))
                    try SafeWriter.pwriteFully(fd, UnsafeRawBufferPointer(chunk), at: offset, path: path)
                    copied += UInt64(n)
                } else {
                    // Verified (and appended to the blob digest) by the stream before it is queued.
                    try writes.write(
                        try stream.nextBuffer(), fd: fd, at: offset, path: path, direct: direct, size: e.size)
                    fetched += 1
                    placed[c.digest] = PullJob.Location(file: fileIndex, offset: offset)
                }
                offset += UInt64(c.length)
                progress?.advance(by: UInt64(c.length))
            }
            try PullJob.check(e, digest: hasher.finalizeRunning(), size: offset)
            try writes.drain()
            // A file created by this run holds exactly what was written; one left by an
            // interrupted run may be longer.
            guard new || ftruncate(fd, off_t(e.size)) == 0 else {
                throw .io(path: path, operation: "truncate", errno: errno)
            }
            fchmod(fd, mode_t(e.mode))  // already under the umask/special-bit rule (localModes)
            written += offset
        }
        try queued?.0.finish()
        let bytesFetched = order.reduce(UInt64(0)) { $0 + UInt64($1.length) }
        let pull = PullResult(
            info: info, files: job.files.count, symlinks: 0, bytesWritten: written,
            chunksFetched: order.count,
            bytesFetched: bytesFetched, chunksReused: resume.verified.count, bytesReused: resume.bytes,
            bytesChecked: resume.bytesChecked)
        return (pull, paths)
    }
}
