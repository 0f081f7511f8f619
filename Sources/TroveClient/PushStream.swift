import NIOCore
import TroveCore
import TroveProtocol

/// Uploads the recipes and new chunks of files read in one buffer (`SmallFileIngester`) while
/// the push is still reading the next files, from the bytes read for hashing: such a file is read
/// once, and the server stores one batch while the client reads the next.
///
/// Files are gathered into batches (a few MiB, at most a few thousand recipes); each batch goes
/// through three steps, one per batch read after it, so the client never waits for the server
/// unless the server falls behind:
/// 1. `HAS` for its recipes and for its chunks (both at once);
/// 2. `PUT_OBJECTS` with the recipes of several chunks the server lacks;
/// 3. once that is acknowledged, `PUT_CHUNKS` with the chunks of the missing recipes that the
///    server lacks, each file's chunks in recipe order (PROTOCOL.md §9: recipes before their
///    chunks, so troved hashes a multi-chunk blob as its chunks arrive). A one-chunk blob needs
///    no blob hashing: with `singleRecipesAtEnd` (the push's default) its recipe waits for
///    `finish` (`deferredRecipes`: one request after the last batch), otherwise it goes after
///    the batch's chunks, `singleRecipesPerRequest` per request (troved then checks it against
///    the chunk index while this client reads on); a batch of only such files sends its chunks
///    at step 2.
/// Against a version-4 server (`impliedRecipes`), a one-chunk recipe is neither asked about nor
/// sent: its COMMIT takes it from the chunk (PROTOCOL.md §9), and `HAS` for the chunk decides
/// whether it goes out.
/// Memory: three batches of raw bytes plus `window` PUT_CHUNKS frames in flight.
///
/// The push then sends only the rest (the recipes of files not streamed) and the tree, and
/// commits as before; `COMMIT` still checks everything, and anything it reports missing is
/// re-read from the files. Not thread-safe: the pushing thread only.
final class PushStream {
    /// One batch of files' recipes and chunk bytes on its way through the three steps.
    final class Batch {
        var recipes: [Recipe] = []
        /// Chunks of the batch's files not sent before, first-use order, and their raw bytes.
        var chunkOrder: [Digest] = []
        var bytes: [Digest: ByteBuffer] = [:]
        var rawBytes = 0
        var recipePresent: [Bool] = []
        var chunkPresent: [Bool] = []
        /// Missing one-chunk recipes, due once the batch's chunks are sent.
        var singleRecipes: [(ContentKind, Digest, [UInt8])] = []
        /// HAS and PUT_OBJECTS requests not yet answered.
        var unanswered = 0
    }

    let uploader: Uploader
    let lease: LeaseID
    /// Most raw bytes and most recipes per batch.
    let batchBytes: Int
    let batchFiles: Int
    private var control: RequestWindow
    private var chunkWindows: [RequestWindow]
    private let allocator = ByteBufferAllocator()
    private var filling = Batch()
    /// Batches whose HAS was sent (step 1 done) and whose PUT_OBJECTS was sent (step 2 done).
    private var asked: Batch?
    private var stored: Batch?
    /// Chunks sent (or being sent) in this push, by this stream or the large files' `BlobStreamer`.
    let sent: SentChunks
    /// Raw bytes of the chunks this stream sent.
    private(set) var sentRawBytes: UInt64 = 0
    /// Missing one-chunk recipes not sent yet: `finish` sends them after the last batch.
    private(set) var deferredRecipes: [(ContentKind, Digest, [UInt8])] = []
    /// Send one-chunk recipes at `finish` instead of after their batch's chunks.
    let singleRecipesAtEnd: Bool
    /// One-chunk recipes whose chunks were sent, not sent yet: they go in one request once
    /// there are ``singleRecipesPerRequest`` (each PUT_OBJECTS is written durably and holds
    /// back the connection's later requests while it runs: a few large ones, not one per batch).
    private var dueRecipes: [(ContentKind, Digest, [UInt8])] = []
    let singleRecipesPerRequest: Int
    /// One-chunk recipes are implied (the server commits them from the chunk): not sent.
    let impliedRecipes: Bool
    /// Raw bytes of a batch's new chunks compressed together on the encoders' threads before
    /// they are sent (``Uploader/EncodeAhead``): little, so that the batch's bytes are not held
    /// twice.
    let encodeSliceBytes = 1 << 20

    /// Whether `connection`'s server commits one-chunk recipes it was not sent (protocol version 4).
    static func implies(by connection: Connection) -> Bool { connection.protocolVersion >= 4 }

    init(
        connection: Connection, lease: LeaseID, batchBytes: Int = 8 << 20, window: Int = 2,
        sent: SentChunks = SentChunks(), singleRecipesAtEnd: Bool = false,
        singleRecipesPerRequest: Int = 4096,
        impliedRecipes: Bool = false, encodeThreads: Int = 1, chunkConnection: Connection? = nil
    ) {
        self.sent = sent
        self.impliedRecipes = impliedRecipes
        self.singleRecipesAtEnd = singleRecipesAtEnd
        self.singleRecipesPerRequest = max(1, singleRecipesPerRequest)
        uploader = Uploader(
            connections: [connection], lease: lease, files: [], locations: [:], window: window, progress: nil)
        uploader.encodeThreads = encodeThreads
        self.lease = lease
        self.batchBytes = batchBytes
        batchFiles = 4096
        control = RequestWindow(connection: connection, limit: 8)
        // PUT_CHUNKS on a connection of their own: a PUT_OBJECTS starts only once every earlier
        // request of its connection has completed (PROTOCOL.md §4), so on one connection the next
        // batch's recipes waited until troved had stored the previous batch's chunks. Only with
        // implied recipes: sent one-chunk recipes rely on their chunks being stored before them,
        // which holds only on one connection (a multi-chunk recipe is acknowledged before its
        // chunks go out).
        let chunks = impliedRecipes ? (chunkConnection ?? connection) : connection
        chunkWindows = [RequestWindow(connection: chunks, limit: window)]
    }

    /// Takes a file's recipe (a blob not seen before in this push), its ingest result (where its
    /// chunks are) and the bytes it was read from.
    func add(_ recipe: Recipe, _ r: IngestResult, content: UnsafeRawBufferPointer) throws(ClientError) {
        filling.recipes.append(recipe)
        for c in r.chunks where !sent.digests.contains(c.digest) && filling.bytes[c.digest] == nil {
            var b = allocator.buffer(capacity: c.length)
            b.writeBytes(UnsafeRawBufferPointer(rebasing: content[Int(c.offset)..<Int(c.offset) + c.length]))
            filling.bytes[c.digest] = b
            filling.chunkOrder.append(c.digest)
            filling.rawBytes += c.length
        }
        if filling.rawBytes >= batchBytes || filling.recipes.count >= batchFiles
            || filling.chunkOrder.count >= batchFiles
        {
            try advance()
        }
    }

    /// Moves every batch one step on: the stored batch's chunks go out, the asked batch's
    /// recipes go out, the filling batch is asked about.
    private func advance() throws(ClientError) {
        if let b = stored {
            try wait(for: b)
            try sendChunks(of: b)
            stored = nil
        }
        if let b = asked {
            try wait(for: b)
            try sendRecipes(of: b)
            asked = nil
        }
        if !filling.recipes.isEmpty {
            try ask(about: filling)
            asked = filling
            filling = Batch()
        }
    }

    /// Sends everything still gathered, the deferred one-chunk recipes last (they then reach the
    /// server while the push builds its tree), without waiting for the answers: see ``drain()``.
    func finish() throws(ClientError) {
        while filling.recipes.count > 0 || asked != nil || stored != nil { try advance() }
        try sendDueRecipes()
        let recipes = deferredRecipes
        deferredRecipes = []
        try uploader.sendObjects(recipes, window: &control)
    }

    /// Waits until the server acknowledged everything sent.
    func drain() throws(ClientError) {
        try control.drain()
        for i in chunkWindows.indices { try chunkWindows[i].drain() }
    }

    private func wait(for b: Batch) throws(ClientError) {
        while b.unanswered > 0 {
            guard control.outstanding > 0 else {
                throw .protocolViolation(
                    detail: "a streamed batch waits for a reply that was never requested")
            }
            try control.completeOldest()
        }
    }

    private func ask(about b: Batch) throws(ClientError) {
        b.recipePresent = [Bool](repeating: false, count: b.recipes.count)
        b.chunkPresent = [Bool](repeating: false, count: b.chunkOrder.count)
        if impliedRecipes {
            // Implied one-chunk recipes count as absent: their chunk's HAS decides.
            let asked = b.recipes.indices.filter { !b.recipes[$0].isImpliedByItsChunk }
            if !asked.isEmpty {
                try ask(.recipe, asked.map { b.recipes[$0].blobDigest }, b) {
                    b.recipePresent[asked[$0]] = $1
                }
            }
        } else {
            try ask(.recipe, b.recipes.map(\.blobDigest), b) { b.recipePresent[$0] = $1 }
        }
        try ask(.chunk, b.chunkOrder, b) { b.chunkPresent[$0] = $1 }
    }

    /// HAS for `digests` in requests of at most `maxDigestsPerRequest`; `answer` gets each flag.
    private func ask(
        _ kind: ContentKind, _ digests: [Digest], _ b: Batch, answer: @escaping (Int, Bool) -> Void
    ) throws(ClientError) {
        let most = max(1, Int(uploader.connection.limits.maxDigestsPerRequest))
        var start = 0
        while start < digests.count {
            let slice = Array(digests[start..<min(start + most, digests.count)])
            let first = start
            b.unanswered += 1
            try control.send(Message.Has(lease: lease, kind: kind, digests: slice)) {
                (r) throws(ClientError) in
                guard r.present.present.count == slice.count else {
                    throw .protocolViolation(detail: "HAS for \(slice.count) digests got a malformed answer")
                }
                for (i, p) in r.present.present.enumerated() { answer(first + i, p) }
                b.unanswered -= 1
            }
            start += slice.count
        }
    }

    /// The recipes the server lacks; the chunks they need that it lacks stay in the batch.
    private func sendRecipes(of b: Batch) throws(ClientError) {
        var present = Set<Digest>()
        for (d, p) in zip(b.chunkOrder, b.chunkPresent) where p { present.insert(d) }
        // A one-chunk recipe whose chunk digest is the blob digest needs no order (verifying the
        // chunk verifies the blob): those go after the batch's chunks (or at the end). Others go
        // before their chunks.
        var ordered: [(ContentKind, Digest, [UInt8])] = []
        var needed: [Digest] = []
        var seen = Set<Digest>()
        for (r, p) in zip(b.recipes, b.recipePresent) where !p {
            if r.isImpliedByItsChunk {
                if impliedRecipes {
                    // Not sent: the server commits it from its chunk.
                } else if singleRecipesAtEnd {
                    deferredRecipes.append((.recipe, r.blobDigest, r.canonicalBytes))
                } else {
                    b.singleRecipes.append((.recipe, r.blobDigest, r.canonicalBytes))
                }
            } else {
                ordered.append((.recipe, r.blobDigest, r.canonicalBytes))
            }
            // Not what the server has, nor what an earlier batch sent after this one was asked.
            for c in r.chunks
            where b.bytes[c.digest] != nil && !present.contains(c.digest) && !sent.digests.contains(c.digest)
            {
                if seen.insert(c.digest).inserted { needed.append(c.digest) }
            }
        }
        b.chunkOrder = needed
        for d in needed { sent.digests.insert(d) }
        if ordered.isEmpty {
            // Only one-chunk recipes (or none): the chunks need not wait.
            try sendChunks(of: b)
            return
        }
        try uploader.sendObjects(
            ordered, window: &control, sent: { b.unanswered += 1 }, acknowledged: { b.unanswered -= 1 })
        stored = b
    }

    private func sendChunks(of b: Batch) throws(ClientError) {
        let bytes = b.bytes
        b.bytes = [:]
        var ahead = Uploader.EncodeAhead(
            b.chunkOrder, encoders: uploader.encoders, sliceBytes: encodeSliceBytes)
        try uploader.sendChunks(b.chunkOrder, windows: &chunkWindows) { d throws(ClientError) in
            try ahead.payload(for: d) { d throws(ClientError) in
                guard let data = bytes[d] else {
                    throw .protocolViolation(detail: "no bytes kept for streamed chunk \(d)")
                }
                sentRawBytes += UInt64(data.readableBytes)
                return data
            }
        }
        dueRecipes += b.singleRecipes
        b.singleRecipes = []
        if dueRecipes.count >= singleRecipesPerRequest { try sendDueRecipes() }
    }

    /// Sends the due one-chunk recipes without awaiting the answer (`drain` collects it): troved
    /// runs a PUT_OBJECTS after the connection's earlier requests, so their chunks are stored
    /// when it checks the recipes.
    private func sendDueRecipes() throws(ClientError) {
        let recipes = dueRecipes
        dueRecipes = []
        try uploader.sendObjects(recipes, window: &control)
    }
}

extension Recipe {
    /// One chunk whose digest is the blob digest: verifying the chunk verifies the blob, and a
    /// version-4 server commits such a recipe from the chunk alone (PROTOCOL.md §9).
    var isImpliedByItsChunk: Bool { chunks.count == 1 && chunks[0].digest == blobDigest }
}
