import Foundation
import Synchronization
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// A Trove store rooted at one directory (see docs/STORE.md for layout and guarantees).
///
/// Thread safety: every public method may be called from any thread concurrently. Methods block
/// (file and SQLite I/O); call them off event loops. Concurrent `putChunks` callers share
/// fsyncs (group commit). One process at a time may open a store (an exclusive lock on
/// `trove.toml` is held while open). Mutable state lives in `Mutex`es: `state` (pack names,
/// read-only flag), `uploads` (upload sessions), the group commit's own, the pack storage's.
public final class Store: Sendable {
    /// The root directory.
    public let root: String
    /// The configuration fixed at init.
    public let config: StoreConfig
    public let options: StoreOptions

    /// The catalog (`options.catalog`, else SQLite in `catalog.sqlite`).
    let catalog: any CatalogDatabase
    /// Where sealed packs live (`options.packStorage`, else the local packs/ directory).
    let packStorage: any PackStorage
    /// Where recipe and tree objects live (`options.objectStorage`, else the local objects/ directory).
    let objectStorage: any ObjectStorage
    let lockFD: Int32
    /// Pack bookkeeping and the read-only flag.
    let state = Mutex(StoreState())
    /// Live upload sessions by lease id (see Store+Uploads.swift): the one lock of uploads.
    let uploads = Mutex<[String: UploadState]>([:])
    let commit = GroupCommit()
    let decompressors = Pool<ChunkDecompressor>()
    /// Decompressors for object files (limit `maxObjectSize`), reused across reads.
    let objectDecompressors = Pool<ChunkDecompressor>()
    /// Encryption at rest (`options.encryption`); nil for a plaintext store.
    let cipher: StoreCipher?

    var tmpDir: String { root + "/tmp" }
    var packsDir: String { root + "/packs" }
    var objectsDir: String { root + "/objects" }

    /// Creates a new store in `root` (which must not exist or be empty) and opens it.
    public static func create(
        at root: String, config: StoreConfig = StoreConfig(), options: StoreOptions = StoreOptions()
    ) throws(StoreError) -> Store {
        try FileIO.mkdir(root)
        guard FileIO.isDirectory(root) else { throw .alreadyExists(path: root) }
        // An init interrupted by a crash leaves only these (and no trove.toml): finish it.
        let skeleton: Set<String> = [
            "packs", "objects", "tmp", "quarantine", "catalog.sqlite", "catalog.sqlite-wal",
            "catalog.sqlite-shm",
        ]
        guard Set(FileIO.list(root)).isSubset(of: skeleton) else { throw .alreadyExists(path: root) }
        var config = config
        config.encryptionKeyID = options.encryption?.key.id
        for d in ["packs", "objects", "tmp", "quarantine"] { try FileIO.mkdir(root + "/" + d) }
        // Shard directories (packs/ab, objects/ab) are created on first use (`ensureDirectory`).
        for d in ["packs", "objects", "tmp", "quarantine"] { try FileIO.fsyncDirectory(root + "/" + d) }
        try FileIO.fsyncDirectory(root)
        // Catalog first, config last: trove.toml's presence marks a complete store.
        if let catalog = options.catalog {
            try catalog.migrate()
        } else {
            try SQLiteCatalog(path: root + "/catalog.sqlite").migrate()
        }
        try FileIO.writeDurably(Array(config.tomlText.utf8), to: root + "/trove.toml", tmpDir: root + "/tmp")
        return try open(at: root, options: options)
    }

    /// Opens an existing store and runs recovery (clear tmp/, roll SQLite forward, register
    /// packs the index lacks from their trailers). Fails without touching anything if the
    /// config is missing, corrupt or of an unknown format version.
    public static func open(at root: String, options: StoreOptions = StoreOptions()) throws(StoreError)
        -> Store
    {
        let configPath = root + "/trove.toml"
        guard FileIO.exists(configPath) else { throw .notAStore(path: root) }
        let bytes = try FileIO.readFile(configPath, limit: 1 << 20)
        guard let text = String(validating: bytes, as: UTF8.self) else {
            throw .corruptConfig(path: configPath, detail: "not UTF-8")
        }
        let config = try StoreConfig.parse(text, path: configPath)
        // A wrong or missing key fails here, before the lock is taken or anything is touched.
        let rotation = try StoreCipher.checkKeys(config: config, encryption: options.encryption, root: root)
        let fd = try FileIO.open(configPath, O_RDONLY)
        guard lockExclusively(fd) else {
            close(fd)
            throw .io(op: "lock (is another troved using this store?)", path: configPath, errno: EWOULDBLOCK)
        }
        // On a full disk the catalog cannot open (SQLite needs room for its WAL): the reserve makes it.
        let released = releaseReserveIfShort(root: root)
        let catalog: any CatalogDatabase
        do {
            if let injected = options.catalog {
                catalog = injected
            } else {
                catalog = try SQLiteCatalog(
                    path: root + "/catalog.sqlite", mmapBytes: options.catalogMmapBytes,
                    checkpointAside: options.checkpointAside)
            }
            try catalog.migrate()
        } catch {
            close(fd)
            throw error
        }
        let store = Store(root: root, config: config, options: options, catalog: catalog, lockFD: fd)
        if let rotation { try StoreCipher.recordKeys(rotation, root: root) }
        if store.packStorage.isRemote || store.objectStorage.isRemote {
            // A new instance's root holds only the catalog: the working directories come back empty.
            for d in ["packs", "objects", "tmp", "quarantine"] where !FileIO.isDirectory(root + "/" + d) {
                try FileIO.mkdir(root + "/" + d)
                try FileIO.fsyncDirectory(root)
            }
        }
        if let released { store.state.withLock { $0.diskNote = released } }
        try store.recover()
        store.maintainReserve()
        return store
    }

    /// Takes the store's exclusive lock, retrying for up to a second: a process being spawned
    /// elsewhere in this process holds a copy of every descriptor until its `exec` closes the
    /// close-on-exec ones, which on a loaded machine can outlast the previous holder's close.
    private static func lockExclusively(_ fd: Int32) -> Bool {
        for attempt in 0..<50 {
            if flock(fd, LOCK_EX | LOCK_NB) == 0 { return true }
            guard errno == EWOULDBLOCK || errno == EINTR, attempt < 49 else { return false }
            usleep(20_000)
        }
        return false
    }

    init(root: String, config: StoreConfig, options: StoreOptions, catalog: any CatalogDatabase, lockFD: Int32) {
        self.root = root
        self.config = config
        self.options = options
        self.catalog = catalog
        self.packStorage =
            options.packStorage ?? LocalPackStorage(directory: root + "/packs", directIO: options.directIO)
        self.objectStorage =
            options.objectStorage
            ?? LocalObjectStorage(
                directory: root + "/objects", tmpDirectory: root + "/tmp", maxFileBytes: options.maxObjectSize + 1024)
        self.lockFD = lockFD
        self.cipher = options.encryption.map(StoreCipher.init)
    }

    deinit {
        commit.closeWriter()
        close(lockFD)
    }

    /// `true` after a durability failure: reads work, writes throw `.readOnly`.
    public var isReadOnly: Bool { state.withLock { $0.failure != nil } }

    func checkWritable() throws(StoreError) {
        if let f = state.withLock({ $0.failure }) { throw .readOnly(reason: f) }
    }

    /// Switches to read-only after a failed write or fsync on a data path. A write that found
    /// no space (`.noSpace`) does not: its caller removed what it wrote, and the next request may
    /// succeed once space is freed.
    func fail(_ error: StoreError) -> StoreError {
        if case .noSpace = error { return error }
        state.withLock { if $0.failure == nil { $0.failure = "\(error)" } }
        return error
    }

    /// Fault injection for tests: the next pack fsync fails with EIO.
    var failNextSyncForTesting: Bool {
        get { state.withLock { $0.failNextSync } }
        set { state.withLock { $0.failNextSync = newValue } }
    }

    /// Makes sure the shard directory holding `path` exists durably (mkdir + fsync of its
    /// parent the first time).
    func ensureDirectory(of path: String) throws(StoreError) {
        let dir = FileIO.parent(of: path)
        if state.withLock({ $0.knownDirectories.contains(dir) }) { return }
        if !FileIO.isDirectory(dir) {
            do {
                try FileIO.mkdir(dir)
                try FileIO.fsyncDirectory(FileIO.parent(of: dir))
            } catch { throw fail(error) }
        }
        state.withLock { _ = $0.knownDirectories.insert(dir) }
    }

    /// Where the store writes pack `name` (in remote mode: the working copy and read cache).
    func packPath(_ name: String) -> String { packsDir + "/" + name.prefix(2) + "/" + name + ".pack" }

    /// Where the local objects/ directory keeps object `d` (in remote mode: its cached copy).
    func objectPath(_ d: Digest) -> String {
        let hex = d.hex
        return objectsDir + "/" + hex.prefix(2) + "/" + hex.dropFirst(2)
    }

    // MARK: Recovery

    /// Clears tmp/, then finds pack files the catalog lacks or that were open at a crash:
    /// truncates their unacknowledged torn tail, registers every record of every sealed segment
    /// in the index, and marks them sealed. With remote pack storage, packs stored there that the
    /// catalog lacks are fetched and registered too, and a local pack is stored remotely before
    /// it is indexed. Deletes nothing else.
    func recover() throws(StoreError) {
        for name in FileIO.list(tmpDir) { unlink(tmpDir + "/" + name) }
        try FileIO.fsyncDirectory(tmpDir)
        let known: [String: (id: Int64, state: Int, size: Int)] = try catalog.read { db in
            var out: [String: (Int64, Int, Int)] = [:]
            for row in try Row.fetchAll(db, sql: "SELECT id, name, state, size FROM packs") {
                out[row["name"]] = (row["id"], row["state"], row["size"])
            }
            return out
        }
        state.withLock { for (n, v) in known { $0.packNames[v.id] = n } }
        let local = try LocalPackStorage(directory: packsDir).list()
        let remote = packStorage.isRemote ? try packStorage.list() : []
        for name in Set(local + remote).sorted() {
            let k = known[name]
            if let k, k.state == 1 { continue }  // sealed: fsck checks it, recovery trusts it
            if !FileIO.exists(packPath(name)) { _ = try packStorage.localFile(name: name) }
            try recoverPack(name: name, id: k?.id, indexedSize: k?.size ?? PackFormat.headerSize)
        }
        try recoverObjects()
    }

    /// Recovers a pack that was open at a crash (or never registered). Bytes up to
    /// `indexedSize` were acknowledged and are never cut; a torn tail after the last complete
    /// segment beyond that is truncated (it was never acknowledged); records of complete
    /// segments the index lacks are indexed.
    func recoverPack(name: String, id: Int64?, indexedSize: Int) throws(StoreError) {
        let path = packPath(name)
        let fd = try FileIO.open(path, O_RDWR)
        defer { close(fd) }
        // A damaged header is the scan's to report; a key that is not configured stops recovery.
        var seal: PackSeal? = nil
        do { seal = try packSeal(name: name, fd: fd, path: path) } catch {
            if case .encryption = error { throw error }
        }
        let scan = try PackScanner.scanForward(fd, path, seal: seal)
        var size = scan.validEnd
        var entries = scan.entries
        if scan.validEnd < indexedSize {
            // Damage inside acknowledged data, not a crash artefact: touch nothing, let fsck report it.
            size = indexedSize
        } else if scan.validEnd >= PackFormat.headerSize {
            if let cut = try firstDamagedUnacknowledgedSegment(
                fd, path, scan: scan, acknowledged: indexedSize, seal: seal)
            {
                size = cut
                entries = entries.filter { $0.offset < cut }
            }
            if size < scan.fileSize {
                guard ftruncate(fd, off_t(size)) == 0 else {
                    throw .io(op: "truncate", path: path, errno: errno)
                }
                try FileIO.fsync(fd, path)
            }
        }
        let finalSize = max(size, PackFormat.headerSize)
        if packStorage.isRemote { try packStorage.storeSealed(name: name, localPath: path) }
        let now = Clock.nowMillis()
        let newID: Int64 = try catalog.write { db in
            let pid: Int64
            if let id {
                pid = id
            } else {
                pid = try Int64.fetchOne(
                    db, sql: "INSERT INTO packs (name, state, size, created) VALUES (?, 1, ?, ?) RETURNING id",
                    arguments: [name, finalSize, now])!
            }
            var rows = [CatalogValue]()
            for e in entries where e.offset >= indexedSize || id == nil { rows.appendChunkRow(e, pack: pid, now: now) }
            try db.insertRows(.chunks, values: rows)
            try Store.refreshPackCounters(db, pack: pid, size: finalSize, state: 1)
            return pid
        }
        state.withLock { $0.packNames[newID] = name }
    }

    /// Checks every record written after `acknowledged` (CRC-32C, decompression, SHA-256) and
    /// returns where the first segment holding a damaged one starts, or nil when all are intact.
    /// Those segments were never acknowledged, and a crash can leave a segment's trailer on disk
    /// without every data page before it: indexing such a record unchecked would let a later push
    /// deduplicate against bytes that are not there.
    func firstDamagedUnacknowledgedSegment(
        _ fd: Int32, _ path: String, scan: PackScanner.ScanResult, acknowledged: Int, seal: PackSeal?
    ) throws(StoreError) -> Int? {
        let w = RecordVerifier.WorkerState(maxChunkSize: options.maxChunkSize)
        var scratch: [UInt8] = []
        for e in scan.entries where e.offset >= acknowledged {
            let record = try FileIO.pread(
                fd, count: PackFormat.recordHeaderSize + e.storedLength, at: e.offset, path)
            let problem = record.withUnsafeBytes { b in
                RecordVerifier.check(b, e, w.sha, w.dec, &scratch, seal: seal, gcm: w.gcm)
            }
            if problem != nil {
                let segmentStart = scan.segmentEnds.last(where: { $0 <= e.offset }) ?? PackFormat.headerSize
                return max(acknowledged, segmentStart)
            }
        }
        return nil
    }

    static func refreshPackCounters(_ db: any CatalogTransaction, pack: Int64, size: Int, state: Int) throws {
        try db.execute(
            sql: """
                UPDATE packs SET state = ?, size = ?,
                  chunks = (SELECT COUNT(*) FROM chunks WHERE pack = ?),
                  raw_bytes = (SELECT COALESCE(SUM(raw_len), 0) FROM chunks WHERE pack = ?),
                  stored_bytes = (SELECT COALESCE(SUM(stored_len), 0) FROM chunks WHERE pack = ?)
                WHERE id = ?
                """, arguments: [state, size, pack, pack, pack, pack])
    }

    // MARK: Pack reads

    /// The file name of pack `id`: known since open or written here, else (another instance
    /// sharing the catalog wrote it) read from the catalog and remembered.
    func packName(_ id: Int64) throws(StoreError) -> String {
        if let name = state.withLock({ $0.packNames[id] }) { return name }
        guard let name = try catalog.read({ db in try String.fetchOne(db, sql: "SELECT name FROM packs WHERE id = ?", arguments: [id]) })
        else {
            throw .corruptData(what: "pack #\(id)", detail: "unknown pack")
        }
        state.withLock { $0.packNames[id] = name }
        return name
    }

    /// Reads and checks one record: tag, digest, lengths, codec and CRC-32C of the stored bytes;
    /// in an encrypted pack also the tag of the sealed bytes, returning them opened.
    func readRecord(pack: Int64, entry e: PackEntry, checkCRC: Bool = true) throws(StoreError) -> [UInt8] {
        let name = try packName(pack)
        guard e.storedLength <= PackFormat.maxRecordLength else {
            throw .corruptData(what: "chunk \(e.digest)", detail: "stored length \(e.storedLength) too large")
        }
        let path = packPath(name)
        let header: [UInt8]
        let bytes: [UInt8]
        if packStorage.isRemote {
            // One ranged GET for the whole record.
            let all = try packStorage.read(
                name: name, offset: e.offset, count: PackFormat.recordHeaderSize + e.storedLength)
            header = Array(all[..<PackFormat.recordHeaderSize])
            bytes = Array(all[PackFormat.recordHeaderSize...])
        } else if let local = packStorage as? LocalPackStorage, local.directIO {
            // One direct read of the record's pages; the bytes copied out once.
            let h = PackFormat.recordHeaderSize
            (header, bytes) = try local.withBytes(name: name, offset: e.offset, count: h + e.storedLength) { b in
                (Array(b[..<h]), Array(b[h...]))
            }
        } else {
            // Header and bytes in two reads: the bytes land in the returned array, never moved.
            header = try packStorage.read(name: name, offset: e.offset, count: PackFormat.recordHeaderSize)
            bytes = try packStorage.read(
                name: name, offset: e.offset + PackFormat.recordHeaderSize, count: e.storedLength)
        }
        let seal = try packSeal(name: name) { () throws(StoreError) in
            try packStorage.read(name: name, offset: 0, count: PackFormat.headerSize)
        }
        let field = seal?.mask(e.digest, offset: e.offset) ?? e.digest
        let ok: Bool = header.withUnsafeBytes { h in
            bytes.withUnsafeBytes {
                PackFormat.recordMatches(header: h, stored: $0, e, field: field, checkCRC: checkCRC)
            }
        }
        guard ok else {
            throw .corruptData(
                what: "chunk \(e.digest) in \(path) at \(e.offset)", detail: "record check failed")
        }
        guard let seal else { return bytes }
        guard let opened = bytes.withUnsafeBytes({ seal.open($0, e) }) else {
            throw .corruptData(
                what: "chunk \(e.digest) in \(path) at \(e.offset)", detail: "authentication tag mismatch")
        }
        return opened
    }
}

/// The store's mutable bookkeeping, guarded by `Store.state`.
struct StoreState {
    /// Set after a durability failure; every write then throws `.readOnly`.
    var failure: String?
    /// Pack id → file name, for every pack the catalog knows.
    var packNames: [Int64: String] = [:]
    /// Shard directories known to exist durably.
    var knownDirectories = Set<String>()
    /// Fault injection for tests: the next pack fsync fails with EIO.
    var failNextSync = false
    /// What the last reserve check did (released or re-created the reserve file), for the log.
    var diskNote: String?
}

/// An open pack file descriptor, closed when the last reader lets go of it.
final class PackHandle: Sendable {
    let fd: Int32
    /// The same file opened with `O_DIRECT`, when direct reads are on and the filesystem allows.
    let directFD: Int32?
    let path: String

    init(fd: Int32, directFD: Int32? = nil, path: String) {
        self.fd = fd
        self.directFD = directFD
        self.path = path
    }

    deinit {
        close(fd)
        if let directFD { close(directFD) }
    }
}

/// A tiny thread-safe object pool (decompressors are not thread-safe and costly to create):
/// an item is used by one thread at a time, between `take` and `put`.
final class Pool<T: AnyObject>: Sendable {
    /// `@unchecked Sendable`: an idle item is reachable only through the `items` Mutex, and a
    /// taken one only by the thread that took it.
    private struct Idle: @unchecked Sendable { let item: T }
    private let items = Mutex<[Idle]>([])

    func take(_ make: () -> T) -> T {
        items.withLock { $0.popLast() }?.item ?? make()
    }

    func put(_ item: T) {
        let idle = Idle(item: item)
        items.withLock { if $0.count < 16 { $0.append(idle) } }
    }
}
