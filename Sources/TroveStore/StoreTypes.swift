import TroveCore

/// Tunables for an open store.
public struct StoreOptions: Sendable {
    /// A pack is sealed once it reaches this size (default 64 MiB).
    public var packSize: Int = 64 << 20
    /// Largest raw chunk the store accepts (default 16 MiB; FastCDC max is ≤ 16 MiB).
    public var maxChunkSize: Int = 16 << 20
    /// Largest object (recipe or tree) in canonical bytes (default 256 MiB).
    public var maxObjectSize: Int = 256 << 20
    /// SQLite memory-map window for the catalog (default 1 GiB of address space; the pages are
    /// page cache, reclaimable, not heap). 0 disables it.
    public var catalogMmapBytes: Int = 1 << 30
    /// Writes of new data (chunks, objects, staged parts) are refused with `.noSpace` when they
    /// would leave less than this many bytes free on the store's filesystem, so the catalog,
    /// fsck and a GC always have room (0: no floor; troved's `server.min_free_space`).
    public var minFreeSpace: Int = 0
    /// Size of the reserve file `ROOT/reserve` kept pre-allocated while there is room, and
    /// deleted when the store opens or a GC starts with less free space than it holds (0: none;
    /// troved's `server.disk_reserve`).
    public var reserveBytes: Int = 0

    /// Where sealed packs live; nil: the store's packs/ directory (`LocalPackStorage`).
    public var packStorage: (any PackStorage)? = nil
    /// Where recipe and tree objects live; nil: the store's objects/ directory (`LocalObjectStorage`).
    public var objectStorage: (any ObjectStorage)? = nil
    /// Pack segments are written and read with direct I/O (`O_DIRECT`, page cache bypassed) where
    /// the filesystem allows it (default true; false: buffered I/O on the same format).
    public var directIO = true
    /// Rows a push's commit writes many of (recipes kept in the catalog, `blobs`) go in key order,
    /// bound straight into the statement (`CatalogStatement.executeEach`); false: in the order
    /// they come, one argument list each (the way before, for A/B runs; troved takes false from
    /// `TROVE_STORE_DIRECT_ROWS=0`).
    public var directRows = true
    /// SQLite catalog: WAL checkpoints on a thread of their own (`WALCheckpointer`), not on the
    /// writer right after the commit that crossed 1000 WAL pages (false: SQLite's auto-checkpoint,
    /// the way before; troved takes false from `TROVE_STORE_CHECKPOINT_ASIDE=0`).
    public var checkpointAside = true
    /// Where the catalog lives; nil: SQLite in the store's `catalog.sqlite` (`SQLiteCatalog`).
    /// `Store.create` and `Store.open` run its `migrate()`; the store's root still holds the
    /// config, tmp/ and (with local packs) the packs.
    public var catalog: (any CatalogDatabase)? = nil

    /// Encryption at rest: the keys to seal and open packs and objects with. Chosen at create
    /// (a store created with it is encrypted for good and refuses to open without its key);
    /// must be nil for a plaintext store.
    public var encryption: StoreEncryption? = nil

    public init(
        packSize: Int = 64 << 20, maxChunkSize: Int = 16 << 20, maxObjectSize: Int = 256 << 20,
        catalogMmapBytes: Int = 1 << 30, minFreeSpace: Int = 0, reserveBytes: Int = 0,
        packStorage: (any PackStorage)? = nil, objectStorage: (any ObjectStorage)? = nil,
        catalog: (any CatalogDatabase)? = nil, encryption: StoreEncryption? = nil
    ) {
        self.encryption = encryption
        self.packSize = packSize
        self.maxChunkSize = maxChunkSize
        self.maxObjectSize = maxObjectSize
        self.catalogMmapBytes = catalogMmapBytes
        self.minFreeSpace = minFreeSpace
        self.reserveBytes = reserveBytes
        self.packStorage = packStorage
        self.objectStorage = objectStorage
        self.catalog = catalog
    }
}

/// Read-only bytes the store may look at without copying them: an array, or memory another
/// module owns (a received frame's buffer), valid as long as the value lives.
public protocol SharedBytes: ContiguousByteStorage, Sendable {
    var count: Int { get }
}

extension Array: SharedBytes where Element == UInt8 {}

extension SharedBytes {
    /// The bytes as an array: themselves when they are one, else a copy.
    public var array: [UInt8] { (self as? [UInt8]) ?? withUnsafeBytes { Array($0) } }
}

/// A chunk offered to `putChunks`: the client's digest claim, the codec of `bytes`, the raw
/// length and the (possibly compressed) bytes. The store verifies everything.
public struct ChunkInput: Sendable {
    public var digest: Digest
    public var codec: Codec
    public var rawLength: Int
    /// The bytes as sent, not copied (the hot path: a frame's buffer goes straight to the pack).
    public var data: any SharedBytes

    /// The bytes as sent, as an array (a copy when ``data`` is not one).
    public var bytes: [UInt8] {
        get { data.array }
        set { data = newValue }
    }

    public init(digest: Digest, codec: Codec, rawLength: Int, bytes: [UInt8]) {
        self.init(digest: digest, codec: codec, rawLength: rawLength, data: bytes)
    }

    public init(digest: Digest, codec: Codec, rawLength: Int, data: any SharedBytes) {
        self.digest = digest
        self.codec = codec
        self.rawLength = rawLength
        self.data = data
    }
}

/// A chunk `putChunks` refused, and why.
public struct RejectedChunk: Sendable, Hashable {
    public var digest: Digest
    public var reason: String
}

/// What `putChunks` did. Every chunk not rejected is durable and indexed on return.
public struct PutChunksResult: Sendable {
    /// Chunks newly written.
    public var stored: Int
    /// Chunks that were already present (or repeated in the call).
    public var duplicates: Int
    /// Chunks that failed verification (not stored).
    public var rejected: [RejectedChunk]
}

/// A chunk as stored (CRC-32C checked), for sending without recompressing.
public struct StoredChunk: Sendable {
    public var codec: Codec
    public var rawLength: Int
    public var bytes: [UInt8]
}

/// Result of `commit`.
public enum CommitOutcome: Sendable, Equatable {
    /// Recipes and tree are durable; the tree's digest.
    case committed(tree: Digest)
    /// These chunks are not indexed; PUT them and commit again. Sorted, unique.
    case missing([Digest])
}

/// `NAME:VERSION`.
public struct VersionKey: Sendable, Hashable, CustomStringConvertible {
    public var name: String
    public var version: String

    public init(name: String, version: String) {
        self.name = name
        self.version = version
    }

    public var description: String { "\(name):\(version)" }
}

/// A version and its metadata.
public struct VersionRecord: Sendable, Equatable {
    public var name: String
    public var version: String
    public var tree: Digest
    /// Milliseconds since the epoch.
    public var created: Int64
    public var creator: String
    public var message: String
    /// Typed values (a store written before typed metadata holds strings).
    public var metadata: [String: MetadataValue]
    public var parents: [VersionKey]
    /// When it was retired (ms since the epoch), or `nil` if live.
    public var retired: Int64?

    public var key: VersionKey { VersionKey(name: name, version: version) }
}

/// Result of `createVersion`.
public enum VersionCreateOutcome: Sendable, Equatable {
    case created(VersionRecord)
    /// The version already existed with the same tree (a successful no-op).
    case existing(VersionRecord)

    public var info: VersionRecord {
        switch self {
        case .created(let v), .existing(let v): v
        }
    }
}

/// The condition an alias change requires (compare-and-swap).
public enum AliasExpectation: Sendable, Hashable {
    /// Whatever it points at now (still atomic).
    case any
    /// The alias must not exist.
    case absent
    /// The alias must currently point at this version.
    case version(String)
}

/// An alias and where it points.
public struct AliasRecord: Sendable, Equatable {
    public var name: String
    public var alias: String
    public var version: String
    public var updated: Int64
    public var updatedBy: String
}

/// One move of an alias.
public struct AliasMove: Sendable, Equatable {
    public var name: String
    public var alias: String
    /// `nil` when the alias was created.
    public var from: String?
    /// `nil` when the alias was removed.
    public var to: String?
    public var actor: String
    public var at: Int64
}

/// A ref-log record. `hash` = SHA-256(previous hash ‖ encoded fields).
public struct RefLogEntry: Sendable, Equatable {
    public var seq: Int64
    public var at: Int64
    public var actor: String
    /// `version.create`, `version.retire`, `alias.set`, `alias.remove`.
    public var op: String
    public var name: String
    public var tag: String
    public var from: String?
    public var to: String?
    public var detail: String
    public var previousHash: Digest
    public var hash: Digest
}

/// What a reference resolved to.
public struct ResolvedRef: Sendable, Equatable {
    public var name: String
    /// The version (nil for a digest reference).
    public var version: String?
    /// The alias that was followed, if any.
    public var alias: String?
    public var tree: Digest
}

/// Store-wide figures.
public struct StoreStats: Sendable, Equatable {
    /// Sum of the file sizes of every live version's tree.
    public var logicalBytes: UInt64
    /// Unique chunk bytes before compression.
    public var uniqueRawBytes: UInt64
    /// Chunk bytes as stored (after compression).
    public var storedChunkBytes: UInt64
    /// Bytes of all pack files.
    public var packBytes: UInt64
    public var chunkCount: Int
    public var packCount: Int
    public var versionCount: Int
    /// logical / unique raw (≥ 1 when data is shared).
    public var dedupRatio: Double { uniqueRawBytes == 0 ? 1 : Double(logicalBytes) / Double(uniqueRawBytes) }
    /// unique raw / stored (≥ 1 when compression helps).
    public var compressionRatio: Double {
        storedChunkBytes == 0 ? 1 : Double(uniqueRawBytes) / Double(storedChunkBytes)
    }
}
