import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// Packs as files in one directory, sharded by the first two characters of the name:
/// `DIR/ab/<name>.pack` (the store's `packs/`). Also the local read cache of `S3PackStorage`.
/// Open read descriptors are cached (reference-counted, so evicting one never closes a
/// descriptor another thread reads from); the cache lives in the `handles` Mutex.
public final class LocalPackStorage: PackStorage {
    public let directory: String
    /// Where `install` stages files (same file system; the store's tmp/, emptied at open).
    public let tmpDirectory: String
    private let handles = Mutex<[String: PackHandle]>([:])
    /// Most pack descriptors kept open for reads.
    static let maxOpenPacks = 128

    public init(directory: String, tmpDirectory: String? = nil) {
        self.directory = directory
        self.tmpDirectory = tmpDirectory ?? directory
    }

    public var isRemote: Bool { false }

    /// The file of pack `name`.
    public func path(_ name: String) -> String { directory + "/" + name.prefix(2) + "/" + name + ".pack" }

    /// The pack was written in place, durably, segment by segment: nothing more to do.
    public func storeSealed(name: String, localPath: String) throws(StoreError) {
        guard localPath == path(name) else {
            throw .invalidArgument("local pack \(name) must be stored at \(path(name)), not \(localPath)")
        }
    }

    public func read(name: String, offset: Int, count: Int) throws(StoreError) -> [UInt8] {
        let h = try handle(name)
        return try withExtendedLifetime(h) { () throws(StoreError) -> [UInt8] in
            try FileIO.pread(h.fd, count: count, at: offset, h.path)
        }
    }

    public func localFile(name: String) throws(StoreError) -> String {
        let p = path(name)
        guard FileIO.exists(p) else { throw .io(op: "open", path: p, errno: ENOENT) }
        return p
    }

    public func exists(name: String) throws(StoreError) -> Bool { FileIO.exists(path(name)) }

    public func list() throws(StoreError) -> [String] {
        var out: [String] = []
        for shard in FileIO.list(directory).sorted() {
            for file in FileIO.list(directory + "/" + shard).sorted() where file.hasSuffix(".pack") {
                out.append(String(file.dropLast(5)))
            }
        }
        return out
    }

    @discardableResult
    public func delete(name: String) throws(StoreError) -> Int64 {
        forget(name)
        let p = path(name)
        var st = stat()
        guard stat(p, &st) == 0 else { return 0 }
        guard unlink(p) == 0 else {
            if errno == ENOENT { return 0 }
            throw .io(op: "unlink", path: p, errno: errno)
        }
        try FileIO.fsyncDirectory(FileIO.parent(of: p))
        return Int64(st.st_size)
    }

    /// The whole file of pack `name` (at most `limit` bytes).
    public func contents(name: String, limit: Int) throws(StoreError) -> [UInt8] {
        try FileIO.readFile(path(name), limit: limit)
    }

    /// The size of pack `name`'s file; nil when there is none.
    public func size(name: String) -> Int64? {
        var st = stat()
        return stat(path(name), &st) == 0 ? Int64(st.st_size) : nil
    }

    /// Writes `bytes` as pack `name` durably (staged in `tmpDirectory`, fsync, rename, fsync).
    public func install(name: String, bytes: [UInt8]) throws(StoreError) {
        let p = path(name)
        let shard = FileIO.parent(of: p)
        if !FileIO.isDirectory(shard) {
            try FileIO.mkdir(shard)
            try FileIO.fsyncDirectory(directory)
        }
        try FileIO.writeDurably(bytes, to: p, tmpDir: tmpDirectory)
    }

    /// Drops the cached descriptor of `name` (readers holding it keep it until they finish).
    public func forget(_ name: String) {
        _ = handles.withLock { $0.removeValue(forKey: name) }
    }

    private func handle(_ name: String) throws(StoreError) -> PackHandle {
        try handles.withLock { (cache) throws(StoreError) -> PackHandle in
            if let h = cache[name] { return h }
            let p = path(name)
            let fd = try FileIO.open(p, O_RDONLY)
            if cache.count >= Self.maxOpenPacks { cache.removeAll() }
            let h = PackHandle(fd: fd, path: p)
            cache[name] = h
            return h
        }
    }
}
