import TroveCore
import TroveProtocol

/// What to push and how to label it.
public struct PushRequest: Sendable {
    /// File or directory to push.
    public var path: String
    /// Artifact name.
    public var name: String
    /// Version tag.
    public var version: String
    /// Free-text message.
    public var message: String
    /// Metadata entries (keys unique).
    public var metadata: [MetadataEntry]
    /// Parent refs.
    public var parents: [String]
    /// Bind a bucket key to the pushed file (BIND_KEY) instead of creating a version; `name`
    /// is then `BUCKET/KEY` and `path` a single file.
    public var bucketKey: BucketKeyTarget?
    /// The blob digest the single pushed file must have; anything else is refused before a byte
    /// is sent (a git-lfs oid names the content it must be).
    public var expectedBlob: Digest?

    public init(
        path: String, name: String, version: String, message: String = "", metadata: [MetadataEntry] = [],
        parents: [String] = []
    ) {
        self.path = path
        self.name = name
        self.version = version
        self.message = message
        self.metadata = metadata
        self.parents = parents
    }
}

/// A bucket key a push binds its single file to (PROTOCOL.md §11, BIND_KEY).
public struct BucketKeyTarget: Sendable, Equatable {
    public var bucket: String
    public var key: String
    /// Create the bucket if it does not exist.
    public var createBucket: Bool

    public init(bucket: String, key: String, createBucket: Bool = true) {
        self.bucket = bucket
        self.key = key
        self.createBucket = createBucket
    }
}

/// What a push did.
public struct PushResult: Sendable {
    public var name: String
    public var version: String
    /// The tree digest.
    public var tree: Digest
    /// The blob digest, when a single file was pushed.
    public var blob: Digest?
    /// False when the version already existed with this same tree (nothing changed).
    public var created: Bool
    /// Regular files in the tree.
    public var files: Int
    /// Sum of the file sizes.
    public var logicalBytes: UInt64
    /// Distinct chunks in the tree.
    public var chunks: Int
    /// Chunks uploaded.
    public var chunksSent: Int
    /// Raw (uncompressed) bytes of the chunks uploaded.
    public var rawBytesSent: UInt64
    /// Bytes of chunk data on the wire (after compression).
    public var chunkBytesSent: UInt64
    /// Bytes of recipes and tree uploaded.
    public var objectBytesSent: UInt64
    /// Distinct-chunk bytes the server already had.
    public var bytesDeduplicated: UInt64
    /// Paths skipped (neither file, directory nor symlink).
    public var skipped: [String]
    /// True when the push resumed the lease of an earlier, interrupted push.
    public var resumedLease = false
    /// Files uploaded through blob streams while they were read (PROTOCOL.md §9a).
    public var filesStreamed = 0

    /// Everything sent: chunk data plus objects.
    public var bytesSent: UInt64 { chunkBytesSent + objectBytesSent }
}

/// Pushes a file or directory: chunk locally with the store's parameters, send only what the
/// server lacks, commit, create the version (PROTOCOL.md §9).
public final class Pusher {
    let connection: Connection
    let progress: Progress?
    /// Threads for the ingest pass.
    public var ingestThreads = 2
    /// Stat cache: unchanged files (same size, mtime, ctime, inode) are not re-read. Nil: read all.
    public var statCache: StatCache?
    /// Requests in flight for HAS and PUT_CHUNKS.
    public var window = 8
    /// PUT_CHUNKS requests in flight per connection (each up to 8 MiB; troved buffers at most
    /// 16 MiB per connection anyway, so more would only sit in this process).
    public var putWindow = 4

    /// Upload files read in one buffer (up to 1 MiB) while reading the next ones, from the bytes
    /// read for hashing (`PushStream`), instead of reading them again after the whole ingest pass.
    public var streamSmallFiles = true

    /// Read and hash the small files of a directory on a second thread (`SmallFileReadAhead`).
    /// Off: in release A/B runs (docs/PERFORMANCE.md) it added client CPU (a copy and two
    /// wake-ups per file) and did not shorten the push. `TROVE_PUSH_READ_AHEAD=1` turns it on.
    public var readAhead = false

    /// Send the recipes of small one-chunk files in one request after the last file (the
    /// default) instead of after each batch's chunks, 4096 per request, where troved checks them
    /// while the files are still being read. Per batch shortened troved's COMMIT but cost troved
    /// CPU and did not shorten the push in A/B runs under load (docs/PERFORMANCE.md, session 7):
    /// `TROVE_PUSH_RECIPES_PER_BATCH=1` turns it on for measurements.
    public var singleRecipesAtEnd = true
    /// Against a version-4 server, leave out the recipes of streamed one-chunk files (chunk
    /// digest = blob digest): its COMMIT takes them from their chunks (PROTOCOL.md §9). Off
    /// sends them as before (tests compare both; `TROVE_PUSH_IMPLIED_RECIPES=0` for A/B runs).
    public var impliedRecipes = true
    /// Raw bytes per batch of streamed small files, and one-chunk recipes per PUT_OBJECTS
    /// (`PushStream`); tests lower them.
    var smallBatchBytes = 8 << 20
    var singleRecipesPerRequest = 4096
    /// Threads that compress a small-file batch's new chunks (``PushStream``): the pushing thread
    /// reads, hashes and compresses every small file, and is what a push of many small files
    /// waits for; the second core helps with the compression (`TROVE_PUSH_SMALL_ENCODERS=1` for
    /// A/B runs).
    public var smallEncodeThreads = 2
    /// Small files' PUT_CHUNKS go over the first of ``uploadConnections`` (their HAS and
    /// PUT_OBJECTS over ``connection``), so a batch's recipes need not wait until troved has
    /// stored the previous batch's chunks (`TROVE_PUSH_SMALL_CHUNKS_CONN=0` for A/B runs: all on
    /// one connection).
    public var smallChunksOnUploadConnection = true
    /// List the pushed directory's levels on all cores (``LocalTree/scan(_:parallel:)``;
    /// `TROVE_SCAN_THREADS=1` for A/B runs: one thread).
    public var parallelScan = true

    /// Upload files over 1 MiB while reading them, through blob streams (`BlobStreamer`, protocol
    /// version 2), instead of reading them again after the whole ingest pass. Off, or against a
    /// version-1 server, such files take the two-pass path. `TROVE_PUSH_BLOB_STREAMS=0` turns
    /// it off (for A/B measurements).
    public var streamLargeFiles = true

    /// Against a protocol-3 server, let it compute the blob digest of streamed files of at least
    /// `sealMinimumSize` (`BLOB_SEAL`): the ingest pass then hashes only the chunks, on every
    /// thread. A sealed file costs a round trip (the client waits for its digest before the next
    /// file), small next to a file of 64 MiB.
    /// `TROVE_PUSH_SERVER_DIGEST=0` turns it off (for A/B measurements).
    public var serverDigests = true

    /// Smallest file whose stream is sealed when `serverDigests` allows (tests lower it).
    public var sealMinimumSize: UInt64 = 64 << 20

    /// Blob streams: raw bytes per batch (one `HAS`, then one or more `BLOB_CHUNKS`) and
    /// `BLOB_CHUNKS` requests in flight (`TROVE_PUSH_STREAM_BATCH_MIB`, `TROVE_PUSH_STREAM_WINDOW`
    /// for A/B runs).
    public var streamBatchBytes = 8 << 20
    public var streamWindow = 3

    /// Further connections to the same server used to upload chunks in parallel (the server
    /// handles one request at a time per connection, so two connections use two server cores).
    public var uploadConnections: [Connection] = []

    public init(connection: Connection, progress: Progress? = nil) {
        self.connection = connection
        self.progress = progress
    }

    struct ChunkLocation {
        var file: Int
        var offset: UInt64
        var length: Int
    }

    /// Runs the whole push.
    public func push(_ request: PushRequest, resume: LeaseID? = nil, onLease: ((LeaseID) -> Void)? = nil)
        throws(ClientError) -> PushResult
    {
        let local = try LocalTree.scan(request.path, parallel: parallelScan)
        let params = connection.chunkerParameters
        do { try params.validate() } catch {
            throw .protocolViolation(detail: "the server announced unusable chunker parameters: \(error)")
        }

        // 1. Chunk and hash every file locally.
        let totalBytes = local.files.reduce(UInt64(0)) { $0 + $1.size }
        progress?.start(phase: "reading", total: totalBytes)
        var recipes: [Digest: Recipe] = [:]
        var recipeOrder: [Digest] = []
        var locations: [Digest: ChunkLocation] = [:]
        var chunkOrder: [Digest: Int] = [:]  // first-seen order, for stable uploads
        var entries = local.otherEntries
        var results: [IngestResult] = []
        results.reserveCapacity(local.files.count)
        let rootKey = statCache == nil || local.isSingleFile ? "" : StatCache.key(request.path)
        // Files up to 1 MiB: one read and the hashing on this thread (no pipeline per file).
        let small: SmallFileIngester
        do { small = try SmallFileIngester(parameters: params) } catch {
            throw .protocolViolation(detail: "the server announced unusable chunker parameters: \(error)")
        }
        // The lease starts before the first upload: when a small file is streamed, or after ingest.
        var begun: Message.PushBegun?
        func lease() throws(ClientError) -> LeaseID {
            if let begun { return begun.lease }
            let b = try connection.call(Message.BeginPush(name: request.name, resume: resume))
            begun = b
            onLease?(b.lease)
            return b.lease
        }
        var stream: PushStream?
        // Large files: uploaded while read, over the second connection when there is one.
        let streamConnection = uploadConnections.first ?? connection
        let streamLarge =
            streamLargeFiles && request.expectedBlob == nil && request.bucketKey == nil
            && BlobStreamer.supported(by: streamConnection)
        var blobs: BlobStreamer?
        let sentChunks = SentChunks()
        var streamedRecipes: [(ContentKind, Digest, [UInt8])] = []
        var filesStreamed = 0
        // Stat-cache lookups first: with `readAhead`, the small files left to read are read and
        // hashed ahead on a second thread (`SmallFileReadAhead`) while this one sends.
        var cached: [(key: String, stamp: FileStamp?, hit: IngestResult?)] = []
        cached.reserveCapacity(statCache == nil ? 0 : local.files.count)
        if let statCache {
            statCache.reserve(local.files.count)
            for file in local.files {
                let key =
                    local.isSingleFile
                    ? StatCache.key(file.diskPath) : StatCache.key(rootKey: rootKey, relative: file.treePath)
                let stamp = file.stamp ?? FileStamp(path: file.diskPath)
                cached.append((key, stamp, stamp.flatMap { statCache.lookup(path: key, stamp: $0) }))
            }
        }
        let readAhead: SmallFileReadAhead? =
            local.isSingleFile || !self.readAhead
            ? nil
            : SmallFileReadAhead(
                files: local.files.indices.compactMap { i in
                    let f = local.files[i]
                    guard f.size <= UInt64(small.limit), cached.isEmpty || cached[i].hit == nil else {
                        return nil
                    }
                    return (i, f.diskPath, Int(f.size))
                }, parameters: params, formats: connection.formatPolicy)
        defer { readAhead?.stop() }
        var readBytes: [UInt8] = []
        // Each distinct chunk's first location, for uploads and COMMIT's repairs.
        func locate(_ chunks: [ChunkRef], file index: Int) {
            for c in chunks where locations[c.digest] == nil {
                locations[c.digest] = ChunkLocation(file: index, offset: c.offset, length: c.length)
                chunkOrder[c.digest] = chunkOrder.count
            }
        }
        for (index, file) in local.files.enumerated() {
            let r: IngestResult
            var inBuffer = false
            var streamed = false
            var located = false
            let (cacheKey, stamp, hit) = cached.isEmpty ? ("", nil, nil) : cached[index]
            if let hit {
                r = hit
            } else {
                do {
                    let done: IngestResult?
                    if file.size > UInt64(small.limit) {
                        done = nil
                    } else if let readAhead {
                        (done, readBytes) = try readAhead.take(index)
                    } else {
                        done = try small.ingest(
                            path: file.diskPath, formats: connection.formatPolicy,
                            expectedSize: Int(file.size))
                        readBytes = []
                    }
                    if let done {
                        r = done
                        inBuffer = true
                    } else if streamLarge {
                        if blobs == nil {
                            blobs = BlobStreamer(
                                control: connection, data: streamConnection, lease: try lease(),
                                sent: sentChunks,
                                batchBytes: streamBatchBytes, window: streamWindow)
                        }
                        let streamer = blobs!
                        let sealed =
                            serverDigests && file.size >= sealMinimumSize
                            && BlobStreamer.sealable(by: streamConnection)
                        streamer.beginFile(sealed: sealed)
                        var ingested = try Ingest.file(
                            at: file.diskPath, parameters: params, threads: ingestThreads,
                            blobDigest: !sealed,
                            formats: connection.formatPolicy, sink: { streamer.take($0, $1, $2, $3) },
                            buffers: streamer)
                        let chunks = ingested.chunks
                        // Located while troved finishes the stream (16 000 chunks a GiB).
                        (streamed, ingested.blobDigest) = try streamer.endFile(ingested) {
                            locate(chunks, file: index)
                            located = true
                        }
                        r = ingested
                    } else {
                        r = try Ingest.file(
                            at: file.diskPath, parameters: params, threads: ingestThreads,
                            formats: connection.formatPolicy)
                    }
                } catch let error as ClientError {
                    throw error
                } catch {
                    throw .ingest(detail: "cannot read \(file.diskPath): \(error)")
                }
                if let stamp, stamp.size == r.size {
                    statCache?.store(path: cacheKey, stamp: stamp, result: r)
                }
            }
            results.append(r)
            entries.append(.file(file.treePath, blob: r.blobDigest, size: r.size, mode: file.mode))
            if recipes[r.blobDigest] == nil {
                let chunks = r.chunks.map { RecipeChunk(digest: $0.digest, length: UInt32($0.length)) }
                let recipe = Recipe(blobDigest: r.blobDigest, size: r.size, chunks: chunks)
                recipes[r.blobDigest] = recipe
                if inBuffer && streamSmallFiles && !local.isSingleFile {
                    if stream == nil {
                        stream = PushStream(
                            connection: connection, lease: try lease(), batchBytes: smallBatchBytes,
                            sent: sentChunks, singleRecipesAtEnd: singleRecipesAtEnd,
                            singleRecipesPerRequest: singleRecipesPerRequest,
                            impliedRecipes: impliedRecipes && PushStream.implies(by: connection),
                            encodeThreads: smallEncodeThreads,
                            chunkConnection: smallChunksOnUploadConnection ? uploadConnections.first : nil)
                    }
                    if readAhead != nil {
                        var failed: ClientError?
                        readBytes.withUnsafeBytes { b in
                            do throws(ClientError) { try stream!.add(recipe, r, content: b) } catch {
                                failed = error
                            }
                        }
                        if let failed { throw failed }
                    } else {
                        try stream!.add(recipe, r, content: small.content)
                    }
                } else if streamed {
                    // Its chunks went through a blob stream: only the recipe is left to send.
                    filesStreamed += 1
                    streamedRecipes.append((.recipe, r.blobDigest, recipes[r.blobDigest]!.canonicalBytes))
                } else {
                    recipeOrder.append(r.blobDigest)
                }
            }
            if !located { locate(r.chunks, file: index) }
            progress?.advance(by: r.size)
        }
        // The stat cache is written while the push goes on (it is not used again here).
        let saving = statCache?.saveInBackground()
        defer { saving?.wait() }
        try stream?.finish()  // answers awaited before the objects go (`drain`)
        try blobs?.finish()
        if let expected = request.expectedBlob ?? (request.bucketKey == nil ? nil : results.first?.blobDigest)
        {
            guard local.isSingleFile, let got = results.first?.blobDigest else {
                throw .usage(detail: "\(request.path) must be a single regular file to push to a bucket key")
            }
            guard got == expected else {
                throw .integrity(
                    detail: "\(request.path) hashes to \(got), not \(expected); nothing was sent")
            }
        }
        let tree = Tree(entries: entries)
        do { try tree.validate() } catch {
            throw .usage(detail: "cannot build a tree from \(request.path): \(error)")
        }
        let treeBytes = tree.canonicalBytes
        let treeDigest = SHA256.hash(treeBytes)
        let uniqueBytes = locations.values.reduce(UInt64(0)) { $0 + UInt64($1.length) }
        var result = PushResult(
            name: request.name, version: request.version, tree: treeDigest,
            blob: local.isSingleFile ? results.first?.blobDigest : nil, created: false,
            files: local.files.count,
            logicalBytes: totalBytes, chunks: locations.count, chunksSent: 0, rawBytesSent: 0,
            chunkBytesSent: 0,
            objectBytesSent: 0, bytesDeduplicated: 0, skipped: local.skipped)

        // 2. Lease (begun already if files were streamed).
        let lease = try lease()
        result.resumedLease = begun?.resumed ?? false
        result.filesStreamed = filesStreamed
        let streamed = (stream?.sentRawBytes ?? 0) + (blobs?.sentRawBytes ?? 0)

        // One uploader per connection, each on its own thread for new chunks (reading,
        // compressing and encoding in parallel); the first also sends objects and repairs.
        let uploaders = ([connection] + uploadConnections).map {
            Uploader(
                connections: [$0], lease: lease, files: local.files, locations: locations, window: putWindow,
                progress: progress)
        }
        let uploader = uploaders[0]

        // 3. What does the server lack?
        let treePresent = try has(kind: .tree, [treeDigest], lease: lease)[0]
        var sentObjects = false
        if !treePresent {
            let recipePresent = try has(kind: .recipe, recipeOrder, lease: lease)
            var missingRecipes: [Digest] = []
            var needed = Set<Digest>()
            var neededOrder: [Digest] = []
            var blobStarts: [Int] = []  // where each missing recipe's chunks begin in neededOrder
            for (i, blob) in recipeOrder.enumerated() where !recipePresent[i] {
                missingRecipes.append(blob)
                blobStarts.append(neededOrder.count)
                for c in recipes[blob]!.chunks where needed.insert(c.digest).inserted {
                    neededOrder.append(c.digest)
                }
            }
            let chunkPresent = try has(kind: .chunk, neededOrder, lease: lease)
            // Missing chunks grouped by the recipe that first needs them, in recipe order.
            var groups: [[Digest]] = []
            var missingBytes: UInt64 = 0
            for (g, start) in blobStarts.enumerated() {
                let end = g + 1 < blobStarts.count ? blobStarts[g + 1] : neededOrder.count
                var group: [Digest] = []
                for i in start..<end where !chunkPresent[i] {
                    group.append(neededOrder[i])
                    missingBytes += UInt64(locations[neededOrder[i]]!.length)
                }
                if !group.isEmpty { groups.append(group) }
            }
            result.bytesDeduplicated = uniqueBytes - min(uniqueBytes, missingBytes + streamed)
            progress?.start(phase: "sending", total: missingBytes)
            progress?.deduplicated =
                uniqueBytes == 0 ? 0 : Double(uniqueBytes - missingBytes) / Double(uniqueBytes)
            // Recipes (and the tree) first: the server then hashes each new blob as its chunks
            // arrive in order instead of reading them all back at COMMIT (PROTOCOL.md §9).
            var objects: [(ContentKind, Digest, [UInt8])] = missingRecipes.map {
                (.recipe, $0, recipes[$0]!.canonicalBytes)
            }
            objects += streamedRecipes
            objects.append((.tree, treeDigest, treeBytes))
            try stream?.drain()
            try uploader.putObjects(objects)
            sentObjects = true
            try Uploader.putChunksInParallel(groups, uploaders)
        } else {
            try stream?.drain()
            result.bytesDeduplicated = uniqueBytes - min(uniqueBytes, streamed)
        }

        // 4. Commit, uploading whatever the server still reports missing.
        progress?.start(phase: "committing", total: 0)
        var attempts = 0
        while true {
            attempts += 1
            guard
                case .missing(let missing) = try connection.call(
                    Message.Commit(lease: lease, tree: treeDigest))
            else { break }
            let missingChunks = missing.chunks
            let missingObjects = missing.objects
            guard attempts < 4, !(missingChunks.isEmpty && missingObjects.isEmpty) else {
                throw .protocolViolation(
                    detail: "COMMIT still reports \(missingChunks.count) chunks and \(missingObjects.count) "
                        + "objects missing after \(attempts) attempts")
            }
            for d in missingChunks where locations[d] == nil {
                throw .protocolViolation(
                    detail: "COMMIT reports chunk \(d) missing, which this push does not contain")
            }
            try uploader.putChunks(missingChunks)
            var objects: [(ContentKind, Digest, [UInt8])] = []
            for o in missingObjects {
                if o.kind == .tree, o.digest == treeDigest {
                    objects.append((.tree, treeDigest, treeBytes))
                } else if o.kind == .recipe, let r = recipes[o.digest] {
                    objects.append((.recipe, o.digest, r.canonicalBytes))
                } else {
                    throw .protocolViolation(
                        detail: "COMMIT reports \(o.kind) \(o.digest) missing, not part of this push")
                }
            }
            try uploader.putObjects(objects)
            sentObjects = true
        }
        _ = sentObjects

        // 5. The version, or the bucket key.
        if let target = request.bucketKey, let blob = result.blob {
            let bound = try connection.call(
                Message.BindKey(
                    lease: lease, bucket: target.bucket, key: target.key, blob: blob,
                    createBucket: target.createBucket))
            result.created = bound.created
        } else {
            let created = try connection.call(
                Message.CreateVersion(
                    lease: lease, name: request.name, version: request.version, tree: treeDigest,
                    message: request.message, metadata: request.metadata, parents: request.parents))
            result.created = created.created
        }
        _ = try? connection.call(Message.EndPush(lease: lease))
        progress?.finish()
        for u in uploaders + (stream.map { [$0.uploader] } ?? []) + (blobs.map { [$0.uploader] } ?? []) {
            result.chunksSent += u.chunksSent
            result.rawBytesSent += u.rawBytesSent
            result.chunkBytesSent += u.chunkBytesSent
            result.objectBytesSent += u.objectBytesSent
        }
        return result
    }

    /// HAS in batches of at most `maxDigestsPerRequest`, pipelined; one flag per digest.
    func has(kind: ContentKind, _ digests: [Digest], lease: LeaseID) throws(ClientError) -> [Bool] {
        if digests.isEmpty { return [] }
        let batch = max(1, Int(connection.limits.maxDigestsPerRequest))
        var out = [Bool](repeating: false, count: digests.count)
        var w = RequestWindow(connection: connection, limit: window)
        var start = 0
        while start < digests.count {
            let end = min(start + batch, digests.count)
            let s = start
            let slice = Array(digests[start..<end])
            try w.send(Message.Has(lease: lease, kind: kind, digests: slice)) {
                (r) throws(ClientError) in
                guard r.present.present.count == slice.count else {
                    throw .protocolViolation(detail: "HAS for \(slice.count) digests got a malformed answer")
                }
                for (i, p) in r.present.present.enumerated() { out[s + i] = p }
            }
            start = end
        }
        try w.drain()
        return out
    }
}
