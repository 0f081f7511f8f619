import Foundation
import Synchronization
import TroveCore
import TroveStore

/// Copies a local store's packs (`ROOT/packs/ab/<name>.pack`) and objects (`ROOT/objects/ab/…`)
/// to an object store under the keys `S3PackStorage` and `S3ObjectStorage` use (`troved migrate`,
/// docs/SCALING.md). Idempotent and resumable: a key that already holds the same size and
/// SHA-256 is skipped; a new one is written once (`If-None-Match: *`, the payload's SHA-256
/// checked by the store and kept as `x-amz-meta-sha256`) and then verified with a HEAD. A key that
/// holds other content stops the migration. The local files are only read.
public struct StoreMigration: Sendable {
    public let client: S3Client
    public let prefix: String
    public let root: String
    /// Uploads at a time.
    public let parallelism: Int

    public init(client: S3Client, prefix: String, root: String, parallelism: Int = 4) {
        self.client = client
        self.prefix = prefix
        self.root = root
        self.parallelism = max(1, parallelism)
    }

    /// What a run did.
    public struct Report: Sendable, Equatable {
        public var packsUploaded = 0
        public var packsPresent = 0
        public var objectsUploaded = 0
        public var objectsPresent = 0
        public var bytesUploaded: Int64 = 0
        public init() {}
    }

    /// One file to copy: its path and its key.
    struct Item: Sendable {
        let path: String
        let key: String
        let isPack: Bool
    }

    /// Copies every pack and object file; throws the first failure (after the uploads under way
    /// finish; a re-run resumes).
    public func run() throws -> Report {
        let packs = try LocalPackStorage(directory: root + "/packs").list().map { name in
            Item(
                path: root + "/packs/" + name.prefix(2) + "/" + name + ".pack",
                key: prefix + "packs/" + name.prefix(2) + "/" + name + ".pack", isPack: true)
        }
        let local = LocalObjectStorage(directory: root + "/objects", tmpDirectory: root + "/tmp")
        let listing = try local.list(shard: nil)
        if let stray = listing.strays.first {
            throw StoreError.corruptData(what: root + "/" + stray, detail: "not an object file; move it away and run again")
        }
        let objects = listing.digests.map { d in
            Item(path: local.path(d), key: prefix + "objects/" + d.hex.prefix(2) + "/" + d.hex, isPack: false)
        }
        let items = packs + objects
        let state = Mutex((report: Report(), failure: String?.none, next: 0))
        DispatchQueue.concurrentPerform(iterations: parallelism) { _ in
            while true {
                guard
                    let item = state.withLock({ s -> Item? in
                        guard s.failure == nil, s.next < items.count else { return nil }
                        s.next += 1
                        return items[s.next - 1]
                    })
                else { return }
                do {
                    let uploaded = try copy(item)
                    state.withLock { s in
                        switch (item.isPack, uploaded) {
                        case (true, nil): s.report.packsPresent += 1
                        case (true, _): s.report.packsUploaded += 1
                        case (false, nil): s.report.objectsPresent += 1
                        case (false, _): s.report.objectsUploaded += 1
                        }
                        s.report.bytesUploaded += Int64(uploaded ?? 0)
                    }
                } catch {
                    state.withLock { if $0.failure == nil { $0.failure = "\(item.path): \(error)" } }
                }
            }
        }
        let (report, failure, _) = state.withLock { $0 }
        if let failure { throw MigrationError(description: failure + "; fix it and run troved migrate again (it resumes)") }
        return report
    }

    /// Copies one file unless its key holds it already; the bytes uploaded, nil when present.
    func copy(_ item: Item) throws -> Int? {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: item.path)))
        let sha = SHA256.hash(bytes).hex
        if let info = try client.head(key: item.key) {
            if try same(info, bytes, sha) { return nil }
            throw MigrationError(
                description: "\(item.key) already holds other content (\(info.size) bytes, not \(bytes.count)); "
                    + "is another store using this bucket and prefix?")
        }
        do { try client.putIfAbsent(key: item.key, bytes: bytes, metadata: ["sha256": sha]) } catch .alreadyExists {
            // Written meanwhile (another migration): the check below decides.
        }
        guard let info = try client.head(key: item.key), try same(info, bytes, sha) else {
            throw MigrationError(description: "\(item.key) does not hold the uploaded bytes after the PUT")
        }
        return bytes.count
    }

    /// Whether the object `info` describes holds `bytes` (by its recorded SHA-256, else by a GET).
    func same(_ info: S3ObjectInfo, _ bytes: [UInt8], _ sha: String) throws -> Bool {
        guard info.size == bytes.count else { return false }
        if let recorded = info.metadata["sha256"] { return recorded == sha }
        return SHA256.hash(try client.get(key: info.key)).hex == sha
    }
}

/// A migration that could not finish; says what to do.
public struct MigrationError: Error, CustomStringConvertible, Sendable {
    public let description: String
}
