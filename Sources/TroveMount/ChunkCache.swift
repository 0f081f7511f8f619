import Dispatch
import Glibc
import Synchronization
import SystemPackage
import TroveCore

/// Verified chunks shared by every reader of a mount: a small in-memory LRU in front of a bounded
/// on-disk LRU (one file per chunk, `DIR/ab/<hex>`), plus bookkeeping so that concurrent readers
/// missing the same chunk fetch it once.
///
/// The disk tier never holds more than `capacity` bytes of chunk data: an insert evicts the least
/// recently used files first, and a chunk larger than the whole capacity is not stored. A file
/// read back from disk is re-hashed before use; one that fails (damaged disk, a stray write) is
/// deleted and the chunk fetched again, so a damaged cache never yields wrong bytes.
/// The directory is locked (`flock`) for the life of the cache: two mounts cannot share one.
///
/// Concurrency: all bookkeeping lives in one `Mutex` (``State``), never held during file I/O or
/// hashing. A reader that needs a chunk another reader is fetching waits on that chunk's
/// `DispatchGroup` (entered when the fetch is claimed, left when it is stored or abandoned),
/// outside the lock.
public final class ChunkCache: Sendable {
    /// The directory, or nil when the disk tier is off (`capacity` 0).
    public let directory: String?
    /// Bound of the disk tier, bytes of chunk data.
    public let capacity: Int
    /// Bound of the memory tier, bytes.
    public let memoryCapacity: Int

    private let state = Mutex(State())
    /// The open `.lock` file holding the `flock` (nil when the disk tier is off).
    private let lockFile: FileDescriptor?

    /// What the lock guards: both tiers' indexes and the chunks being fetched.
    fileprivate struct State {
        var memory: [Digest: [UInt8]] = [:]
        var memoryOrder = LRUList<Digest>()
        var memoryBytes = 0
        var disk: [Digest: Int] = [:]
        var diskOrder = LRUList<Digest>()
        var diskBytes = 0
        /// Chunks being fetched; each group is left once its chunk is stored or abandoned.
        var inflight: [Digest: DispatchGroup] = [:]
    }

    /// Opens (creating) the cache. Existing chunk files are indexed (oldest first by mtime) and
    /// trimmed to `capacity`; leftover temporary files are removed.
    public init(directory: String?, capacity: Int, memoryCapacity: Int = 64 << 20) throws(MountError) {
        self.capacity = max(0, capacity)
        self.memoryCapacity = max(0, memoryCapacity)
        self.directory = capacity > 0 ? directory : nil
        guard let dir = self.directory else {
            lockFile = nil
            return
        }
        try Self.makeDirectories(dir)
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(
                FilePath(dir + "/.lock"), .readWrite, options: [.create, .closeOnExec],
                permissions: FilePermissions(rawValue: 0o644))
        } catch {
            throw .local(detail: "cannot open \(dir)/.lock: \(error)")
        }
        guard flock(fd.rawValue, LOCK_EX | LOCK_NB) == 0 else {
            try? fd.close()
            throw .local(
                detail: "the cache directory \(dir) is in use by another trove mount; "
                    + "give each mount its own --cache-dir")
        }
        lockFile = fd
        scan(dir)
    }

    deinit {
        try? lockFile?.close()
    }

    /// Bytes of chunk data in the disk tier now.
    public var diskUsage: Int { state.withLock { $0.diskBytes } }
    /// Number of chunks in the disk tier now.
    public var diskCount: Int { state.withLock { $0.disk.count } }

    // MARK: lookups

    /// The chunk's verified bytes from memory or disk, or nil.
    public func lookup(_ chunk: RecipeChunk) -> [UInt8]? {
        let (inMemory, onDisk): ([UInt8]?, Bool) = state.withLock {
            if let bytes = $0.memory[chunk.digest] {
                $0.memoryOrder.touch(chunk.digest)
                return (bytes, false)
            }
            if $0.disk[chunk.digest] != nil {
                $0.diskOrder.touch(chunk.digest)
                return (nil, true)
            }
            return (nil, false)
        }
        if let inMemory { return inMemory }
        guard onDisk, let bytes = readVerified(chunk) else { return nil }
        state.withLock { $0.insertMemory(chunk.digest, bytes, capacity: memoryCapacity) }
        return bytes
    }

    /// Whether the chunk is held (without loading it).
    public func contains(_ digest: Digest) -> Bool {
        state.withLock { $0.memory[digest] != nil || $0.disk[digest] != nil }
    }

    // MARK: fetch coordination

    /// Splits `chunks` (distinct) into those the caller must fetch (now marked in flight) and
    /// those another reader is already fetching.
    /// With `includeDisk`, chunks held only on disk are claimed too (read-ahead loads them into
    /// memory with ``loadFromDisk(_:)``, then ``fulfil(_:_:)``).
    func claim(_ chunks: [RecipeChunk], includeDisk: Bool = false) -> (
        mine: [RecipeChunk], others: [RecipeChunk]
    ) {
        state.withLock {
            var mine: [RecipeChunk] = []
            var others: [RecipeChunk] = []
            for c in chunks {
                if $0.inflight[c.digest] != nil {
                    others.append(c)
                } else if $0.memory[c.digest] == nil && (includeDisk || $0.disk[c.digest] == nil) {
                    let group = DispatchGroup()
                    group.enter()
                    $0.inflight[c.digest] = group
                    mine.append(c)
                }
            }
            return (mine, others)
        }
    }

    /// Stores fetched (verified) chunks, releases their in-flight marks and wakes waiters.
    func fulfil(_ chunks: [RecipeChunk], _ bytes: [[UInt8]]) {
        let settled: [DispatchGroup] = state.withLock {
            var settled: [DispatchGroup] = []
            for (c, b) in zip(chunks, bytes) {
                $0.insertMemory(c.digest, b, capacity: memoryCapacity)
                if let g = $0.inflight.removeValue(forKey: c.digest) { settled.append(g) }
            }
            return settled
        }
        for g in settled { g.leave() }
        for (c, b) in zip(chunks, bytes) { store(c.digest, b) }
    }

    /// The chunk's verified bytes from the disk tier (not inserted in memory), or nil.
    func loadFromDisk(_ chunk: RecipeChunk) -> [UInt8]? {
        let onDisk: Bool = state.withLock {
            guard $0.disk[chunk.digest] != nil else { return false }
            $0.diskOrder.touch(chunk.digest)
            return true
        }
        return onDisk ? readVerified(chunk) : nil
    }

    /// Releases in-flight marks of chunks whose fetch failed.
    func abandon(_ chunks: [RecipeChunk]) {
        let settled: [DispatchGroup] = state.withLock { s in
            chunks.compactMap { c in s.inflight.removeValue(forKey: c.digest) }
        }
        for g in settled { g.leave() }
    }

    /// Waits until no reader is fetching `digest`.
    func waitUntilSettled(_ digest: Digest) {
        while let group = state.withLock({ $0.inflight[digest] }) { group.wait() }
    }

    // MARK: disk tier

    private static func makeDirectories(_ dir: String) throws(MountError) {
        var path = ""
        for part in dir.split(separator: "/", omittingEmptySubsequences: false) {
            path +=
                path.isEmpty && dir.hasPrefix("/") ? "/" + part : (path.isEmpty ? String(part) : "/" + part)
            if path.isEmpty || path == "/" { continue }
            if mkdir(path, 0o700) != 0 && errno != EEXIST {
                throw .local(
                    detail: "cannot create the cache directory \(path): \(String(cString: strerror(errno)))")
            }
        }
        var st = stat()
        guard stat(dir, &st) == 0, (st.st_mode & S_IFMT) == S_IFDIR else {
            throw .local(detail: "the cache directory \(dir) is not a directory")
        }
    }

    private func path(_ d: Digest) -> String {
        let hex = d.hex
        return "\(directory!)/\(hex.prefix(2))/\(hex)"
    }

    /// Indexes existing chunk files, oldest first; removes temporaries and foreign names.
    private func scan(_ dir: String) {
        var found: [(Digest, Int, Double)] = []
        guard let top = opendir(dir) else { return }
        defer { closedir(top) }
        while let e = readdir(top) {
            let shard = withUnsafeBytes(of: e.pointee.d_name) {
                String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
            }
            guard shard.utf8.count == 2, shard != ".." else { continue }
            guard let sub = opendir(dir + "/" + shard) else { continue }
            while let f = readdir(sub) {
                let name = withUnsafeBytes(of: f.pointee.d_name) {
                    String(cString: $0.bindMemory(to: CChar.self).baseAddress!)
                }
                if name == "." || name == ".." { continue }
                let full = dir + "/" + shard + "/" + name
                guard let d = Digest(hex: name), name.hasPrefix(shard) else {
                    unlink(full)
                    continue
                }
                var st = stat()
                guard stat(full, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { continue }
                found.append(
                    (d, Int(st.st_size), Double(st.st_mtim.tv_sec) + Double(st.st_mtim.tv_nsec) / 1e9))
            }
            closedir(sub)
        }
        found.sort { $0.2 < $1.2 }
        let victims: [Digest] = state.withLock {
            for (d, size, _) in found {
                $0.disk[d] = size
                $0.diskBytes += size
                $0.diskOrder.touch(d)
            }
            return $0.evictDisk(needing: 0, capacity: capacity)
        }
        for v in victims { unlink(path(v)) }
    }

    /// Writes a chunk file (temporary name, then rename) and indexes it, evicting as needed.
    private func store(_ d: Digest, _ bytes: [UInt8]) {
        guard directory != nil, bytes.count <= capacity else { return }
        let (reserved, victims): (Bool, [Digest]) = state.withLock {
            guard $0.disk[d] == nil else { return (false, []) }
            let victims = $0.evictDisk(needing: bytes.count, capacity: capacity)
            $0.disk[d] = bytes.count
            $0.diskBytes += bytes.count
            $0.diskOrder.touch(d)
            return (true, victims)
        }
        for v in victims { unlink(path(v)) }
        guard reserved else { return }
        let final = path(d)
        let tmp = final + ".tmp\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        func create() throws -> FileDescriptor {
            try FileDescriptor.open(
                FilePath(tmp), .writeOnly, options: [.create, .exclusiveCreate, .closeOnExec],
                permissions: .ownerReadWrite)
        }
        do {
            let fd: FileDescriptor
            do { fd = try create() } catch let e as Errno where e == .noSuchFileOrDirectory {
                mkdir(String(final.dropLast(d.hex.count + 1)), 0o700)
                fd = try create()
            }
            do {
                _ = try fd.closeAfter { try fd.writeAll(bytes) }
                // Rename under the lock, and only while the chunk is still indexed: another
                // insert may have evicted it while this one wrote (it unlinked a file that did
                // not exist yet), and renaming then would leave an unindexed file past the bound.
                let renamed: Int32? = state.withLock {
                    guard $0.disk[d] != nil else { return nil }
                    return rename(tmp, final) == 0 ? 0 : errno
                }
                guard let renamed else {
                    unlink(tmp)
                    return
                }
                guard renamed == 0 else { throw Errno(rawValue: renamed) }
            } catch {
                unlink(tmp)
                throw error
            }
        } catch {
            forget(d, unlinkFile: false)
        }
    }

    /// Reads a chunk file and checks its length and SHA-256; a bad file is deleted.
    private func readVerified(_ chunk: RecipeChunk) -> [UInt8]? {
        let fd: FileDescriptor
        do {
            fd = try FileDescriptor.open(FilePath(path(chunk.digest)), .readOnly, options: .closeOnExec)
        } catch {
            forget(chunk.digest, unlinkFile: false)
            return nil
        }
        defer { try? fd.close() }
        // One byte more than the chunk, to see that the file holds nothing after it.
        let n = Int(chunk.length)
        var got = 0
        var bytes = [UInt8](repeating: 0, count: n + 1)
        bytes.withUnsafeMutableBytes { b in
            while got <= n,
                let r = try? fd.read(
                    fromAbsoluteOffset: Int64(got), into: UnsafeMutableRawBufferPointer(rebasing: b[got...])),
                r > 0
            {
                got += r
            }
        }
        bytes.removeLast()
        guard got == n, SHA256.hash(bytes) == chunk.digest else {
            forget(chunk.digest, unlinkFile: true)
            return nil
        }
        return bytes
    }

    private func forget(_ d: Digest, unlinkFile: Bool) {
        state.withLock {
            if let size = $0.disk.removeValue(forKey: d) {
                $0.diskBytes -= size
                $0.diskOrder.remove(d)
            }
        }
        if unlinkFile { unlink(path(d)) }
    }
}

extension ChunkCache.State {
    /// Adds verified bytes to the memory tier, evicting the least recently used beyond `capacity`.
    mutating func insertMemory(_ d: Digest, _ bytes: [UInt8], capacity: Int) {
        guard bytes.count <= capacity else { return }
        if memory[d] == nil {
            memory[d] = bytes
            memoryBytes += bytes.count
        }
        memoryOrder.touch(d)
        while memoryBytes > capacity, let old = memoryOrder.popOldest() {
            memoryBytes -= memory.removeValue(forKey: old)?.count ?? 0
        }
    }

    /// Removes least recently used disk entries until `extra` more bytes fit in `capacity`;
    /// returns their digests (the caller unlinks the files outside the lock).
    mutating func evictDisk(needing extra: Int, capacity: Int) -> [Digest] {
        var victims: [Digest] = []
        while diskBytes + extra > capacity, let old = diskOrder.popOldest() {
            diskBytes -= disk.removeValue(forKey: old) ?? 0
            victims.append(old)
        }
        return victims
    }
}
