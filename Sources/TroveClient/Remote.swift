import NIOCore
import TroveCore
import TroveProtocol

/// Read-side requests shared by pull, cat and show: resolving refs, fetching and verifying trees
/// and recipes.
public struct Remote {
    public let connection: Connection

    public init(connection: Connection) { self.connection = connection }

    /// Largest tree or recipe the client will assemble in memory.
    static let maxObjectInMemory: UInt64 = 1 << 30

    /// GET_REF.
    public func resolve(_ ref: String) throws(ClientError) -> Message.RefInfo {
        let parsed: Ref
        do { parsed = try Ref(parsing: ref) } catch {
            throw .usage(detail: "\(error)")
        }
        return try connection.call(Message.GetRef(ref: parsed.description))
    }

    /// Fetches and verifies the tree with digest `digest` (SHA-256 of its bytes, canonical parse).
    public func tree(_ digest: Digest) throws(ClientError) -> Tree {
        let objects = try fetchObjects(kind: .tree, [digest])
        guard let bytes = objects[digest] else {
            throw .integrity(detail: "the server does not have tree \(digest)")
        }
        guard SHA256.hash(bytes) == digest else {
            throw .integrity(detail: "tree \(digest) received from the server does not hash to its digest")
        }
        do { return try Tree(canonical: bytes) } catch {
            throw .integrity(detail: "tree \(digest) does not parse: \(error)")
        }
    }

    /// Fetches recipes by blob digest; each must parse, name its blob and match `sizes[blob]`.
    public func recipes(_ blobs: [Digest], sizes: [Digest: UInt64]) throws(ClientError) -> [Digest: Recipe] {
        let objects = try fetchObjects(kind: .recipe, blobs)
        var out: [Digest: Recipe] = [:]
        for b in blobs {
            guard let bytes = objects[b] else {
                throw .integrity(detail: "the server does not have the recipe of blob \(b)")
            }
            let r: Recipe
            do { r = try Recipe(canonical: bytes) } catch {
                throw .integrity(detail: "the recipe of blob \(b) does not parse: \(error)")
            }
            guard r.blobDigest == b else {
                throw .integrity(detail: "the server sent the recipe of \(r.blobDigest) for blob \(b)")
            }
            if let s = sizes[b], s != r.size {
                throw .integrity(detail: "the recipe of blob \(b) has size \(r.size), the tree says \(s)")
            }
            for c in r.chunks where Int(c.length) > ProtocolLimits.maxChunkLength {
                throw .integrity(detail: "the recipe of blob \(b) has a chunk longer than 16 MiB")
            }
            out[b] = r
        }
        return out
    }

    /// GET_OBJECTS in batches (pipelined); reassembles multi-part objects and checks part order.
    func fetchObjects(kind: ContentKind, _ digests: [Digest]) throws(ClientError) -> [Digest: [UInt8]] {
        var unique: [Digest] = []
        var seen = Set<Digest>()
        for d in digests where seen.insert(d).inserted { unique.append(d) }
        let batch = max(1, min(Int(connection.limits.maxDigestsPerRequest), 4096))
        var out: [Digest: [UInt8]] = [:]
        var partial: [Digest: (total: UInt64, bytes: [UInt8])] = [:]
        var w = RequestWindow(connection: connection, limit: 8)
        var start = 0
        while start < unique.count {
            let end = min(start + batch, unique.count)
            let asked = Set(unique[start..<end])
            try w.send(Message.GetObjects(kind: kind, digests: Array(unique[start..<end]))) {
                (o) throws(ClientError) in
                for m in o.missing where asked.contains(m.digest) {
                    throw .integrity(detail: "the server does not have \(kind) \(m.digest)")
                }
                for p in o.parts {
                    guard p.kind == kind, asked.contains(p.digest), out[p.digest] == nil else {
                        throw .protocolViolation(
                            detail: "GET_OBJECTS returned an object that was not asked for")
                    }
                    guard p.totalLength <= Remote.maxObjectInMemory else {
                        throw .integrity(
                            detail: "\(kind) \(p.digest) is \(p.totalLength) bytes, over the 1 GiB limit")
                    }
                    var acc = partial[p.digest] ?? (p.totalLength, [])
                    guard acc.total == p.totalLength, p.offset == UInt64(acc.bytes.count),
                        p.offset + UInt64(p.data.readableBytes) <= p.totalLength
                    else {
                        throw .protocolViolation(detail: "object parts of \(p.digest) are out of order")
                    }
                    if acc.bytes.isEmpty { acc.bytes.reserveCapacity(Int(p.totalLength)) }
                    acc.bytes += p.data.readableBytesView
                    if UInt64(acc.bytes.count) == acc.total {
                        out[p.digest] = acc.bytes
                        partial[p.digest] = nil
                    } else {
                        partial[p.digest] = acc
                    }
                }
            }
            start = end
        }
        try w.drain()
        if let (d, _) = partial.first {
            throw .protocolViolation(detail: "object \(d) arrived incomplete")
        }
        return out
    }
}

/// Streams chunks from the server in a given order: GET_CHUNKS batches, pipelined; each chunk is
/// decompressed on arrival (``ChunkVerifier``, on the event loop) and checked here to be the one
/// expected (order, digest and raw length). Its SHA-256 is checked on arrival (two chunks at a
/// time), or, with a `blob` hasher and `fused`, here in ``next(_:)`` in the same pass that feeds
/// the bytes to the caller's blob digest (``SHA256Pair``); either way before the caller sees the
/// bytes. With a `blob` hasher and `fused: false` the bytes join the blob digest here and the
/// chunk digests are checked on arrival: the two SHA-256 passes run on two threads.
final class ChunkStream {
    let connection: Connection
    private let order: [RecipeChunk]
    private var nextToSend = 0
    private var nextToRead = 0
    private var received: [ChunkPayload] = []
    private var receivedHead = 0
    /// One window per connection; batches go round-robin and are consumed in the order sent.
    private var windows: [RequestWindow]
    private var sentTo: [Int] = []
    private var sentHead = 0
    private var nextWindow = 0
    private let perWindow: Int
    private let batchBytes: Int
    private let verifiers: [ChunkVerifier]
    private let blob: SHA256Pair?
    /// With `blob`: chunk digest and blob digest in one pass here (else chunk digests on arrival).
    private let fused: Bool

    /// Streams the chunks `order` (distinct digests, in the order they will be consumed), over
    /// `connection` and any `extra` connections (batches spread round-robin, so the server and the
    /// per-connection decompression work in parallel). With `blob`, each chunk's digest is
    /// computed by `blob.digestAndAppend` in ``next(_:)`` (its bytes join the caller's running
    /// blob digest) instead of on arrival; with `fused: false` chunk digests are checked on arrival
    /// and ``next(_:)`` only feeds the blob digest.
    init(
        connection: Connection, extra: [Connection] = [], order: [RecipeChunk], window: Int = 8,
        batchBytes: Int = 4 << 20, blob: SHA256Pair? = nil, fused: Bool = true
    ) {
        self.connection = connection
        self.order = order
        self.blob = blob
        self.fused = fused
        let all = [connection] + extra
        self.windows = all.map { RequestWindow(connection: $0, limit: window) }
        self.verifiers = all.map { _ in ChunkVerifier(hashes: blob == nil || !fused) }
        self.perWindow = window
        self.batchBytes = batchBytes
    }

    private var outstanding: Int { sentTo.count - sentHead }

    private func sendMore() throws(ClientError) {
        let maxCount = max(
            1, min(Int(connection.limits.maxDigestsPerRequest), ProtocolLimits.maxDigestsPerRequest))
        while nextToSend < order.count && outstanding < perWindow * windows.count
            && windows[nextWindow].outstanding < windows[nextWindow].limit
        {
            var end = nextToSend
            var bytes = 0
            while end < order.count && end - nextToSend < maxCount
                && (bytes < batchBytes || end == nextToSend)
            {
                bytes += Int(order[end].length)
                end += 1
            }
            let asked = order[nextToSend..<end].map(\.digest)
            nextToSend = end
            let w = nextWindow
            nextWindow = (nextWindow + 1) % windows.count
            let verifier = verifiers[w]
            sentTo.append(w)
            try windows[w].send(
                Message.GetChunks(digests: asked),
                transform: { (m) throws(ClientError) in
                    try verifier.transform(m)
                }
            ) { [self] (chunks) throws(ClientError) in
                let got = try Remote.chunkPayloads(chunks)
                guard got.count == asked.count else {
                    throw .protocolViolation(
                        detail: "GET_CHUNKS for \(asked.count) chunks returned \(got.count)")
                }
                if receivedHead > 0 {
                    received.removeFirst(receivedHead)
                    receivedHead = 0
                }
                received += got
            }
        }
    }

    /// Waits for the oldest batch sent (on whichever connection it went).
    private func completeOldestBatch() throws(ClientError) {
        guard sentHead < sentTo.count else { throw .protocolViolation(detail: "no chunk batch outstanding") }
        let w = sentTo[sentHead]
        sentHead += 1
        if sentHead > 1024 {
            sentTo.removeFirst(sentHead)
            sentHead = 0
        }
        try windows[w].completeOldest()
    }

    /// The next chunk's raw bytes, verified, passed to `body` (valid only during the call).
    func next<R>(_ body: (UnsafeRawBufferPointer) throws(ClientError) -> R) throws(ClientError) -> R {
        let data = try nextBuffer()
        let result: Result<R, ClientError> = data.withUnsafeReadableBytes { raw in
            do throws(ClientError) { return .success(try body(raw)) } catch { return .failure(error) }
        }
        return try result.get()
    }

    /// The next chunk's raw bytes, verified: a slice of the received frame (no copy), which the
    /// caller may keep (e.g. until a writer thread has written it).
    func nextBuffer() throws(ClientError) -> ByteBuffer {
        guard nextToRead < order.count else { throw .protocolViolation(detail: "read past the chunk stream") }
        let want = order[nextToRead]
        try sendMore()
        while receivedHead >= received.count {
            try completeOldestBatch()
            try sendMore()
        }
        let payload = received[receivedHead]
        received[receivedHead].data = ByteBuffer()
        receivedHead += 1
        nextToRead += 1
        guard payload.digest == want.digest, payload.rawLength == want.length, payload.codec == .raw,
            payload.data.readableBytes == Int(want.length)
        else {
            throw .integrity(
                detail: "the server sent chunk \(payload.digest) where \(want.digest) was expected")
        }
        if let blob {
            if !fused {
                payload.data.withUnsafeReadableBytes { blob.append($0) }  // its digest checked on arrival
            } else if payload.data.withUnsafeReadableBytes({ blob.digestAndAppend($0) }) != want.digest {
                throw .integrity(detail: "chunk \(want.digest) received from the server does not hash to its digest")
            }
        }
        return payload.data
    }
}

extension Remote {
    /// LIST_VERSIONS under `prefix` (component-wise; empty: all), merged across frames.
    public func listVersions(prefix: String, filters: [MetadataFilter] = [], includeRetired: Bool = false)
        throws(ClientError) -> [VersionInfo]
    {
        if !prefix.isEmpty {
            let p = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            do { try Names.validateName(p) } catch { throw .usage(detail: "invalid prefix: \(error)") }
        }
        return try connection.call(
            Message.ListVersions(prefix: prefix, filters: filters, includeRetired: includeRetired, limit: 0)
        ).versions
    }

    /// STAT.
    public func stats() throws(ClientError) -> Message.Stats {
        try connection.call(Message.Stat())
    }
}
