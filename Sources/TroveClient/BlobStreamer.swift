import NIOCore
import TroveCore
import TroveProtocol

/// Uploads the chunks of files over 1 MiB while the push reads them (PROTOCOL.md §9a, protocol
/// version 2): the ingest pass hands each segment's chunks to ``take(_:_:_:)`` before reusing
/// its buffer, so such a file is read once and the server stores one batch while the client
/// reads the next.
///
/// Chunks are gathered into batches of about ``batchBytes``; each batch goes through two steps,
/// one per batch read after it, so the client waits for the server only when it falls behind:
/// 1. `HAS` for its chunks (on the control connection), except those the server is known to hold;
/// 2. `BLOB_CHUNKS` on the data connection: the bytes of the chunks the server lacks, references
///    for the others. The stream is opened (`BLOB_OPEN`) at the first batch with a chunk to send,
///    the references before it going first; a file whose chunks the server all holds opens no
///    stream (its recipe then goes the two-pass way, with nothing to upload).
/// At the end of a file `BLOB_CLOSE` gives the blob digest, size and chunk count; its answer is
/// collected later (``finish()``, before COMMIT). A file begun `sealed` (protocol version 3) was
/// read without computing its blob digest: `BLOB_SEAL` gives only the size and chunk count and the
/// server answers with the digest it hashed from the chunks (such a file always gets a stream,
/// of references only when the server holds every chunk), so ``endFile(_:)`` waits for it. Memory: two batches of raw bytes plus `window`
/// `BLOB_CHUNKS` in flight, whatever the file size. Not thread-safe: the pushing thread only.
/// Chunks a push has sent (or is sending), shared by its streamers so that a chunk read by one
/// is not sent again by the other. The pushing thread only.
final class SentChunks {
    var digests = Set<Digest>()
    init() {}
}

final class BlobStreamer {
    /// One batch of a file's chunks on its way through the two steps.
    final class Batch {
        var digests: [Digest] = []
        var lengths: [UInt32] = []
        /// The raw bytes of each chunk the server was not known to hold (nil: known): a slice of
        /// the read buffer the ingest pass put them in (``IngestBufferSource``), which goes out
        /// as it is (``ScatteredFrame``), never copied on the client; and their CRC-32C, which the
        /// ingest pass took with the chunk's SHA-256 (``IngestSink``), for the frame checksum.
        var bytes: [(bytes: ByteBuffer, crc: UInt32)?] = []
        var rawBytes = 0
        /// The batch's size as one `BLOB_CHUNKS` payload if every chunk went as bytes (see
        /// ``BlobStreamer/sendChunks(_:)``): a batch never needs a second request.
        var wireBytes = BlobStreamer.requestOverhead
        var present: [Bool] = []
        var unanswered = 0
    }

    /// Bytes of a `BLOB_CHUNKS` payload (PROTOCOL.md §9a): its fixed fields (at most), each
    /// chunk sent as a reference, and each chunk's fields besides its bytes.
    static let requestOverhead = 64
    static let referenceSize = 37
    static let bytesOverhead = 49

    let uploader: Uploader
    let lease: LeaseID
    let batchBytes: Int
    /// The size the batch now filling is closed at: ``firstBatchBytes`` for a push's first batch,
    /// doubled with each batch up to ``batchBytes``. The first request then leaves after about
    /// 3 MiB are read rather than 16 MiB (two whole batches), so troved starts verifying and
    /// writing while the client still reads: at the start of a push its CPU would be idle.
    private var closeAt: Int
    /// The first batch's size (see `closeAt`).
    static let firstBatchBytes = 1 << 20
    /// Shared with the small files' `PushStream`.
    let sent: SentChunks
    private var control: RequestWindow
    private var data: RequestWindow
    private let allocator = ByteBufferAllocator()
    /// The ingest pass's read buffers (``IngestBufferSource``), reused once the socket has let go
    /// of every chunk sliced from one: about the data in flight (`window` requests, the batch
    /// asked about and the one filling, ≈ 5 × 8 MiB) plus the pass's four.
    private let readBuffers = ByteBufferPool(maxBuffers: 24, maxBytes: 96 << 20)
    /// The read buffers the ingest pass holds now, by their first byte.
    private var lent: [UnsafeMutablePointer<UInt8>: ByteBuffer] = [:]
    private var filling = Batch()
    private var asked: Batch?
    /// Chunks the server holds: answered present by HAS, or acknowledged in this push.
    private var held = Set<Digest>()
    private var nextStream: UInt32 = 1
    /// The current file's open stream and the chunks sent into it.
    private var stream: UInt32?
    private var position: UInt64 = 0
    /// The current file's chunks before its stream opened (all held by the server).
    private var prefix: [(Digest, UInt32)] = []
    private var fileChunks = 0
    /// The current file ends with `BLOB_SEAL`: the server computes its blob digest.
    private var sealed = false
    /// The first failure; the pass goes on reading but sends nothing more.
    private(set) var error: ClientError?
    /// Raw bytes of the chunks sent.
    private(set) var sentRawBytes: UInt64 = 0
    /// Streams whose close the server answered with `verified = false` (COMMIT reads back).
    private(set) var unverified = 0

    init(
        control: Connection, data: Connection, lease: LeaseID, sent: SentChunks, batchBytes: Int = 8 << 20,
        window: Int = 3
    ) {
        self.sent = sent
        uploader = Uploader(
            connections: [data], lease: lease, files: [], locations: [:], window: window, progress: nil)
        self.lease = lease
        self.batchBytes = min(batchBytes, uploader.budget)
        closeAt = min(Self.firstBatchBytes, self.batchBytes)
        // A file's chunks go out in order on one connection: compress them on two threads.
        uploader.encodeThreads = 2
        self.control = RequestWindow(connection: control, limit: 8)
        self.data = RequestWindow(connection: data, limit: window)
    }

    /// Whether `connection` speaks the blob streams (protocol version 2).
    static func supported(by connection: Connection) -> Bool { connection.protocolVersion >= 2 }

    /// Whether `connection` seals blob streams (protocol version 3): the server computes the blob
    /// digest, so the ingest pass need not.
    static func sealable(by connection: Connection) -> Bool { connection.protocolVersion >= 3 }

    /// Starts a new file; `sealed`: it ends with `BLOB_SEAL` (see ``sealable(by:)``).
    func beginFile(sealed: Bool = false) {
        stream = nil
        position = 0
        prefix = []
        fileChunks = 0
        self.sealed = sealed
    }

    /// The ingest sink: a segment's chunks and bytes (`start` is the file offset of `bytes`) and
    /// the chunks' CRC-32C.
    func take(
        _ chunks: UnsafeBufferPointer<ChunkRef>, _ bytes: UnsafeRawBufferPointer, _ start: UInt64,
        _ crcs: UnsafeBufferPointer<UInt32>
    ) {
        guard error == nil else { return }
        let most = max(1, min(Int(uploader.connection.limits.maxChunksPerPut), Int(uploader.connection.limits.maxDigestsPerRequest)))
        let segment = bytes.baseAddress.flatMap {
            lent[UnsafeMutablePointer(mutating: $0.assumingMemoryBound(to: UInt8.self))]
        }
        for (c, crc) in zip(chunks, crcs) {
            // A batch that would not fit one request goes before this chunk: each batch is one
            // BLOB_CHUNKS, so `window` requests in flight are `window` batches.
            let known = held.contains(c.digest)
            let size = known ? Self.referenceSize : c.length + Self.bytesOverhead
            if !filling.digests.isEmpty && filling.wireBytes + size > uploader.budget {
                do { try advance() } catch {
                    self.error = error
                    return
                }
            }
            filling.wireBytes += size
            filling.digests.append(c.digest)
            filling.lengths.append(UInt32(c.length))
            if known {
                filling.bytes.append(nil)
            } else {
                let at = Int(c.offset - start)
                if let slice = segment?.getSlice(at: at, length: c.length) {
                    filling.bytes.append((slice, crc))
                } else {
                    // Not a buffer lent to the pass: the bytes are reused once this returns.
                    var b = allocator.buffer(capacity: c.length)
                    b.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[at..<at + c.length]))
                    filling.bytes.append((b, crc))
                }
                filling.rawBytes += c.length
            }
            fileChunks += 1
            if filling.rawBytes >= closeAt || filling.digests.count >= most {
                do { try advance() } catch {
                    self.error = error
                    return
                }
            }
        }
    }

    /// Ends the file `r` (its ingest pass is over): sends what is left and closes its stream.
    /// `streamed` true: its chunks went through a stream (the push sends only its recipe); false:
    /// no stream was opened (the server holds every chunk). `blob`: the file's blob digest, the
    /// server's for a sealed file (`r.blobDigest` is not used then), else `r.blobDigest`.
    /// `meanwhile` runs once the file's last request is sent, before its answers are awaited
    /// (for a sealed file, while troved finishes the stream): work that needs no blob digest.
    func endFile(_ r: IngestResult, meanwhile: () -> Void = {}) throws(ClientError)
        -> (streamed: Bool, blob: Digest)
    {
        if let error { throw error }
        while !filling.digests.isEmpty || asked != nil { try advance() }
        // A sealed file needs a stream for its digest, even of references only.
        if sealed && stream == nil { try openStream() }
        guard let id = stream else {
            meanwhile()
            return (false, r.blobDigest)
        }
        guard position == UInt64(r.chunks.count), fileChunks == r.chunks.count else {
            throw .protocolViolation(
                detail: "blob stream \(id) carried \(position) chunks of a file of \(r.chunks.count)")
        }
        var blob: Digest?
        if sealed {
            try data.send(Message.BlobSeal(lease: lease, stream: id, size: r.size, chunks: position)) {
                (answer) throws(ClientError) in blob = answer.blob
            }
        } else {
            try data.send(
                Message.BlobClose(
                    lease: lease, stream: id, blob: r.blobDigest, size: r.size, chunks: position)
            ) { [self] (closed) throws(ClientError) in
                if !closed.verified { unverified += 1 }
            }
        }
        stream = nil
        meanwhile()
        guard sealed else { return (true, r.blobDigest) }
        try data.drain()
        guard let blob else {
            throw .protocolViolation(detail: "blob stream \(id) was sealed without a digest")
        }
        return (true, blob)
    }

    /// Waits until the server answered everything (every close included).
    func finish() throws(ClientError) {
        if let error { throw error }
        try control.drain()
        try data.drain()
    }

    /// Moves the batches one step on: the asked batch's chunks go out, the filling one is asked about.
    private func advance() throws(ClientError) {
        if let b = asked {
            while b.unanswered > 0 {
                guard control.outstanding > 0 else {
                    throw .protocolViolation(detail: "a streamed batch waits for a reply that was never requested")
                }
                try control.completeOldest()
            }
            try send(b)
            asked = nil
        }
        if !filling.digests.isEmpty {
            try ask(about: filling)
            asked = filling
            filling = Batch()
            closeAt = min(closeAt * 2, batchBytes)
        }
    }

    /// HAS for the batch's chunks the server is not known to hold.
    private func ask(about b: Batch) throws(ClientError) {
        b.present = b.bytes.map { $0 == nil }
        let unknown = b.bytes.indices.filter { b.bytes[$0] != nil }
        let most = max(1, Int(uploader.connection.limits.maxDigestsPerRequest))
        var start = 0
        while start < unknown.count {
            let slice = Array(unknown[start..<min(start + most, unknown.count)])
            b.unanswered += 1
            try control.send(Message.Has(lease: lease, kind: .chunk, digests: slice.map { b.digests[$0] })) {
                (r) throws(ClientError) in
                guard r.present.present.count == slice.count else {
                    throw .protocolViolation(detail: "HAS for \(slice.count) digests got a malformed answer")
                }
                for (i, p) in zip(slice, r.present.present) where p { b.present[i] = true }
                b.unanswered -= 1
            }
            start += slice.count
        }
    }

    /// The batch's chunks into the file's stream: bytes for those the server lacks, references
    /// for the others. Until a chunk needs sending, nothing is (the references wait in `prefix`).
    private func send(_ b: Batch) throws(ClientError) {
        for (d, p) in zip(b.digests, b.present) where p { held.insert(d) }
        if stream == nil {
            if !b.present.contains(false) {
                prefix += zip(b.digests, b.lengths).map { ($0, $1) }
                return
            }
            try openStream()
        }
        // The chunks to send (not held by the server, nor acknowledged in this push since the
        // batch was asked about), each once, compressed together (``ChunkEncoder``, two threads).
        var raws: [(ByteBuffer, Digest)] = []
        var checksums: [Digest: UInt32] = [:]
        for i in b.digests.indices where !(b.present[i] || held.contains(b.digests[i])) {
            if let at = b.bytes[i], checksums.updateValue(at.crc, forKey: b.digests[i]) == nil {
                raws.append((at.bytes, b.digests[i]))
            }
        }
        var encoded: [Digest: ChunkPayload] = [:]
        for p in ChunkEncoder.encode(raws, with: uploader.encoders) { encoded[p.digest] = p }
        var chunks: [StreamChunk] = []
        for i in b.digests.indices {
            let d = b.digests[i]
            if let p = encoded[d] {
                // A repeat within the batch goes as a reference when its bytes are in the same request.
                chunks.append(.data(p))
                sent.digests.insert(d)
            } else {
                chunks.append(.stored(digest: d, rawLength: b.lengths[i]))
            }
        }
        b.bytes = []
        try sendChunks(chunks, rawChecksums: checksums)
    }

    /// Opens the file's stream and sends the references to the chunks before it.
    private func openStream() throws(ClientError) {
        let id = nextStream
        nextStream &+= 1
        try data.send(Message.BlobOpen(lease: lease, stream: id)) { _ throws(ClientError) in }
        stream = id
        let refs = prefix.map { StreamChunk.stored(digest: $0.0, rawLength: $0.1) }
        prefix = []
        try sendChunks(refs)
    }

    /// Sends `chunks` in BLOB_CHUNKS requests of at most the frame budget and the chunk cap; a
    /// chunk whose bytes the same request already carries goes as a reference to them.
    /// `rawChecksums`: the CRC-32C of chunks' raw bytes, by digest (folded into the frame checksum
    /// of those that go uncompressed).
    private func sendChunks(_ chunks: [StreamChunk], rawChecksums: [Digest: UInt32] = [:]) throws(ClientError) {
        guard let id = stream, !chunks.isEmpty else { return }
        let maxCount = max(1, min(Int(uploader.connection.limits.maxChunksPerPut), ProtocolLimits.maxChunksPerFrame))
        let budget = uploader.budget
        var part: [StreamChunk] = []
        var partBytes = Self.requestOverhead
        var sent: [Digest] = []
        var crcs: [UInt32?] = []
        var raw: UInt64 = 0
        var wire: UInt64 = 0
        func flush() throws(ClientError) {
            guard !part.isEmpty else { return }
            let (count, digests, rawBytes, wireBytes) = (part.count, sent, raw, wire)
            let message = Message.BlobChunks(lease: lease, stream: id, position: position, chunks: part)
            position += UInt64(count)
            try data.send(message, dataChecksums: crcs) { [self] _ throws(ClientError) in
                for d in digests { held.insert(d) }
                uploader.chunksSent += digests.count
                uploader.rawBytesSent += rawBytes
                uploader.chunkBytesSent += wireBytes
                sentRawBytes += rawBytes
            }
            part = []
            partBytes = Self.requestOverhead
            sent = []
            crcs = []
            raw = 0
            wire = 0
        }
        var inPart = Set<Digest>()
        for original in chunks {
            var c = original
            if case .data(let p) = original, inPart.contains(p.digest) {
                c = .stored(digest: p.digest, rawLength: p.rawLength)
            }
            var size = Self.referenceSize
            if case .data(let p) = c { size = p.data.readableBytes + Self.bytesOverhead }
            if !part.isEmpty && (part.count >= maxCount || partBytes + size > budget) {
                try flush()
                inPart = []
                // A repeat whose bytes went in the previous request: send them again.
                c = original
                if case .data(let p) = c { size = p.data.readableBytes + Self.bytesOverhead }
            }
            part.append(c)
            partBytes += size
            if case .data(let p) = c {
                inPart.insert(p.digest)
                sent.append(p.digest)
                crcs.append(p.codec == .raw ? rawChecksums[p.digest] : nil)
                raw += UInt64(p.rawLength)
                wire += UInt64(size)
            }
        }
        try flush()
    }
}

extension BlobStreamer: IngestBufferSource {
    /// A read buffer for the ingest pass: a pooled `ByteBuffer` nobody else references, its
    /// bytes all marked written so that chunks can be sliced out of it once the pass has read them.
    func take(capacity: Int) -> UnsafeMutablePointer<UInt8> {
        var buffer = readBuffers.take(capacity: capacity)
        var base: UnsafeMutablePointer<UInt8>?
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: capacity) { raw in
            base = raw.baseAddress!.bindMemory(to: UInt8.self, capacity: capacity)
            return capacity
        }
        // The pass writes through `base` while this is the only reference: no copy-on-write.
        lent[base!] = buffer
        return base!
    }

    /// Back to the pool: it is handed out again only once no chunk slice of it is left.
    func recycle(_ buffer: UnsafeMutablePointer<UInt8>) {
        if let b = lent.removeValue(forKey: buffer) { readBuffers.recycle(b) }
    }
}
