import Foundation
import TroveCore

/// Storing S3 bodies as blobs, and multipart uploads.
extension Store {
    /// The one-file tree a bucket blob is committed under (`commit` registers blobs through a
    /// tree; committing it also notes the blob as a root for a GC running meanwhile).
    static func bucketTree(blob: Digest, size: UInt64) -> Tree {
        Tree(entries: [.file("object", blob: blob, size: size)])
    }

    /// A path in the store's `tmp/` for an S3 body being received (`tmp/` is emptied on open, so a
    /// crash leaves nothing behind).
    public func bucketStagingPath(_ name: String) -> String {
        tmpDir + "/s3-" + name
    }

    /// Chunks the file at `path` (FastCDC with the store's parameters and format policy), stores
    /// the chunks the store lacks durably in packs (compressed with the store's codec, through
    /// `putChunks`, when a sample says compression pays), and commits the blob. Memory stays
    /// bounded by a batch (~4 MiB) and the ingest pipeline's buffers, whatever the file size. On
    /// return the blob is committed.
    ///
    /// With `expecting`, the file's SHA-256 (its blob digest, computed while chunking) must be
    /// that digest: otherwise `.blobMismatch` is thrown before any chunk is stored (a signed S3
    /// payload hash or a git-lfs oid is checked this way, without hashing the body twice).
    ///
    /// The commit does not read the chunks back: the blob digest and the chunk digests come from
    /// one pass over the same bytes, and every chunk `putChunks` stores is re-hashed from the bytes
    /// it writes (chunks already stored were, when they were stored).
    public func ingestBlob(file path: String, expecting: Digest? = nil) throws(StoreError) -> IngestedBlob {
        try checkWritable()
        let result: IngestResult
        do {
            result = try Ingest.file(at: path, parameters: config.chunking.parameters, threads: 2, formats: config.formats)
        } catch {
            throw .invalidArgument("cannot chunk \(path): \(error)")
        }
        let fd = try FileIO.open(path, O_RDONLY)
        defer { close(fd) }
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: config.chunking.max, alignment: 16)
        defer { buffer.deallocate() }
        return try storeIngested(result, expecting: expecting, of: path) { (c) throws(StoreError) in
            let chunk = UnsafeMutableRawBufferPointer(rebasing: buffer[0..<c.length])
            try FileIO.preadAll(fd, chunk, at: Int(c.offset), path)
            return UnsafeRawBufferPointer(chunk)
        }
    }

    /// ``ingestBlob(file:expecting:)`` for a body held in memory (an S3 part or small PUT, which
    /// the caller keeps unchanged meanwhile): chunked in place (`Ingest.inPlace`, the same chunks
    /// as from a file, each chunk's digest fused with the blob's in one pass), and the chunks the
    /// store lacks stored from these bytes. Nothing is copied but what goes into the packs.
    public func ingestBlob(bytes body: UnsafeRawBufferPointer, expecting: Digest? = nil) throws(StoreError) -> IngestedBlob {
        try checkWritable()
        let result: IngestResult
        do {
            result = try Ingest.inPlace(body, parameters: config.chunking.parameters, formats: config.formats)
        } catch {
            throw .invalidArgument("cannot chunk the body: \(error)")
        }
        return try storeIngested(result, expecting: expecting, of: "the body") { c in
            UnsafeRawBufferPointer(rebasing: body[Int(c.offset)..<Int(c.offset) + c.length])
        }
    }

    /// The rest of an ingest once `result` is known: checks `expecting`, stores the chunks the
    /// store lacks (their bytes from `bytes`, valid until the next call), commits the blob.
    private func storeIngested(
        _ result: IngestResult, expecting: Digest?, of what: String,
        bytes: (ChunkRef) throws(StoreError) -> UnsafeRawBufferPointer
    ) throws(StoreError) -> IngestedBlob {
        if let expecting, expecting != result.blobDigest {
            throw .blobMismatch(expected: expecting, actual: result.blobDigest)
        }
        let absent = Set(try missing(result.chunks.map(\.digest)))
        var newBytes: UInt64 = 0
        let compressor = ChunkCompressor(codec: config.codec, level: config.level)
        let sampler = CompressibilitySampler()
        sampler.enabled = config.codec != .raw
        var batch: [ChunkInput] = []
        var batchBytes = 0
        var seen = Set<Digest>()
        func flush() throws(StoreError) {
            guard !batch.isEmpty else { return }
            let r = try putChunks(batch)
            if let bad = r.rejected.first {
                throw .corruptData(what: "chunk \(bad.digest) of \(what)", detail: bad.reason)
            }
            batch.removeAll(keepingCapacity: true)
            batchBytes = 0
        }
        for c in result.chunks where absent.contains(c.digest) && seen.insert(c.digest).inserted {
            let n = c.length
            let raw = try bytes(c)
            if sampler.looksCompressible(raw) {
                compressor.compress(raw) { codec, stored in
                    batch.append(ChunkInput(digest: c.digest, codec: codec, rawLength: n, bytes: Array(stored)))
                    batchBytes += stored.count
                }
            } else {
                batch.append(ChunkInput(digest: c.digest, codec: .raw, rawLength: n, bytes: Array(raw)))
                batchBytes += n
            }
            newBytes += UInt64(n)
            if batchBytes >= 4 << 20 { try flush() }
        }
        try flush()
        let recipe = Recipe(
            blobDigest: result.blobDigest, size: result.size,
            chunks: result.chunks.map { RecipeChunk(digest: $0.digest, length: UInt32($0.length)) })
        try commitBucketBlob(recipe, verified: true)
        return IngestedBlob(digest: result.blobDigest, size: result.size, newChunks: seen.count, newBytes: newBytes)
    }

    /// Commits a recipe as a blob under its one-file tree; throws if chunks went missing.
    /// `verified`: its digest was just computed from the same bytes as its chunks' digests, and
    /// those chunks are verified in the store (no second verification pass).
    func commitBucketBlob(_ recipe: Recipe, verified: Bool = false) throws(StoreError) {
        let tree = Store.bucketTree(blob: recipe.blobDigest, size: recipe.size)
        switch try commit(recipes: [recipe], tree: tree, streamed: nil, verified: verified ? [recipe.blobDigest] : []) {
        case .committed: return
        case .missing(let m):
            throw .invalidCommit("\(m.count) chunk(s) of blob \(recipe.blobDigest) vanished while storing it; retry")
        }
    }

    // MARK: - Multipart

    /// Starts a multipart upload; returns its id.
    public func createMultipartUpload(
        _ bucket: String, key: String, contentType: String?, metadata: [String: String]
    ) throws(BucketError) -> MultipartUpload {
        do { try checkWritable() } catch { throw .store(error) }
        let id = SecureRandom.bytes(16).map { String(format: "%02x", $0) }.joined()
        let u = MultipartUpload(
            id: id, bucket: bucket, key: key, contentType: contentType, metadata: metadata, created: Clock.nowMillis())
        try bucketCatalog(write: true) { db in
            guard try Store.bucketRow(db, bucket) != nil else { throw BucketError.noSuchBucket(bucket) }
            try db.execute(
                sql: """
                    INSERT INTO multipart_uploads (id, bucket, key, content_type, metadata, created)
                    VALUES (?, ?, ?, ?, ?, ?)
                    """,
                arguments: [id, bucket, key, contentType, try Store.encodeMetadata(metadata), u.created])
        }
        return u
    }

    /// An upload in progress, or `.noSuchUpload`.
    public func multipartUpload(_ id: String) throws(BucketError) -> MultipartUpload {
        try bucketCatalog { db in
            guard let row = try Row.fetchOne(db, sql: "SELECT * FROM multipart_uploads WHERE id = ?", arguments: [id])
            else { throw BucketError.noSuchUpload(id) }
            return Store.upload(from: row)
        }
    }

    /// Records a part (a committed blob), replacing an earlier part with the same number.
    public func putMultipartPart(_ id: String, _ part: MultipartPart) throws(BucketError) {
        try bucketCatalog(write: true) { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM multipart_uploads WHERE id = ?", arguments: [id]) == true
            else { throw BucketError.noSuchUpload(id) }
            try db.execute(
                sql: """
                    INSERT INTO multipart_parts (upload, part, blob, size, etag, mtime)
                    VALUES (?, ?, ?, ?, ?, ?)
                    ON CONFLICT (upload, part) DO UPDATE SET
                      blob = excluded.blob, size = excluded.size, etag = excluded.etag, mtime = excluded.mtime
                    """,
                arguments: [id, part.number, part.blob.data, Int64(part.size), part.etag, part.mtime])
        }
    }

    /// Parts of an upload, by number.
    public func multipartParts(_ id: String) throws(BucketError) -> [MultipartPart] {
        try bucketCatalog { db in
            guard try Bool.fetchOne(db, sql: "SELECT 1 FROM multipart_uploads WHERE id = ?", arguments: [id]) == true
            else { throw BucketError.noSuchUpload(id) }
            return try Row.fetchAll(db, sql: "SELECT * FROM multipart_parts WHERE upload = ? ORDER BY part", arguments: [id])
                .compactMap { row -> MultipartPart? in
                    guard let blob = Digest(data: row["blob"]) else { return nil }
                    let size: Int64 = row["size"]
                    return MultipartPart(
                        number: row["part"], blob: blob, size: UInt64(size), etag: row["etag"], mtime: row["mtime"])
                }
        }
    }

    /// Uploads in progress in a bucket, by key then creation.
    public func multipartUploads(_ bucket: String, prefix: String = "") throws(BucketError) -> [MultipartUpload] {
        try bucketCatalog { db in
            guard try Store.bucketRow(db, bucket) != nil else { throw BucketError.noSuchBucket(bucket) }
            return try Row.fetchAll(
                db, sql: "SELECT * FROM multipart_uploads WHERE bucket = ? ORDER BY key, created", arguments: [bucket]
            ).map(Store.upload(from:)).filter { $0.key.hasPrefix(prefix) }
        }
    }

    /// Drops an upload and its parts (their blobs become collectable after the grace period).
    public func abortMultipartUpload(_ id: String) throws(BucketError) {
        try bucketCatalog(write: true) { db in
            try db.execute(sql: "DELETE FROM multipart_uploads WHERE id = ?", arguments: [id])
            guard db.changesCount > 0 else { throw BucketError.noSuchUpload(id) }
            try db.execute(sql: "DELETE FROM multipart_parts WHERE upload = ?", arguments: [id])
        }
    }

    /// Completes an upload: the blob is the concatenation of the chosen parts (their recipes'
    /// chunks, no bytes copied; the blob digest is computed by streaming the chunks once, which
    /// is also the commit's verification),
    /// committed and put at the upload's key. `parts` are (number, ETag) in ascending order.
    public func completeMultipartUpload(
        _ id: String, parts: [(number: Int, etag: String)], etag: String, condition: BucketWriteCondition = .none
    ) throws(BucketError) -> BucketObject {
        let upload = try multipartUpload(id)
        let stored = Dictionary(try multipartParts(id).map { ($0.number, $0) }, uniquingKeysWith: { a, _ in a })
        guard !parts.isEmpty else { throw .invalidPart("a multipart upload needs at least one part") }
        var previous = 0
        var chunks: [RecipeChunk] = []
        var size: UInt64 = 0
        for p in parts {
            guard p.number > previous else { throw .invalidPart("part numbers must be in ascending order") }
            previous = p.number
            guard let s = stored[p.number], s.etag == p.etag else {
                throw .invalidPart("part \(p.number) was not uploaded with ETag \(p.etag)")
            }
            let recipe: Recipe?
            do { recipe = try self.recipe(forBlob: s.blob) } catch { throw .store(error) }
            guard let recipe else { throw .invalidPart("part \(p.number)'s blob is gone; upload it again") }
            chunks += recipe.chunks
            size += recipe.size
        }
        do {
            // One pass: the parts' chunks, each verified, hashed into the whole blob's digest (the
            // records read in runs); the commit then skips its own verification pass over the same bytes.
            let whole = Recipe(blobDigest: try hashChunksInRuns(chunks), size: size, chunks: chunks)
            try commitBucketBlob(whole, verified: true)
            let object = BucketObject(
                key: upload.key, blob: whole.blobDigest, size: size, etag: etag, contentType: upload.contentType,
                metadata: upload.metadata)
            try putBucketObject(upload.bucket, object, condition: condition)
            do { try abortMultipartUpload(id) } catch {
                // .noSuchUpload: a concurrent completion of the same upload (a client's retry)
                // removed it first.
                guard case .noSuchUpload = error else { throw error }
            }
            return object
        } catch {
            throw Store.bucketError(error)
        }
    }

    /// Aborts uploads started before `cutoff` (milliseconds since the epoch): abandoned uploads
    /// stop holding their parts' chunks. Returns how many were removed.
    @discardableResult
    public func expireMultipartUploads(startedBefore cutoff: Int64) throws(BucketError) -> Int {
        try bucketCatalog(write: true) { db in
            let ids = try String.fetchAll(db, sql: "SELECT id FROM multipart_uploads WHERE created < ?", arguments: [cutoff])
            for id in ids {
                try db.execute(sql: "DELETE FROM multipart_parts WHERE upload = ?", arguments: [id])
                try db.execute(sql: "DELETE FROM multipart_uploads WHERE id = ?", arguments: [id])
            }
            return ids.count
        }
    }

    static func upload(from row: Row) -> MultipartUpload {
        MultipartUpload(
            id: row["id"], bucket: row["bucket"], key: row["key"], contentType: row["content_type"],
            metadata: decodeMetadata(row["metadata"]), created: row["created"])
    }
}
