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
///
/// ``nextFrame(requestID:encoder:)`` writes each frame straight from the pack reads into one
/// pooled buffer of the frame's size (``ChunksFrameWriter``): the chunks' sizes are known from
/// the index before they are read, so each byte is copied once. ``next()`` builds the same frame
/// as a ``Message`` (the reference the tests hold the direct frames equal to), and is what the
/// direct path falls back on when a chunk is not what its index entry said (GC moved it since).
final class ChunkFrames: ResponseStream {
    private struct Progress {
        var position = 0
        var decompressor: ChunkDecompressor?
        /// Index entries looked up ahead (nil: not in the index), starting at `locatedStart` in `digests`.
        var located: [StoredChunkLocation?] = []
        var locatedStart = 0
    }

    /// One chunk of a frame and where it is (nil: not in the index).
    private typealias Slot = (digest: Digest, location: StoredChunkLocation?)

    /// Digests looked up in the index at a time.
    private static let lookAhead = 256

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
        try progress.withLock { (p: inout Progress) throws(ServerError) in
            let slots = try select(&p)
            return (.chunks(try message(slots, &p)), p.position >= digests.count)
        }
    }

    func nextFrame(requestID: UInt32, encoder: OutboundFrames) throws(ServerError) -> (bytes: ByteBuffer, last: Bool) {
        try progress.withLock { (p: inout Progress) throws(ServerError) in
            let slots = try select(&p)
            let last = p.position >= digests.count
            let flags: FrameFlags = last ? [] : .more
            if let frame = try direct(slots, requestID: requestID, flags: flags, encoder: encoder, &p) {
                return (frame, last)
            }
            let (bytes, fits) = encoder.encode(
                Envelope(.chunks(try message(slots, &p)), requestID: requestID, flags: flags))
            return (bytes, last || !fits)
        }
    }

    /// The length a located chunk takes in the frame: stored, or raw when the client does not
    /// take its codec.
    private func length(_ c: StoredChunkLocation) -> Int { codecs.contains(c.codec) ? c.length : c.rawLength }

    /// The next frame's chunks, from `p.position` on: at least one, and as many as the frame
    /// budget holds (by their index entries; absent ones take a digest's room).
    private func select(_ p: inout Progress) throws(ServerError) -> [Slot] {
        let budget = Int(router.limits.maxFramePayload) - messageOverhead
        var used = 0
        var present = 0
        var out: [Slot] = []
        while p.position < digests.count {
            if p.position - p.locatedStart >= p.located.count {
                let end = min(digests.count, p.position + Self.lookAhead)
                do { p.located = try router.store.locateStoredChunks(digests[p.position..<end]) } catch {
                    throw ServerError(error)
                }
                p.locatedStart = p.position
            }
            let location = p.located[p.position - p.locatedStart]
            if let location {
                let size = length(location) + recordOverhead
                if present > 0 && used + size > budget { break }
                used += size
                present += 1
            } else {
                used += 32
            }
            out.append((digests[p.position], location))
            p.position += 1
        }
        return out
    }

    private func decompressor(_ p: inout Progress) -> ChunkDecompressor {
        let dec = p.decompressor ?? ChunkDecompressor()
        p.decompressor = dec
        return dec
    }

    private static func undecodable(_ d: Digest, _ error: CodecError) -> ServerError {
        ServerError(.integrity, "stored chunk \(d) does not decode: \(error); run `trove scrub`")
    }

    /// The CHUNKS message of `slots`: each chunk's stored bytes copied out (decompressed when the
    /// client does not take its codec); a chunk gone since it was located is reported missing.
    private func message(_ slots: [Slot], _ p: inout Progress) throws(ServerError) -> Message.Chunks {
        var stored = [(codec: Codec, rawLength: Int, bytes: [UInt8])?](repeating: nil, count: slots.count)
        _ = try router.s { () throws(StoreError) in
            try router.store.withStoredChunks(slots.map(\.location)) { k, c in
                stored[k] = (c.codec, c.rawLength, Array(c.bytes))
            }
        }
        var chunks: [ChunkPayload] = []
        var missing: [Digest] = []
        for (slot, chunk) in zip(slots, stored) {
            guard let chunk else {
                missing.append(slot.digest)
                continue
            }
            var codec = chunk.codec
            var bytes = chunk.bytes
            if !codecs.contains(codec) {
                do { bytes = try decompressor(&p).decompress(bytes, codec: codec, rawLength: chunk.rawLength) } catch {
                    throw Self.undecodable(slot.digest, error)
                }
                codec = .raw
            }
            chunks.append(
                ChunkPayload(
                    digest: slot.digest, rawLength: UInt32(chunk.rawLength), codec: codec, data: ByteBuffer(bytes: bytes)))
        }
        return .init(chunks: chunks, missing: missing)
    }

    /// The frame of `slots` written in place from the pack reads; nil when a chunk is gone, not
    /// what its index entry said, or its record fails its CRC-32C (the caller builds the frame from
    /// ``message(_:_:)`` instead, whose reads check every record first and throw what is wrong).
    private func direct(
        _ slots: [Slot], requestID: UInt32, flags: FrameFlags, encoder: OutboundFrames, _ p: inout Progress
    ) throws(ServerError) -> ByteBuffer? {
        var records: [ChunksFrameWriter.Record] = []
        var recordOf = [Int](repeating: -1, count: slots.count)
        var missing: [Digest] = []
        for (k, slot) in slots.enumerated() {
            guard let c = slot.location else {
                missing.append(slot.digest)
                continue
            }
            recordOf[k] = records.count
            records.append(
                .init(
                    digest: slot.digest, rawLength: UInt32(c.rawLength), codec: codecs.contains(c.codec) ? c.codec : .raw,
                    length: length(c)))
        }
        guard ChunksFrameWriter.payloadSize(records, missing: missing.count) <= encoder.maxPayload else { return nil }
        // Decompression only for a client that does not take a chunk's codec.
        let dec = slots.allSatisfy { $0.location.map { codecs.contains($0.codec) } ?? true } ? nil : decompressor(&p)
        var writer = ChunksFrameWriter(
            requestID: requestID, flags: flags, records: records, missing: missing, pool: encoder.buffers,
            allocator: encoder.allocator)
        var written = 0
        var unexpected = false
        var failure: ServerError?
        // Every chunk goes into the frame as stored: each record's CRC-32C is checked in the pass
        // that copies it into the frame (CRC32C.copy), not in a pass of its own at the read.
        let fused = dec == nil
        let gone = try router.s { () throws(StoreError) in
            try router.store.withStoredChunks(slots.map(\.location), checkCRC: !fused) { k, c in
                let expected = slots[k].location!
                guard c.codec == expected.codec, c.rawLength == expected.rawLength, c.bytes.count == expected.length else {
                    unexpected = true
                    return
                }
                if let recordCRC = c.uncheckedCRC32C {
                    let crc = writer.withData(recordOf[k]) { out in CRC32C.copy(0, from: c.bytes, to: out) }
                    // A damaged record: the frame is built again the checked way, which reports it.
                    guard crc == recordCRC else {
                        unexpected = true
                        return
                    }
                    writer.setChecksum(recordOf[k], crc)
                    written += 1
                    return
                }
                let codecs = self.codecs
                // The record's CRC-32C, checked at the read, folds into the frame's checksum.
                writer.withData(recordOf[k], checksum: codecs.contains(c.codec) ? c.crc32c : nil) { out in
                    if codecs.contains(c.codec) {
                        out.copyMemory(from: c.bytes)
                    } else {
                        do throws(CodecError) { try dec!.decompress(c.bytes, codec: c.codec, into: out) } catch {
                            failure = Self.undecodable(slots[k].digest, error)
                        }
                    }
                }
                written += 1
            }
        }
        if let failure { throw failure }
        guard gone.isEmpty, !unexpected, written == records.count else { return nil }
        let frame = writer.finish()
        encoder.buffers?.recycle(frame)
        return frame
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
