import TroveCore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Verified chunks shared by every reader of a mount: a small in-memory LRU in front of a bounded
/// on-disk LRU (one file per chunk, `DIR/ab/<hex>`), plus bookkeeping so that concurrent readers
/// missing the same chunk fetch it once.
///
/// The disk tier never holds more than `capacity` bytes of chunk data: an insert evicts the least
/// recently used files first, and a chunk larger than the whole capacity is not stored. A file
/// read back from disk is re-hashed before use; one that fails (damaged disk, a stray write) is
/// deleted and the chunk fetched again, so a damaged cache never yields wrong bytes.
/// The directory is locked (`flock`) for the life of the cache: two mounts cannot share one.
public final class ChunkCache: @unchecked Sendable {
    /// The directory, or nil when the disk tier is off (`capacity` 0).
    public let directory: String?
    /// Bound of the disk tier, bytes of chunk data.
    public let capacity: Int
    /// Bound of the memory tier, bytes.
    public let memoryCapacity: Int

    private let monitor = Monitor()
    private var memory: [Digest: [UInt8]] = [:]
    private var memoryOrder = LRUList<Digest>()
    private var memoryBytes = 0
    private var disk: [Digest: Int] = [:]
    private var diskOrder = LRUList<Digest>()
    private var diskBytes = 0
    private var inflight = Set<Digest>()
    private var lockFD: Int32 = -1
    private var tmpCounter = 0

    /// Opens (creating) the cache. Existing chunk files are indexed (oldest first by mtime) and
    /// trimmed to `capacity`; leftover temporary files are removed.
    public init(directory: String?, capacity: Int, memoryCapacity: Int = 64 << 20) throws(MountError) {
        self.capacity = max(0, capacity)
        self.memoryCapacity = max(0, memoryCapacity)
        self.directory = capacity > 0 ? directory : nil
        guard let dir = self.directory else { return }
        try Self.makeDirectories(dir)
        lockFD = open(dir + "/.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        guard lockFD >= 0 else {
            throw .local(detail: "cannot open \(dir)/.lock: \(String(cString: strerror(errno)))")
        }
        guard flock(lockFD, LOCK_EX | LOCK_NB) == 0 else {
            close(lockFD)
            lockFD = -1
            throw .local(
                detail: "the cache directory \(dir) is in use by another trove mount; "
                    + "give each mount its own --cache-dir")
        }
        scan(dir)
    }

    deinit {
        if lockFD >= 0 { close(lockFD) }
    }

    /// Bytes of chunk data in the disk tier now.
    public var diskUsage: Int { monitor.withLock { diskBytes } }
    /// Number of chunks in the disk tier now.
    public var diskCount: Int { monitor.withLock { disk.count } }

    // MARK: lookups

    /// The chunk's verified bytes from memory or disk, or nil.
    public func lookup(_ chunk: RecipeChunk) -> [UInt8]? {
        let onDisk: Bool = monitor.withLock {
            if memory[chunk.digest] != nil {
                memoryOrder.touch(chunk.digest)
                return false
            }
            if disk[chunk.digest] != nil {
                diskOrder.touch(chunk.digest)
                return true
            }
            return false
        }
        if !onDisk { return monitor.withLock { memory[chunk.digest] } }
        guard let bytes = readVerified(chunk) else { return nil }
        monitor.withLock { insertMemory(chunk.digest, bytes) }
        return bytes
    }

    /// Whether the chunk is held (without loading it).
    public func contains(_ digest: Digest) -> Bool {
        monitor.withLock { memory[digest] != nil || disk[digest] != nil }
    }

    // MARK: fetch coordination

    /// Splits `chunks` (distinct) into those the caller must fetch (now marked in flight) and
    /// those another reader is already fetching.
    /// With `includeDisk`, chunks held only on disk are claimed too (read-ahead loads them into
    /// memory with ``loadFromDisk(_:)``, then ``fulfil(_:_:)``).
    func claim(_ chunks: [RecipeChunk], includeDisk: Bool = false) -> (
        mine: [RecipeChunk], others: [RecipeChunk]
    ) {
        monitor.withLock {
            var mine: [RecipeChunk] = []
            var others: [RecipeChunk] = []
            for c in chunks {
                if inflight.contains(c.digest) {
                    others.append(c)
                } else if memory[c.digest] == nil && (includeDisk || disk[c.digest] == nil) {
                    inflight.insert(c.digest)
                    mine.append(c)
                }
            }
            return (mine, others)
        }
    }

    /// Stores fetched (verified) chunks, releases their in-flight marks and wakes waiters.
    func fulfil(_ chunks: [RecipeChunk], _ bytes: [[UInt8]]) {
        monitor.withLock {
            for (c, b) in zip(chunks, bytes) {
                insertMemory(c.digest, b)
                inflight.remove(c.digest)
            }
            monitor.broadcast()
        }
        for (c, b) in zip(chunks, bytes) { store(c.digest, b) }
    }

    /// The chunk's verified bytes from the disk tier (not inserted in memory), or nil.
    func loadFromDisk(_ chunk: RecipeChunk) -> [UInt8]? {
        let onDisk: Bool = monitor.withLock {
            guard disk[chunk.digest] != nil else { return false }
            diskOrder.touch(chunk.digest)
            return true
        }
        return onDisk ? readVerified(chunk) : nil
    }

    /// Releases in-flight marks of chunks whose fetch failed.
    func abandon(_ chunks: [RecipeChunk]) {
        monitor.withLock {
            for c in chunks { inflight.remove(c.digest) }
            monitor.broadcast()
        }
    }

    /// Waits until no reader is fetching `digest`.
    func waitUntilSettled(_ digest: Digest) {
        monitor.withLock {
            while inflight.contains(digest) { monitor.wait() }
        }
    }

    // MARK: memory tier

    private func insertMemory(_ d: Digest, _ bytes: [UInt8]) {
        guard bytes.count <= memoryCapacity else { return }
        if memory[d] == nil {
            memory[d] = bytes
            memoryBytes += bytes.count
        }
        memoryOrder.touch(d)
        while memoryBytes > memoryCapacity, let old = memoryOrder.popOldest() {
            memoryBytes -= memory.removeValue(forKey: old)?.count ?? 0
        }
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
        var victims: [Digest] = []
        monitor.withLock {
            for (d, size, _) in found {
                disk[d] = size
                diskBytes += size
                diskOrder.touch(d)
            }
            victims = evictDisk(needing: 0)
        }
        for v in victims { unlink(path(v)) }
    }

    /// Removes least recently used entries until `extra` more bytes fit; returns their digests
    /// (the caller unlinks the files outside the lock).
    private func evictDisk(needing extra: Int) -> [Digest] {
        var victims: [Digest] = []
        while diskBytes + extra > capacity, let old = diskOrder.popOldest() {
            diskBytes -= disk.removeValue(forKey: old) ?? 0
            victims.append(old)
        }
        return victims
    }

    /// Writes a chunk file (temporary name, then rename) and indexes it, evicting as needed.
    private func store(_ d: Digest, _ bytes: [UInt8]) {
        guard directory != nil, bytes.count <= capacity else { return }
        var victims: [Digest] = []
        let reserved: Bool = monitor.withLock {
            guard disk[d] == nil else { return false }
            victims = evictDisk(needing: bytes.count)
            disk[d] = bytes.count
            diskBytes += bytes.count
            diskOrder.touch(d)
            tmpCounter += 1
            return true
        }
        for v in victims { unlink(path(v)) }
        guard reserved else { return }
        let final = path(d)
        let tmp = final + ".tmp\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        var ok = false
        var fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        if fd < 0 && errno == ENOENT {
            mkdir(String(final.dropLast(d.hex.count + 1)), 0o700)
            fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        }
        if fd >= 0 {
            ok = bytes.withUnsafeBytes { b in
                var done = 0
                while done < b.count {
                    let n = write(fd, b.baseAddress! + done, b.count - done)
                    if n < 0 {
                        if errno == EINTR { continue }
                        return false
                    }
                    done += n
                }
                return true
            }
            close(fd)
            ok = ok && rename(tmp, final) == 0
            if !ok { unlink(tmp) }
        }
        if !ok { forget(d, unlinkFile: false) }
    }

    /// Reads a chunk file and checks its length and SHA-256; a bad file is deleted.
    private func readVerified(_ chunk: RecipeChunk) -> [UInt8]? {
        let p = path(chunk.digest)
        let fd = open(p, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            forget(chunk.digest, unlinkFile: false)
            return nil
        }
        defer { close(fd) }
        let n = Int(chunk.length)
        var got = 0
        var noTrailingBytes = false
        let bytes = [UInt8](unsafeUninitializedCapacity: n) { b, count in
            while got < n {
                let r = pread(fd, b.baseAddress! + got, n - got, off_t(got))
                if r < 0 && errno == EINTR { continue }
                if r <= 0 { break }
                got += r
            }
            if got == n {
                var probe: UInt8 = 0
                noTrailingBytes = pread(fd, &probe, 1, off_t(n)) == 0
                count = n
            } else {
                count = 0
            }
        }
        guard got == n, noTrailingBytes, SHA256.hash(bytes) == chunk.digest else {
            forget(chunk.digest, unlinkFile: true)
            return nil
        }
        return bytes
    }

    private func forget(_ d: Digest, unlinkFile: Bool) {
        monitor.withLock {
            if let size = disk.removeValue(forKey: d) {
                diskBytes -= size
                diskOrder.remove(d)
            }
        }
        if unlinkFile { unlink(path(d)) }
    }
}
