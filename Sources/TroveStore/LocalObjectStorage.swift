import Synchronization
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Objects as files in one directory, sharded by the first two hex digits of the digest:
/// `DIR/ab/<62 hex>` (the store's `objects/`). Also the local cache of `S3ObjectStorage`.
/// Shard directories known to exist durably are remembered in the `knownDirectories` Mutex.
public final class LocalObjectStorage: ObjectStorage {
    public let directory: String
    /// Where files are staged (same file system; the store's tmp/, emptied at open).
    public let tmpDirectory: String
    /// Largest file read back (an object of the store's `maxObjectSize` in its stored form).
    public let maxFileBytes: Int
    private let knownDirectories = Mutex<Set<String>>([])

    public init(directory: String, tmpDirectory: String, maxFileBytes: Int = (256 << 20) + 1024) {
        self.directory = directory
        self.tmpDirectory = tmpDirectory
        self.maxFileBytes = maxFileBytes
    }

    public var isRemote: Bool { false }

    /// The file of object `digest`.
    public func path(_ digest: Digest) -> String {
        let hex = digest.hex
        return directory + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    /// Writes the files durably (tmp → fsync → rename → fsync of each touched directory). All
    /// temporaries are written before the first fsync, so one journal commit can carry several.
    public func store(_ objects: [(digest: Digest, bytes: [UInt8])], intact: (Digest, [UInt8]) -> Bool)
        throws(StoreError)
    {
        var pending: [(tmp: String, path: String)] = []
        var dirs = Set<String>()
        defer { for p in pending { unlink(p.tmp) } }
        for (digest, bytes) in objects {
            let path = path(digest)
            // An existing object is kept only if it reads back intact (else it is replaced).
            if FileIO.exists(path), let old = try? FileIO.readFile(path, limit: maxFileBytes),
                intact(digest, old)
            {
                continue
            }
            try ensureDirectory(of: path)
            pending.append((try FileIO.writeTemporary(bytes, tmpDir: tmpDirectory), path))
            dirs.insert(FileIO.parent(of: path))
        }
        // Durable contents first, then the names (a crash in between leaves only temporaries).
        for p in pending { try FileIO.fsyncPath(p.tmp) }
        var moved = 0
        do {
            for p in pending {
                try FileIO.rename(p.tmp, p.path)
                moved += 1
            }
        } catch {
            // A full directory: the names already moved must still be durable (a later push
            // skips an object that exists), then the request fails.
            pending.removeFirst(moved)
            for d in dirs.sorted() { try FileIO.fsyncDirectory(d) }
            throw error
        }
        pending = []
        for d in dirs.sorted() { try FileIO.fsyncDirectory(d) }
    }

    /// Writes one file without fsync (a cache copy: readers verify it, a torn one is fetched again).
    public func install(_ digest: Digest, bytes: [UInt8]) throws(StoreError) {
        let path = path(digest)
        try ensureDirectory(of: path)
        let tmp = try FileIO.writeTemporary(bytes, tmpDir: tmpDirectory)
        do { try FileIO.rename(tmp, path) } catch {
            unlink(tmp)
            throw error
        }
    }

    public func read(_ digest: Digest, limit: Int) throws(StoreError) -> [UInt8]? {
        let path = path(digest)
        guard FileIO.exists(path) else { return nil }
        do { return try FileIO.readFile(path, limit: limit) } catch .io(_, _, ENOENT) { return nil }
    }

    public func exists(_ digest: Digest) throws(StoreError) -> Bool { FileIO.exists(path(digest)) }

    /// The size of object `digest`'s file; nil when there is none.
    public func size(_ digest: Digest) -> Int64? {
        var st = stat()
        return stat(path(digest), &st) == 0 ? Int64(st.st_size) : nil
    }

    public func list(shard: String?) throws(StoreError) -> ObjectListing {
        var out = ObjectListing(digests: [])
        for s in (shard.map { [$0] } ?? FileIO.list(directory)).sorted() {
            for rest in FileIO.list(directory + "/" + s).sorted() {
                if let d = Digest(hex: s + rest) { out.digests.append(d) } else { out.strays.append("objects/\(s)/\(rest)") }
            }
        }
        return out
    }

    @discardableResult
    public func delete(_ digest: Digest) throws(StoreError) -> Bool {
        if unlink(path(digest)) == 0 { return true }
        guard errno == ENOENT else { throw .io(op: "unlink", path: path(digest), errno: errno) }
        return false
    }

    public func dropCopy(_ digest: Digest) -> Bool { false }

    public func localOnly() throws(StoreError) -> [Digest] { [] }

    private func ensureDirectory(of path: String) throws(StoreError) {
        let dir = FileIO.parent(of: path)
        if knownDirectories.withLock({ $0.contains(dir) }) { return }
        if !FileIO.isDirectory(dir) {
            try FileIO.mkdir(dir)
            try FileIO.fsyncDirectory(FileIO.parent(of: dir))
        }
        knownDirectories.withLock { _ = $0.insert(dir) }
    }
}
