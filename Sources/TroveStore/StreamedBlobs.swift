import Synchronization
import TroveCore

/// Blob digests of a push's staged recipes, computed while their chunks arrive instead of by
/// reading every chunk back from the packs at COMMIT.
///
/// Each staged recipe gets a running SHA-256 and a position (the next chunk it needs, in
/// recipe order). A verified chunk that is the next one some recipe needs is hashed for its
/// own digest and for that blob digest in the same pass (``SHA256Stream``); the position then
/// moves on (over repeats of the same chunk, too). A chunk that arrives out of order, or one
/// the store already held (shared with stored data), is not fed: COMMIT continues each blob
/// digest from its position by reading the remaining chunks back (`Store.verifyBlob`), so the
/// guarantee is the one a full re-read gives: a version is created only if the bytes of its
/// recipes' chunks, in order, hash to each blob digest. Only bytes whose chunk digest verified
/// are ever fed (a fused pass whose chunk digest does not match discards the blob's state).
///
/// Held by an upload session; its own lock (`state`) is taken per `putChunks` call, so two
/// connections of one push feed it in turn and other sessions never wait for it.
final class StreamedBlobs: Sendable {
    /// One staged recipe's running digest.
    final class Pending {
        let recipe: Recipe
        /// Index of the next chunk to feed; `recipe.chunks.count` when complete.
        var next = 0
        let hasher = SHA256Stream()

        init(recipe: Recipe) { self.recipe = recipe }

        var expected: RecipeChunk? { next < recipe.chunks.count ? recipe.chunks[next] : nil }
    }

    /// Everything here, the hashers and `Pending` objects included, is reached only inside
    /// the `state` lock, which makes the unchecked Sendable sound.
    struct State: @unchecked Sendable {
        var blobs: [Digest: Pending] = [:]
        /// Sum of the followed recipes' chunk counts.
        var positions = 0
        /// Chunk digest → blobs whose next chunk it is.
        var waiting: [Digest: [Digest]] = [:]
        /// Verified chunks that arrived before a followed blob needed them (a connection's
        /// requests run concurrently, so batches finish out of order), oldest first.
        var held: [Digest: [UInt8]] = [:]
        var heldOrder: [Digest] = []
        var heldBytes = 0
        /// Computes chunk digests fused with a blob's.
        let pair = SHA256Pair()
    }

    /// Most bytes of early chunks kept for the blobs that will need them (beyond that the
    /// oldest go, and COMMIT reads those blobs back from that chunk on).
    static let holdBudget = 48 << 20

    /// Most recipes followed at once (beyond that, COMMIT reads back as before).
    static let maxBlobs = 100_000
    /// Most chunk positions (sum over the followed recipes) followed at once: bounds memory.
    static let maxPositions = 4_000_000

    private let state = Mutex(State())

    /// Starts following `recipe` (a repeat of a followed blob is ignored). A single-chunk blob
    /// whose chunk digest is the blob digest is not followed: verifying its chunk verifies the
    /// blob (COMMIT checks it by its index entry, `Store.verifySingleChunkBlobs`), so hashing it
    /// a second time as a blob would be wasted work — one such recipe per small file.
    func add(_ recipe: Recipe) {
        guard !recipe.isSingleChunkBlob else { return }
        state.withLock { s in
            guard s.blobs[recipe.blobDigest] == nil, s.blobs.count < Self.maxBlobs,
                s.positions + recipe.chunks.count <= Self.maxPositions
            else { return }
            let p = Pending(recipe: recipe)
            s.blobs[recipe.blobDigest] = p
            s.positions += recipe.chunks.count
            if let c = p.expected { s.waiting[c.digest, default: []].append(recipe.blobDigest) }
        }
    }

    /// How many chunks of `blob` have been fed (nil: not followed). For tests.
    func position(_ blob: Digest) -> Int? {
        state.withLock { $0.blobs[blob]?.next }
    }

    /// Stops following `blob` and returns its state: the position reached and its running
    /// digest (nil: not followed; start from the beginning).
    func take(_ blob: Digest) -> (next: Int, hasher: SHA256Stream)? {
        state.withLock { s -> (next: Int, hasher: SHA256Stream)? in
            guard let p = s.blobs.removeValue(forKey: blob) else { return nil }
            s.positions -= p.recipe.chunks.count
            if let c = p.expected { unwait(c.digest, blob, &s) }
            return (p.next, p.hasher)
        }
    }

    /// Hashes each chunk that some followed blob needs next, fused with that blob's digest,
    /// and returns its computed digest (the blob keeps the bytes only if it matches the chunk's
    /// digest); nil for the chunks no followed blob needs next, which the caller hashes.
    func feed(_ chunks: [(digest: Digest, raw: UnsafeRawBufferPointer)]) -> [Digest?] {
        // The pointers are read during this call only, under the lock.
        nonisolated(unsafe) let chunks = chunks
        return state.withLock { s -> [Digest?] in
            var out = [Digest?](repeating: nil, count: chunks.count)
            for (i, c) in chunks.enumerated() {
                guard let blobs = s.waiting[c.digest], let first = blobs.first,
                    let p = s.blobs[first], p.expected?.length == UInt32(c.raw.count)
                else { continue }
                let actual = s.pair.digestAndAppend(c.raw, to: p.hasher)
                out[i] = actual
                guard actual == c.digest else {
                    // Never keep bytes that failed their chunk digest: COMMIT reads this blob back.
                    unwait(c.digest, first, &s)
                    s.blobs[first] = nil
                    s.positions -= p.recipe.chunks.count
                    continue
                }
                s.waiting[c.digest] = nil
                advance(p, c.raw, &s)
                for b in blobs.dropFirst() {
                    guard let q = s.blobs[b], q.expected?.length == UInt32(c.raw.count) else { continue }
                    q.hasher.update(c.raw)
                    advance(q, c.raw, &s)
                }
            }
            return out
        }
    }

    /// Verified chunks that ``feed(_:)`` did not take: each is fed now to blobs that need it
    /// next (another request may have moved them on since), else kept for a while in case a
    /// followed blob needs it later (bounded by ``holdBudget``).
    func hold(_ chunks: [(digest: Digest, raw: any SharedBytes)]) {
        state.withLock { s in
            for c in chunks {
                if let blobs = s.waiting[c.digest] {
                    s.waiting[c.digest] = nil
                    c.raw.withUnsafeBytes { raw in
                        for b in blobs {
                            guard let q = s.blobs[b], q.expected?.length == UInt32(raw.count) else { continue }
                            q.hasher.update(raw)
                            advance(q, raw, &s)
                        }
                    }
                    continue
                }
                guard !s.blobs.isEmpty, s.held[c.digest] == nil, c.raw.count <= Self.holdBudget else { continue }
                s.held[c.digest] = c.raw.array  // a copy: not the received frame's buffer
                s.heldOrder.append(c.digest)
                s.heldBytes += c.raw.count
                while s.heldBytes > Self.holdBudget, !s.heldOrder.isEmpty {
                    let old = s.heldOrder.removeFirst()
                    s.heldBytes -= s.held.removeValue(forKey: old)?.count ?? 0
                }
            }
        }
    }

    private func unwait(_ chunk: Digest, _ blob: Digest, _ s: inout State) {
        s.waiting[chunk]?.removeAll { $0 == blob }
        if s.waiting[chunk]?.isEmpty == true { s.waiting[chunk] = nil }
    }

    /// Moves `p` past the chunk just fed and past repeats of it (the same bytes again), then
    /// through held chunks it needs next, then registers it as waiting for its next chunk.
    private func advance(_ p: Pending, _ raw: UnsafeRawBufferPointer, _ s: inout State) {
        let digest = p.recipe.chunks[p.next].digest
        p.next += 1
        while let c = p.expected, c.digest == digest {
            p.hasher.update(raw)
            p.next += 1
        }
        while let c = p.expected, let bytes = s.held[c.digest], bytes.count == Int(c.length) {
            bytes.withUnsafeBytes { p.hasher.update($0) }
            p.next += 1
        }
        if let c = p.expected { s.waiting[c.digest, default: []].append(p.recipe.blobDigest) }
    }
}
