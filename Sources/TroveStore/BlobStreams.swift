import Dispatch
import Foundation
import Synchronization
import TroveCore

/// One chunk of a blob stream append, before verification: its bytes as sent, or a chunk the
/// store already holds (read back to hash the blob).
public enum BlobStreamEntry: Sendable {
    /// The chunk's bytes, as sent (possibly compressed).
    case data(ChunkInput)
    /// A chunk the store holds, by digest and raw length.
    case stored(digest: Digest, length: Int)

    public var digest: Digest {
        switch self {
        case .data(let c): c.digest
        case .stored(let d, _): d
        }
    }

    public var length: Int {
        switch self {
        case .data(let c): c.rawLength
        case .stored(_, let n): n
        }
    }
}

/// What a closed stream leaves for COMMIT: the blob digest state after its first `chunks`
/// chunks, hashed in order from bytes that verified against their chunk digests (or were read
/// back from the store), and a digest of that chunk list to hold the recipe against.
struct BlobStreamResult {
    /// Chunks hashed in order from the start of the blob.
    let chunks: Int
    /// Their raw bytes.
    let size: UInt64
    /// ``BlobStreams/listDigest(_:)`` of those chunks.
    let listDigest: Digest
    /// The blob's running digest after them; nil when the stream covered the whole blob and its
    /// digest matched the one the client closed it with (`complete`).
    let hasher: SHA256Stream?
}

/// The blob streams of one push (PROTOCOL.md §9a): each hashes a blob whose recipe is not known
/// yet, as its chunks arrive in order, fused with their own digests (``SHA256Pair``).
///
/// A connection runs several requests at once, so the appends of one stream may reach the
/// store out of order. An append whose position is next feeds the blob digest; one whose
/// predecessor is still being processed waits for it (the predecessor is running, so the wait
/// ends); any other verifies its chunks on their own and is held (verified bytes, within
/// ``holdBudget``) until the stream reaches it. Beyond the budget the stream stops hashing
/// ("degraded"): COMMIT then reads the rest back. Only bytes that verified against their chunk
/// digest, or that the store holds under that digest, ever reach a blob digest, in chunk order.
///
/// Held by an upload session (so a lease's end frees it); its own lock (`state`) is taken a few
/// times per append, never while hashing.
final class BlobStreams: Sendable {
    /// An append registered with its stream and not yet fed.
    enum Pending {
        /// Being verified or fed now.
        case running(end: Int)
        /// Waiting for the running append before it; `wake` is signalled when that one is done.
        case waiting(end: Int, wake: DispatchSemaphore)
        /// Verified early, waiting for the stream to reach it.
        case held(end: Int, chunks: [Ready], bytes: Int)

        var end: Int {
            switch self {
            case .running(let e), .waiting(let e, _), .held(let e, _, _): e
            }
        }

        var inProgress: Bool {
            if case .held = self { return false }
            return true
        }
    }

    /// One open stream. Reached only inside `state`'s lock, except its hashers, which only the
    /// append holding `feeder` touches (outside the lock).
    final class Stream {
        /// Chunks fed to the blob digest, and their bytes.
        var next = 0
        var fedBytes: UInt64 = 0
        let blob = SHA256Stream()
        let list = SHA256Stream()
        /// Start of the append now allowed to feed (nil: none).
        var feeder: Int?
        /// Appends not fed yet, by start position.
        var pending: [Int: Pending] = [:]
        var heldBytes = 0
        /// Hashing stopped at `next` (hold budget exceeded): COMMIT reads the rest back.
        var degraded = false
        /// A degraded stream's appends not fed, by start position (digests and lengths): a seal
        /// (``BlobStreams/seal(_:size:chunks:hashRest:)``) reads them back. Emptied, and
        /// `unfedOverflow` set, past ``BlobStreams/maxUnfed`` chunks.
        var unfed: [Int: [(digest: Digest, length: Int)]] = [:]
        var unfedCount = 0
        var unfedOverflow = false
        /// Why the stream failed (a chunk that did not verify, a stored chunk that is absent).
        var failure: StoreError?
    }

    /// Everything here, the `Stream` objects and their hashers included, is reached only inside
    /// the `state` lock or by the one append that holds a stream's `feeder` claim, which makes
    /// the unchecked Sendable sound.
    struct State: @unchecked Sendable {
        var streams: [UInt32: Stream] = [:]
        var results: [Digest: BlobStreamResult] = [:]
    }

    /// Most open streams per push (a client needs one per connection).
    static let maxStreams = 16
    /// Most appends of one stream registered at once.
    static let maxPending = 64
    /// Most bytes of early appends held per stream, and by all streams of the process together.
    let holdBudget: Int
    static let globalHoldBudget = 64 << 20
    /// Most chunks a degraded stream remembers for its seal (about 40 bytes each).
    static let maxUnfed = 1 << 18
    /// Most closed streams remembered for COMMIT per push.
    static let maxResults = 100_000

    /// Bytes held by every stream of the process.
    static let heldTotal = Atomic<Int>(0)

    let state = Mutex(State())

    /// Whether an append's sent chunks are verified all at once on the sixteen AVX-512 SHA lanes
    /// (``SHA256Pair/digests(of:)``) before their bytes feed the blob digest on one SHA-NI stream,
    /// instead of each chunk fused with the blob digest (``SHA256Pair/digestAndAppend(_:to:)``):
    /// on an Intel CPU with AVX-512 the sixteen lanes and one stream cost less than the fused
    /// pair. Default: where `trove_sha256_many` takes sixteen lanes; `TROVE_STORE_STREAM_LANES`
    /// = `pair` or `many` overrides (A/B).
    static let manyLanesDefault: Bool = {
        switch ProcessInfo.processInfo.environment["TROVE_STORE_STREAM_LANES"] {
        case "pair": false
        case "many": true
        default: SHA256Pair.manyOnSixteenLanes
        }
    }()

    /// Appends of at least this many sent chunks take the many-lane verification (fewer run on
    /// two SHA-NI lanes, which with the separate blob stream cost more than the fused pair).
    static let manyLanesMinChunks = 10

    /// See ``manyLanesDefault`` (tests choose).
    let manyLanes: Bool

    /// Streams holding at most `holdBudget` bytes of early appends each (tests make it small).
    init(holdBudget: Int = 32 << 20, manyLanes: Bool = BlobStreams.manyLanesDefault) {
        self.holdBudget = holdBudget
        self.manyLanes = manyLanes
    }

    deinit {
        // A lease that ends drops its streams: return what they held to the global budget.
        let held = state.withLock { s in s.streams.values.reduce(0) { $0 + $1.heldBytes } }
        if held > 0 { Self.heldTotal.subtract(held, ordering: .relaxed) }
    }

    /// Opens stream `id`. A stream of that number still open is discarded first (a client that
    /// resumes a push under the same lease starts its numbering over); refused when too many
    /// streams are open.
    func open(_ id: UInt32) throws(StoreError) {
        try state.withLock { (s) throws(StoreError) in
            if let old = s.streams.removeValue(forKey: id) {
                Self.heldTotal.subtract(old.heldBytes, ordering: .relaxed)
                old.heldBytes = 0
            }
            guard s.streams.count < Self.maxStreams else {
                throw .invalidArgument("a push may have at most \(Self.maxStreams) blob streams open at once")
            }
            s.streams[id] = Stream()
        }
    }

    /// Whether a closed stream left a result for `blob` (its recipe needs no ``StreamedBlobs``).
    func hasResult(_ blob: Digest) -> Bool {
        state.withLock { $0.results[blob] != nil }
    }

    /// Takes what a closed stream left for `blob` (nil: nothing).
    func takeResult(_ blob: Digest) -> BlobStreamResult? {
        state.withLock { $0.results.removeValue(forKey: blob) }
    }

    /// Digest of a chunk list as streams compute it: SHA-256 over each chunk's digest and its
    /// length (u32, big-endian), in order.
    static func listDigest(_ chunks: some Sequence<RecipeChunk>) -> Digest {
        let h = SHA256Stream()
        for c in chunks { appendEntry(h, c.digest, Int(c.length)) }
        return h.finalize()
    }

    static func appendEntry(_ h: SHA256Stream, _ digest: Digest, _ length: Int) {
        withUnsafeTemporaryAllocation(byteCount: 36, alignment: 8) { buf in
            digest.write(to: buf.baseAddress!)
            buf.storeBytes(of: UInt32(truncatingIfNeeded: length).bigEndian, toByteOffset: 32, as: UInt32.self)
            h.update(UnsafeRawBufferPointer(buf))
        }
    }
}
