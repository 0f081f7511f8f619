import Synchronization
import TroveCore
import TroveProtocol
import TroveStore

/// Buckets for operators (PROTOCOL.md §11, docs/S3.md): BUCKET_LIST, BUCKET_CREATE, BUCKET_RM,
/// BUCKET_KEYS and SNAPSHOT. Object `KEY` of bucket `BUCKET` is the name `BUCKET/KEY` for a
/// token's prefixes, as on the S3 listener.
extension RequestRouter {
    func bucketList(_: Message.BucketList, _ caller: Caller) throws(ServerError) -> Response {
        let all = try b { () throws(BucketError) in try store.bucketSummaries() }
        let visible = all.filter { caller.grant.sees(bucket: $0.info.name) }.map(Self.record)
        return .stream(ListStream(visible, budget: listBudget) { .buckets(.init(buckets: $0)) })
    }

    func bucketCreate(_ m: Message.BucketCreate, _ caller: Caller) throws(ServerError) -> Message.BucketCreated {
        let info = try b { () throws(BucketError) in try store.createBucket(m.bucket, writeOnce: m.writeOnce) }
        logger.info(
            "bucket created", metadata: ["bucket": "\(m.bucket)", "writeOnce": "\(m.writeOnce)", "by": "\(caller.actor)"])
        return .init(
            bucket: BucketRecord(name: info.name, createdAt: info.created, writeOnce: info.writeOnce, keys: 0, bytes: 0))
    }

    func bucketRemove(_ m: Message.BucketRemove, _ caller: Caller) throws(ServerError) -> Message.BucketRemoved {
        try b { () throws(BucketError) in try store.deleteBucket(m.bucket) }
        logger.info("bucket deleted", metadata: ["bucket": "\(m.bucket)", "by": "\(caller.actor)"])
        return .init(bucket: m.bucket)
    }

    func bucketKeys(_ m: Message.BucketKeys, _ caller: Caller) throws(ServerError) -> Response {
        guard caller.grant.sees(bucket: m.bucket) else {
            throw ServerError(
                .permissionDenied, "token '\(caller.actor)' may not see bucket \(m.bucket) (outside its prefixes)")
        }
        // The bucket must exist (an empty page from a missing bucket would look like no keys).
        _ = try b { () throws(BucketError) in try store.listBucketObjects(m.bucket, prefix: m.prefix, limit: 0) }
        let pages = KeyPages(router: self, request: m, grant: caller.grant)
        return .stream(
            ListStream(budget: listBudget, source: { () throws(ServerError) in try pages.next() }) {
                .keyList(.init(keys: $0))
            })
    }

    func snapshot(_ m: Message.Snapshot, _ caller: Caller) throws(ServerError) -> Message.SnapshotOK {
        try validTag(m.version, "version")
        let scope = m.prefix.isEmpty ? m.bucket : m.bucket + "/" + m.prefix
        guard caller.grant.covers(name: scope.hasSuffix("/") ? String(scope.dropLast()) : scope) else {
            throw ServerError(
                .permissionDenied, "token '\(caller.actor)' may not read \(scope) (outside its prefixes)")
        }
        let tree = try b { () throws(BucketError) in try store.bucketTree(m.bucket, prefix: m.prefix) }
        // The blobs are committed (keys name only committed blobs): no recipe or chunk to send.
        let outcome = try s { () throws(StoreError) in try store.commit(recipes: [], tree: tree) }
        guard case .committed(let digest) = outcome else {
            throw ServerError(
                .busy, "objects under \(scope) were deleted while the snapshot was taken; run it again")
        }
        let (info, created) = try registerVersion(
            name: m.name, version: m.version, tree: digest, message: m.message, metadata: m.metadata,
            parents: m.parents, caller)
        let files = tree.entries.count
        return .init(
            name: info.name, version: info.version, tree: info.tree, createdAt: info.created, created: created,
            files: UInt64(files), totalSize: tree.totalSize)
    }

    static func record(_ s: BucketSummary) -> BucketRecord {
        BucketRecord(
            name: s.info.name, createdAt: s.info.created, writeOnce: s.info.writeOnce, keys: s.keys, bytes: s.bytes)
    }

    /// Runs a bucket operation of the store, mapping its failure to a protocol error.
    func b<T>(_ body: () throws(BucketError) -> T) throws(ServerError) -> T {
        do { return try body() } catch { throw ServerError(error) }
    }
}

extension ServerError {
    /// Maps a bucket operation's failure to the protocol's error codes.
    init(_ e: BucketError) {
        switch e {
        case .store(let s): self.init(s)
        case .noSuchBucket, .noSuchKey, .noSuchUpload: self.init(.notFound, e.description)
        case .bucketExists, .bucketNotEmpty: self.init(.conflict, e.description)
        case .invalidBucketName, .invalidPart, .invalidSnapshot: self.init(.badRequest, e.description)
        case .preconditionFailed: self.init(.staleExpectation, e.description)
        case .writeOnce: self.init(.permissionDenied, e.description)
        }
    }
}

extension Grant {
    /// Whether some of `bucket` is visible: the bucket is covered, or a prefix lies inside it.
    func sees(bucket: String) -> Bool {
        covers(name: bucket) || prefixes.contains { $0.hasPrefix(bucket + "/") }
    }
}

/// Walks a bucket's keys page by page for BUCKET_KEYS: keeps those the token may see, stops
/// after `limit` keys (0 = all). Memory is bounded by a page and a frame, whatever the bucket's size.
final class KeyPages: Sendable {
    private struct Walk {
        var remaining: Int
        var after: String?
        var done = false
    }

    static let pageSize = 1000
    let router: RequestRouter
    let request: Message.BucketKeys
    let grant: Grant
    private let walk: Mutex<Walk>

    init(router: RequestRouter, request: Message.BucketKeys, grant: Grant) {
        self.router = router
        self.request = request
        self.grant = grant
        walk = Mutex(Walk(remaining: request.limit > 0 ? Int(request.limit) : Int.max, after: request.after))
    }

    /// The next keys to send; empty at the end.
    func next() throws(ServerError) -> [BucketKeyRecord] {
        try walk.withLock { (w) throws(ServerError) -> [BucketKeyRecord] in
            let wholeBucket = grant.covers(name: request.bucket)
            while !w.done && w.remaining > 0 {
                let after = w.after
                let page = try router.b { () throws(BucketError) in
                    try router.store.listBucketObjects(
                        request.bucket, prefix: request.prefix, after: after, limit: KeyPages.pageSize)
                }
                w.done = page.count < KeyPages.pageSize
                guard let last = page.last else { break }
                w.after = last.key
                let visible = page.filter { wholeBucket || grant.covers(name: request.bucket + "/" + $0.key) }
                    .prefix(w.remaining)
                w.remaining -= visible.count
                if visible.isEmpty { continue }
                return visible.map {
                    BucketKeyRecord(key: $0.key, size: $0.size, etag: $0.etag, modifiedAt: $0.mtime, blob: $0.blob)
                }
            }
            return []
        }
    }
}
