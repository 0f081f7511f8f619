import NIOCore
import TroveCore

extension Message {
    /// Example messages covering every message type and every variant of every tagged field
    /// (optional present and absent, each metadata value tag, each expectation and scrub mode).
    /// Used by the round-trip tests, the fuzz seed corpus and the examples in PROTOCOL.md.
    public static var examples: [Message] {
        let d1 = SHA256.hash(Array("chunk one".utf8))
        let d2 = SHA256.hash(Array("chunk two".utf8))
        let tree = SHA256.hash(Array("tree".utf8))
        let lease = LeaseID(high: 0x0123_4567_89AB_CDEF, low: 0xFEDC_BA98_7654_3210)
        let raw = ByteBuffer(bytes: Array(repeating: 0x61, count: 100))
        let packed = ByteBuffer(bytes: [1, 2, 3, 4, 5])
        let meta = [
            MetadataEntry(key: "rows", value: .integer(1_000_000)),
            MetadataEntry(key: "source", value: .string("git:abc123")),
            MetadataEntry(key: "auc", value: .number(0.9731)),
            MetadataEntry(key: "validated", value: .bool(true)),
        ]
        let info = VersionInfo(
            name: "models/churn", version: "1.4.0", tree: tree, createdAt: 1_767_225_600_000, creator: "ci",
            message: "fine-tune on November data", metadata: meta, parents: ["datasets/customers:2026-11-01"],
            retired: false, aliases: ["prod", "staging"])
        let bare = VersionInfo(
            name: "a", version: "1", tree: tree, createdAt: -1, creator: nil, message: "", metadata: [],
            parents: [], retired: true, aliases: [])
        return [
            .hello(Hello(client: "trove/0.1.0", codecs: [.zstd, .lz4])),
            .helloOK(
                HelloOK(
                    server: "troved/0.1.0", storeID: "6f1c2a4e-5b7d-4c1e-9a3f-0d2e8b7c6a51",
                    chunkMin: 16 << 10,
                    chunkAvg: 64 << 10, chunkMax: 256 << 10, normalization: 1, preferredCodec: .zstd,
                    codecs: [.raw, .zstd, .lz4], limits: .default, serverNonce: Array(0..<32),
                    authRequired: true, formats: .auto)),
            .helloOK(
                HelloOK(
                    server: "troved/0.1.0", storeID: "6f1c2a4e-5b7d-4c1e-9a3f-0d2e8b7c6a51",
                    chunkMin: 16 << 10, chunkAvg: 64 << 10, chunkMax: 256 << 10, normalization: 1,
                    preferredCodec: .zstd, codecs: [.raw], limits: .default, serverNonce: Array(0..<32),
                    authRequired: false, formats: FormatPolicy(formats: [.tar]))),
            .auth(Auth(tokenName: "ci", clientNonce: Array(32..<64), proof: d1)),
            .authOK(
                AuthOK(tokenName: "ci", scope: .write, prefixes: ["models", "datasets/"], serverProof: d2)),
            .ping(Ping(nonce: 42)),
            .pong(Pong(nonce: 42)),
            .error(
                ErrorReply(
                    code: .notFound, retryable: false,
                    message: "models/churn:9.9 does not exist; run `trove log models/churn`")),
            .error(ErrorReply(code: .unknown(999), retryable: true, message: "")),
            .beginPush(BeginPush(name: "models/churn", resume: nil)),
            .beginPush(BeginPush(name: "models/churn", resume: lease)),
            .pushBegun(PushBegun(lease: lease, expiresAt: 1_767_229_200_000, resumed: true)),
            .has(Has(lease: lease, kind: .chunk, digests: [d1, d2])),
            .has(Has(lease: lease, kind: .tree, digests: [])),
            .hasResult(
                HasResult(
                    present: PresenceBitmap([true, false, true, true, false, false, false, true, true]))),
            .hasResult(HasResult(present: PresenceBitmap([]))),
            .putChunks(
                PutChunks(
                    lease: lease,
                    chunks: [
                        ChunkPayload(digest: d1, rawLength: 100, codec: .raw, data: raw),
                        ChunkPayload(digest: d2, rawLength: 4096, codec: .zstd, data: packed),
                    ])),
            .putChunksOK(PutChunksOK(stored: 1, alreadyPresent: 1)),
            .blobOpen(BlobOpen(lease: lease, stream: 1)),
            .blobOpened(BlobOpened(stream: 1)),
            .blobChunks(
                BlobChunks(
                    lease: lease, stream: 1, position: 0,
                    chunks: [
                        .data(ChunkPayload(digest: d1, rawLength: 100, codec: .raw, data: raw)),
                        .stored(digest: d2, rawLength: 65_536),
                        .data(ChunkPayload(digest: d2, rawLength: 4096, codec: .zstd, data: packed)),
                    ])),
            .blobChunks(BlobChunks(lease: lease, stream: 7, position: 1234, chunks: [])),
            .blobChunksOK(BlobChunksOK(stored: 2, alreadyPresent: 1)),
            .blobClose(BlobClose(lease: lease, stream: 1, blob: tree, size: 69_732, chunks: 3)),
            .blobClosed(BlobClosed(verified: true)),
            .blobClosed(BlobClosed(verified: false)),
            .blobSeal(BlobSeal(lease: lease, stream: 2, size: 69_732, chunks: 3)),
            .blobSealed(BlobSealed(blob: tree)),
            .putObjects(
                PutObjects(
                    lease: lease,
                    parts: [
                        ObjectPart(kind: .recipe, digest: d1, totalLength: 5, offset: 0, data: packed),
                        ObjectPart(kind: .tree, digest: tree, totalLength: 1000, offset: 995, data: packed),
                    ])),
            .putObjectsOK(PutObjectsOK(completed: 2)),
            .commit(Commit(lease: lease, tree: tree)),
            .commitOK(CommitOK(tree: tree, files: 3, totalSize: 10 << 30)),
            .commitMissing(CommitMissing(chunks: [d1], objects: [ObjectRef(kind: .recipe, digest: d2)])),
            .createVersion(
                CreateVersion(
                    lease: lease, name: "models/churn", version: "1.4.0", tree: tree, message: "m",
                    metadata: meta,
                    parents: ["datasets/customers:2026-11-01", "models/base@" + d1.prefixed])),
            .createVersion(
                CreateVersion(
                    lease: nil, name: "x", version: "1", tree: tree, message: "", metadata: [], parents: [])),
            .versionCreated(
                VersionCreated(
                    name: "models/churn", version: "1.4.0", tree: tree, createdAt: 1_767_225_600_000,
                    created: true)),
            .endPush(EndPush(lease: lease)),
            .pushEnded(PushEnded(released: true)),
            .queryVersions(
                QueryVersions(
                    prefix: "models",
                    conditions: [
                        MetadataCondition(key: "auc", op: .ge, value: .number(0.9)),
                        MetadataCondition(key: "validated", op: .eq, value: .bool(true)),
                    ], sort: VersionSort(key: "auc", descending: true), includeRetired: false, limit: 0)),
            .queryVersions(
                QueryVersions(prefix: "", conditions: [], sort: nil, includeRetired: true, limit: 5)),
            .getRef(GetRef(ref: "models/churn:prod")),
            .getRef(GetRef(ref: "models/churn:prod@2026-10-15T00:00:00Z")),
            .refInfo(RefInfo(name: "models/churn", tree: tree, version: info, resolvedAlias: "prod")),
            .refInfo(RefInfo(name: "models/churn", tree: tree, version: nil, resolvedAlias: nil)),
            .getObjects(GetObjects(kind: .recipe, digests: [d1, d2])),
            .objects(
                Objects(
                    parts: [ObjectPart(kind: .tree, digest: tree, totalLength: 5, offset: 0, data: packed)],
                    missing: [ObjectRef(kind: .recipe, digest: d1)])),
            .getChunks(GetChunks(digests: [d1, d2])),
            .chunks(
                Chunks(
                    chunks: [ChunkPayload(digest: d1, rawLength: 100, codec: .raw, data: raw)], missing: [d2])
            ),
            .listVersions(
                ListVersions(
                    prefix: "models", filters: [MetadataFilter(key: "rows", value: "1000000")],
                    includeRetired: false, limit: 0)),
            .log(Log(name: "models/churn", includeRetired: true, limit: 20)),
            .versionList(VersionList(versions: [info, bare])),
            .stat(Stat()),
            .stats(
                Stats(
                    storeID: "6f1c2a4e", logicalBytes: 300 << 30, uniqueBytes: 120 << 30,
                    storedBytes: 100 << 30,
                    chunkCount: 1_900_000, packCount: 1600, objectCount: 5000, versionCount: 40,
                    aliasCount: 6,
                    chunkMin: 16 << 10, chunkAvg: 64 << 10, chunkMax: 256 << 10, normalization: 1)),
            .aliasSet(
                AliasSet(name: "models/churn", alias: "prod", version: "1.4.0", expect: .version("1.3.2"))),
            .aliasSet(AliasSet(name: "models/churn", alias: "prod", version: "1.4.0", expect: .absent)),
            .aliasSet(AliasSet(name: "models/churn", alias: "prod", version: "1.4.0", expect: .any)),
            .aliasSetOK(AliasSetOK(name: "models/churn", alias: "prod", version: "1.4.0", previous: "1.3.2")),
            .aliasList(AliasList(name: "models/churn")),
            .aliases(
                Aliases(aliases: [
                    AliasInfo(alias: "prod", version: "1.4.0", movedAt: 1_767_225_600_000, movedBy: "release")
                ])),
            .aliasHistory(AliasHistory(name: "models/churn", alias: "prod", limit: 0)),
            .aliasHistoryList(
                AliasHistoryList(events: [
                    AliasEvent(
                        alias: "prod", from: "1.3.2", to: "1.4.0", at: 1_767_225_600_000, by: "release"),
                    AliasEvent(alias: "prod", from: nil, to: "1.3.2", at: 1_767_000_000_000, by: nil),
                ])),
            .aliasRemove(AliasRemove(name: "models/churn", alias: "staging", expect: .any)),
            .aliasRemoved(AliasRemoved(name: "models/churn", alias: "staging", previous: "1.4.0")),
            .retire(Retire(name: "models/churn", version: "1.0.0", force: true)),
            .retired(Retired(name: "models/churn", version: "1.0.0", detachedAliases: ["old"])),
            .gc(GC(dryRun: true, graceSeconds: 0)),
            .gc(GC(dryRun: false, graceSeconds: nil)),
            .gcReport(GCReport(status: .clean, json: #"{"bytesFreed":0}"#)),
            .scrub(Scrub(mode: .full, rateBytesPerSecond: 0, repair: false)),
            .scrub(Scrub(mode: .slice(index: 3, count: 7), rateBytesPerSecond: 50 << 20, repair: true)),
            .scrub(Scrub(mode: .sample(partsPerMillion: 10_000), rateBytesPerSecond: 0, repair: false)),
            .scrubReport(ScrubReport(status: .damageFound, json: #"{"damaged":[]}"#)),
            .leaseList(LeaseList()),
            .leases(
                Leases(
                    leases: [
                        LeaseRecord(
                            lease: lease, name: "models/churn", created: 1_767_225_600_000,
                            expires: 1_767_229_200_000)
                    ], truncated: false)),
            .leases(Leases(leases: [], truncated: true)),
            .leaseEnd(LeaseEnd(lease: lease)),
            .leaseEnded(LeaseEnded(existed: true)),
            .bucketList(BucketList()),
            .buckets(
                Buckets(buckets: [
                    BucketRecord(
                        name: "dvc", createdAt: 1_767_225_600_000, writeOnce: false, keys: 1500, bytes: 3 << 30),
                    BucketRecord(name: "backups", createdAt: -1, writeOnce: true, keys: 0, bytes: 0),
                ])),
            .bucketCreate(BucketCreate(bucket: "backups", writeOnce: true)),
            .bucketCreated(
                BucketCreated(
                    bucket: BucketRecord(
                        name: "backups", createdAt: 1_767_225_600_000, writeOnce: true, keys: 0, bytes: 0))),
            .bucketRemove(BucketRemove(bucket: "scratch")),
            .bucketRemoved(BucketRemoved(bucket: "scratch")),
            .bucketKeys(BucketKeys(bucket: "dvc", prefix: "files/md5/", after: "files/md5/0a", limit: 1000)),
            .bucketKeys(BucketKeys(bucket: "dvc", prefix: "", after: nil, limit: 0)),
            .keyList(
                KeyList(keys: [
                    BucketKeyRecord(
                        key: "files/md5/0a/1b2c", size: 1 << 20, etag: "9e107d9d372bb6826bd81d3542a419d6",
                        modifiedAt: 1_767_225_600_000, blob: d1),
                    BucketKeyRecord(key: "big.bin", size: 0, etag: "c4ca4238a0b923820dcc509a6f75849b-3",
                        modifiedAt: -1, blob: d2),
                ])),
            .snapshot(
                Snapshot(
                    bucket: "mlflow", prefix: "experiments/churn/run-7/artifacts/model", name: "models/churn",
                    version: "1.5.0", message: "from MLflow run 7", metadata: meta,
                    parents: ["datasets/customers:2026-11-01"])),
            .snapshot(
                Snapshot(
                    bucket: "dvc", prefix: "", name: "datasets/raw", version: "1", message: "", metadata: [],
                    parents: [])),
            .snapshotOK(
                SnapshotOK(
                    name: "models/churn", version: "1.5.0", tree: tree, createdAt: 1_767_225_600_000,
                    created: true, files: 3, totalSize: 5 << 20)),
            .bindKey(
                BindKey(
                    lease: lease, bucket: "lfs-churn", key: "objects/\(d1.hex)", blob: d1, createBucket: true)
            ),
            .bindKey(
                BindKey(
                    lease: nil, bucket: "lfs-churn", key: "objects/\(d2.hex)", blob: d2, createBucket: false)),
            .keyBound(
                KeyBound(
                    bucket: "lfs-churn", key: "objects/\(d1.hex)", blob: d1, size: 64 << 20, created: true)),
            .lookupKey(LookupKey(bucket: "lfs-churn", key: "objects/\(d1.hex)")),
            .keyInfo(
                KeyInfo(
                    bucket: "lfs-churn", key: "objects/\(d1.hex)", blob: d1, size: 64 << 20,
                    mtime: 1_767_225_600_000)),
        ]
    }
}
