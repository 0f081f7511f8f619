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
    /// Whether record reads (`withBytes`) use direct I/O where the filesystem allows it.
    public let directIO: Bool
    private let handles = Mutex<[String: PackHandle]>([:])
    /// Aligned buffers for direct reads, reused.
    private let readBuffers = Pool<DirectReadBuffer>()
    /// Most pack descriptors kept open for reads.
    static let maxOpenPacks = 128

    public init(directory: String, tmpDirectory: String? = nil, directIO: Bool = false) {
        self.directory = directory
        self.tmpDirectory = tmpDirectory ?? directory
        self.directIO = directIO
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

    /// Passes `count` bytes at `offset` of pack `name` to `body` (valid during the call). With
    /// `directIO` they are read with `O_DIRECT` (the aligned pages around them, into a reused
    /// aligned buffer: no page-cache pages filled), else, or where the filesystem refuses, with
    /// an ordinary read.
    func withBytes<R>(
        name: String, offset: Int, count: Int, _ body: (UnsafeRawBufferPointer) throws(StoreError) -> R
    ) throws(StoreError) -> R {
        let h = try handle(name)
        return try withExtendedLifetime(h) { () throws(StoreError) -> R in
            if let direct = h.directFD {
                let align = PackFormat.alignment
                let start = offset - offset % align
                let end = (offset + count + align - 1) / align * align
                let buffer =
                    end - start <= DirectReadBuffer.pooledSize
                    ? readBuffers.take { DirectReadBuffer(DirectReadBuffer.pooledSize) } : DirectReadBuffer(end - start)
                defer { if buffer.memory.capacity == DirectReadBuffer.pooledSize { readBuffers.put(buffer) } }
                let all = UnsafeMutableRawBufferPointer(start: buffer.memory.base, count: end - start)
                // Near the end of the file the last page is short: read what there is.
                if let n = try FileIO.preadDirect(direct, all, at: start, h.path), n >= offset + count - start {
                    return try body(UnsafeRawBufferPointer(rebasing: all[(offset - start)..<(offset - start + count)]))
                }
            }
            let bytes = try FileIO.pread(h.fd, count: count, at: offset, h.path)
            var result: Result<R, StoreError>!
            bytes.withUnsafeBytes { b in
                result = Result { () throws(StoreError) -> R in try body(b) }
            }
            return try result.get()
        }
    }

    /// Reads `count` bytes at `offset` of pack `name` with `O_DIRECT` (the aligned pages around
    /// them) into `buffer`; returns where in `buffer` they start, or nil when direct reads are off
    /// or refused there (the caller then reads another way) or the buffer is too small.
    func readDirect(name: String, offset: Int, count: Int, into buffer: DirectReadBuffer) throws(StoreError) -> Int? {
        guard directIO else { return nil }
        let h = try handle(name)
        return try withExtendedLifetime(h) { () throws(StoreError) -> Int? in
            guard let direct = h.directFD else { return nil }
            let align = PackFormat.alignment
            let start = offset - offset % align
            let end = (offset + count + align - 1) / align * align
            guard end - start <= buffer.memory.capacity else { return nil }
            let all = UnsafeMutableRawBufferPointer(start: buffer.memory.base, count: end - start)
            guard let n = try FileIO.preadDirect(direct, all, at: start, h.path), n >= offset + count - start else {
                return nil
            }
            return offset - start
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
            let direct = directIO ? try? FileIO.openDirect(p, O_RDONLY) : nil
            if let direct, !direct.direct { close(direct.fd) }
            if cache.count >= Self.maxOpenPacks { cache.removeAll() }
            let h = PackHandle(fd: fd, directFD: direct?.direct == true ? direct?.fd : nil, path: p)
            cache[name] = h
            return h
        }
    }
}

/// A reusable aligned buffer for direct reads (one reader at a time: taken from and returned to
/// `LocalPackStorage`'s pool).
final class DirectReadBuffer {
    /// Size of the pooled buffers; a read of more gets a buffer of its own.
    static let pooledSize = 1 << 20
    let memory: AlignedBuffer

    init(_ size: Int) { memory = AlignedBuffer(capacity: size) }
}
