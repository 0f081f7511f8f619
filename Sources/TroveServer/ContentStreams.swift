import NIOCore
import Synchronization
import TroveCore
import TroveProtocol
import TroveStore

/// Room left in a frame for one record's fixed fields and the message's own fields.
private let recordOverhead = 64
private let messageOverhead = 1024

/// CHUNKS frames for a GET_CHUNKS: chunks in request order, each frame filled up to the frame
/// cap, built only when the connection asks for the next frame.
final class ChunkFrames: ResponseStream {
    private struct Progress {
        var position = 0
        var decompressor: ChunkDecompressor?
        /// Chunks read ahead (nil: not in the index), starting at `loadedStart` in `digests`.
        var loaded: [StoredChunk?] = []
        var loadedStart = 0
    }

    private let router: RequestRouter
    private let digests: [Digest]
    private let codecs: Set<Codec>
    /// Where the stream is; one frame is built at a time, on whichever worker runs `next()`.
    private let progress = Mutex(Progress())

    init(router: RequestRouter, digests: [Digest], codecs: Set<Codec>) {
        self.router = router
        self.digests = digests
        self.codecs = codecs
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        try progress.withLock { (p: inout Progress) throws(ServerError) in try nextFrame(&p) }
    }

    private func nextFrame(_ p: inout Progress) throws(ServerError) -> (message: Message, last: Bool) {
        let budget = Int(router.limits.maxFramePayload) - messageOverhead
        var used = 0
        var chunks: [ChunkPayload] = []
        var missing: [Digest] = []
        while p.position < digests.count {
            let d = digests[p.position]
            if p.position - p.loadedStart >= p.loaded.count {
                // The next run of chunks, read together (records close in a pack: one read).
                do { p.loaded = try router.store.readStoredChunks(digests[p.position...], budget: budget) } catch {
                    throw ServerError(error)
                }
                p.loadedStart = p.position
            }
            guard let stored = p.loaded[p.position - p.loadedStart] else {
                missing.append(d)
                used += 32
                p.position += 1
                continue
            }
            var codec = stored.codec
            var bytes = stored.bytes
            if !codecs.contains(codec) {
                let dec = p.decompressor ?? ChunkDecompressor()
                p.decompressor = dec
                do { bytes = try dec.decompress(bytes, codec: codec, rawLength: stored.rawLength) } catch {
                    throw ServerError(
                        .integrity, "stored chunk \(d) does not decode: \(error); run `trove scrub`")
                }
                codec = .raw
            }
            let size = bytes.count + recordOverhead
            if !chunks.isEmpty && used + size > budget { break }
            chunks.append(
                ChunkPayload(
                    digest: d, rawLength: UInt32(stored.rawLength), codec: codec,
                    data: ByteBuffer(bytes: bytes)))
            used += size
            p.loaded[p.position - p.loadedStart] = nil  // in the frame now: let its bytes go
            p.position += 1
        }
        return (.chunks(.init(chunks: chunks, missing: missing)), p.position >= digests.count)
    }
}

/// OBJECTS frames for a GET_OBJECTS: whole objects when they fit, else consecutive parts.
final class ObjectFrames: ResponseStream {
    private let router: RequestRouter
    private let kind: ContentKind
    private let digests: [Digest]

    private struct Progress {
        var position = 0
        /// The object being sent in parts, and how far.
        var current: (digest: Digest, bytes: [UInt8], offset: Int)?
        /// Objects loaded ahead (a batch at a time: one catalog read for many small recipes).
        var loaded: [Digest: [UInt8]] = [:]
        /// Where the loaded batch ends.
        var loadedEnd = 0
    }

    /// Objects loaded per batch.
    private static let batch = 512

    /// Where the stream is; one frame is built at a time, on whichever worker runs `next()`.
    private let progress = Mutex(Progress())

    init(router: RequestRouter, kind: ContentKind, digests: [Digest]) {
        self.router = router
        self.kind = kind
        self.digests = digests
    }

    private func load(_ d: Digest) throws(ServerError) -> [UInt8]? {
        let store = router.store
        do {
            switch kind {
            case .tree:
                guard try store.hasTree(d) else { return nil }
                return try store.readObject(d)
            case .recipe:
                guard let object = try store.recipeDigest(forBlob: d) else { return nil }
                return try store.readObject(object)
            case .chunk:
                return nil
            }
        } catch .objectNotFound {
            return nil
        } catch {
            throw ServerError(error)
        }
    }

    /// Recipes of `blobs` kept in the catalog (small ones, read back intact), in one catalog
    /// read for the rows and one for the objects; the others are loaded one by one (`load`).
    private func loadSmallRecipes(_ blobs: ArraySlice<Digest>) throws(ServerError) -> [Digest: [UInt8]] {
        let store = router.store
        do {
            let objects = try store.recipeDigests(forBlobs: Array(blobs))
            let bytes = try store.readInlineObjects(Array(Set(objects.values)))
            var out: [Digest: [UInt8]] = [:]
            for (blob, object) in objects { out[blob] = bytes[object] }
            return out
        } catch {
            throw ServerError(error)
        }
    }

    func next() throws(ServerError) -> (message: Message, last: Bool) {
        try progress.withLock { (p: inout Progress) throws(ServerError) in try nextFrame(&p) }
    }

    private func nextFrame(_ p: inout Progress) throws(ServerError) -> (message: Message, last: Bool) {
        let budget = Int(router.limits.maxFramePayload) - messageOverhead
        var used = 0
        var parts: [ObjectPart] = []
        var missing: [ObjectRef] = []
        while used < budget {
            if p.current == nil {
                guard p.position < digests.count else { break }
                let d = digests[p.position]
                if kind == .recipe && p.position >= p.loadedEnd {
                    p.loadedEnd = min(digests.count, p.position + ObjectFrames.batch)
                    p.loaded = try loadSmallRecipes(digests[p.position..<p.loadedEnd])
                }
                p.position += 1
                var found = p.loaded.removeValue(forKey: d)
                if found == nil { found = try load(d) }
                guard let bytes = found else {
                    missing.append(ObjectRef(kind: kind, digest: d))
                    used += 40
                    continue
                }
                p.current = (d, bytes, 0)
            }
            let (d, bytes, offset) = p.current!
            let room = budget - used - recordOverhead
            if room <= 0 { break }
            let n = min(room, bytes.count - offset)
            // Start big objects in a fresh frame.
            if n < bytes.count - offset && !parts.isEmpty && n < budget / 4 { break }
            parts.append(
                ObjectPart(
                    kind: kind, digest: d, totalLength: UInt64(bytes.count), offset: UInt64(offset),
                    data: ByteBuffer(bytes: bytes[offset..<(offset + n)])))
            used += n + recordOverhead
            if offset + n == bytes.count { p.current = nil } else { p.current = (d, bytes, offset + n) }
        }
        let last = p.current == nil && p.position >= digests.count
        return (.objects(.init(parts: parts, missing: missing)), last)
    }
}
