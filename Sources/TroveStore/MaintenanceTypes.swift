import Foundation
import Synchronization
import TroveCore

/// Why a GC or scrub did not run or did not finish.
public enum MaintenanceError: Error, CustomStringConvertible, Equatable {
    /// Another GC or scrub is running on this store (one maintenance job at a time).
    case busy(running: String)
    /// GC refused to continue because it could not prove what is reachable.
    case unsafe(String)
    /// A store failure.
    case store(StoreError)

    public var description: String {
        switch self {
        case .busy(let r):
            "a \(r) is already running on this store; wait for it to finish and run this again"
        case .unsafe(let m): "GC stopped without deleting anything more: \(m)"
        case .store(let e): "\(e)"
        }
    }
}

/// Tunables for one GC run.
public struct GCOptions: Sendable {
    /// Report what would be freed; change nothing.
    public var dryRun: Bool
    /// Chunks, blobs and trees touched or created within this many seconds are kept.
    public var graceSeconds: Int64
    /// Packs whose live bytes fell below this share of their size are rewritten.
    public var rewriteThreshold: Double
    /// Seconds between switching the index away from a pack and deleting the file, so readers
    /// that located a chunk just before the switch can still read it.
    public var packRemovalDelay: Double
    /// Rows deleted per catalog transaction (bounds how long a push waits for the write lock).
    public var batchSize: Int
    /// A live lease protects what was touched since it began minus this many seconds (the
    /// store refreshes `touched` at most once a minute, so 60 covers a HAS whose touch was
    /// skipped). Smaller values are still safe — a commit then answers missing and the client
    /// re-sends — they only protect less; tests use 0 to make GC collect during pushes.
    public var leaseSlackSeconds: Int64

    public init(
        dryRun: Bool = false, graceSeconds: Int64 = 86_400, rewriteThreshold: Double = 0.5,
        packRemovalDelay: Double = 30, batchSize: Int = 2000, leaseSlackSeconds: Int64 = 60
    ) {
        self.leaseSlackSeconds = leaseSlackSeconds
        self.dryRun = dryRun
        self.graceSeconds = graceSeconds
        self.rewriteThreshold = rewriteThreshold
        self.packRemovalDelay = packRemovalDelay
        self.batchSize = batchSize
    }
}

/// What a GC run found and did (or, for a dry run, would do). Byte counts: `chunkBytesFreed`
/// is stored (compressed) chunk bytes dropped from the index; `diskBytesFreed` is pack file
/// bytes deleted minus pack bytes written by rewrites (what `df` sees).
public struct GCResult: Sendable, Codable, Equatable {
    public var dryRun = false
    public var graceSeconds: Int64 = 0
    /// Rows touched or created before this time (ms since the epoch) were collectable.
    public var cutoff: Int64 = 0
    public var startedAt: Int64 = 0
    public var liveLeases = 0
    /// The live push leases, oldest first: what they pin (everything touched since `created`)
    /// and until when (`expires`, unless the push goes on).
    public var leases: [GCLease] = []
    public var liveChunks = 0
    public var liveBlobs = 0
    public var liveTrees = 0
    public var candidateChunks = 0
    public var candidateBlobs = 0
    public var candidateTrees = 0
    public var chunksFreed = 0
    public var chunkBytesFreed: Int64 = 0
    public var rawBytesFreed: Int64 = 0
    public var blobsFreed = 0
    public var treesFreed = 0
    public var objectsFreed = 0
    public var packsRewritten = 0
    public var packsDeleted = 0
    public var packBytesDeleted: Int64 = 0
    public var packBytesWritten: Int64 = 0
    public var diskBytesFreed: Int64 = 0
    /// Packs left alone because a record failed its check while copying (run a scrub).
    public var packsSkippedDamaged: [String] = []
    /// Sparse packs not rewritten because the filesystem had too little free space for their
    /// live bytes above the free-space floor (whole dead packs are still deleted).
    public var packsSkippedForSpace = 0
    /// Packs retired but not yet deleted (a later GC deletes them).
    public var packsPendingRemoval = 0
    /// Milliseconds per phase: mark, candidates, sweep, rewrite, remove, total.
    public var durationsMs: [String: Int64] = [:]
    public var notes: [String] = []

    public init() {}

    /// The report as JSON (sorted keys).
    public func json(pretty: Bool = false) -> String {
        let e = JSONEncoder()
        e.outputFormatting = pretty ? [.sortedKeys, .prettyPrinted] : [.sortedKeys]
        return (try? e.encode(self)).map { String(decoding: $0, as: UTF8.self) } ?? "{}"
    }
}

/// A push lease as a GC report names it.
public struct GCLease: Sendable, Codable, Equatable {
    /// The name being pushed.
    public var name: String
    /// When the push began (ms since the epoch): data touched since then is kept.
    public var created: Int64
    /// When the lease expires unless the push uses it again (ms since the epoch).
    public var expires: Int64
    /// Unreferenced chunks (and their stored bytes) touched since the lease began that GC keeps
    /// only because of leases: what this lease would keep by itself. The oldest lease's figure is
    /// what all of them pin together.
    public var pinnedChunks = 0
    public var pinnedBytes: Int64 = 0

    public init(name: String, created: Int64, expires: Int64) {
        self.name = name
        self.created = created
        self.expires = expires
    }
}

/// Hooks for crash and race tests. Not for production use.
public enum MaintenanceTestHooks {
    private struct Hooks {
        var gcPhase: (@Sendable (Store, String) -> Void)?
        var beforeCommitFinal: (@Sendable (Store) -> Void)?
    }
    private static let hooks = Mutex(Hooks())

    /// Called with a phase name at each GC phase boundary ("mark", "candidates", "sweep-trees",
    /// "sweep-blobs", "sweep-chunks", "sweep-batch", "objects", "rewrite", "switch", "sealed",
    /// "remove", "remove-pack", "unlinked-pack", "done"), with the store running the GC.
    public static var gcPhase: (@Sendable (Store, String) -> Void)? {
        get { hooks.withLock { $0.gcPhase } }
        set { hooks.withLock { $0.gcPhase = newValue } }
    }
    /// Called by `commit` after its checks, before its final catalog transaction.
    public static var beforeCommitFinal: (@Sendable (Store) -> Void)? {
        get { hooks.withLock { $0.beforeCommitFinal } }
        set { hooks.withLock { $0.beforeCommitFinal = newValue } }
    }
}

/// One maintenance job (GC or scrub) per store at a time, in this process (a store is open
/// in one process only).
enum MaintenanceLock {
    /// The catalog-wide lock key of GC and scrub ("TROVEGC"): one at a time across every
    /// instance sharing the catalog.
    static let globalKey: Int64 = 0x54_52_4f_56_45_47_43

    /// Running jobs by store, with the catalog-wide lock each holds.
    private static let running = Mutex<[ObjectIdentifier: (job: String, lock: (any CatalogLock)?)]>([:])

    static func acquire(_ store: Store, _ job: String) throws(MaintenanceError) {
        let id = ObjectIdentifier(store)
        let current: String? = running.withLock { running in
            if let r = running[id] { return r.job }
            running[id] = (job, nil)
            return nil
        }
        if let current { throw .busy(running: current) }
        let lock: (any CatalogLock)?
        do { lock = try store.catalog.tryGlobalLock(globalKey) } catch {
            release(store)
            throw .store(error)
        }
        guard let lock else {
            release(store)
            throw .busy(running: "GC or scrub (on another instance)")
        }
        running.withLock { $0[id] = (job, lock) }
    }

    static func release(_ store: Store) {
        running.withLock { $0.removeValue(forKey: ObjectIdentifier(store)) }?.lock?.release()
    }
}
