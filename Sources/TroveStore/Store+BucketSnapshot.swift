import Foundation
import TroveCore

/// What operators see of buckets beyond S3: per-bucket counts, and the tree a snapshot makes of
/// the keys under a prefix (`trove snapshot`, docs/S3.md).
extension Store {
    /// Every bucket, by name, with its key count and the sum of its objects' sizes.
    public func bucketSummaries() throws(BucketError) -> [BucketSummary] {
        try bucketCatalog { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT b.name, b.created, b.write_once, COUNT(o.key) AS keys, COALESCE(SUM(o.size), 0) AS bytes
                    FROM buckets b LEFT JOIN bucket_objects o ON o.bucket = b.name
                    GROUP BY b.name ORDER BY b.name
                    """
            ).map {
                BucketSummary(
                    info: BucketInfo(name: $0["name"], created: $0["created"], writeOnce: ($0["write_once"] as Int) != 0),
                    keys: UInt64(max(0, $0["keys"] as Int64)), bytes: UInt64(max(0, $0["bytes"] as Int64)))
            }
        }
    }

    /// The tree holding the keys of `bucket` under the directory `prefix` (`data/v2` and
    /// `data/v2/` both mean the keys starting with `data/v2/`; empty: every key), each as a file
    /// at its key minus the prefix, mode 0644. Zero-length keys ending in `/` (the directory
    /// markers some clients write) are left out. Read in one transaction: a consistent view.
    /// Throws `.invalidSnapshot` when a key is no safe relative path (`a//b`, `../x`), when a key
    /// is both a file and a directory (`a` and `a/b`), or when no key is under the prefix.
    public func bucketTree(_ bucket: String, prefix rawPrefix: String) throws(BucketError) -> Tree {
        let prefix = rawPrefix.isEmpty || rawPrefix.hasSuffix("/") ? rawPrefix : rawPrefix + "/"
        let objects: [BucketObject] = try bucketCatalog { db in
            guard try Store.bucketRow(db, bucket) != nil else { throw BucketError.noSuchBucket(bucket) }
            return try Store.objects(db, bucket, prefix: prefix, after: nil, limit: nil)
        }
        var entries: [TreeEntry] = []
        entries.reserveCapacity(objects.count)
        for o in objects {
            let path = String(o.key.dropFirst(prefix.count))
            if path.hasSuffix("/"), o.size == 0 { continue }
            do { try TreePath.validate(path) } catch {
                throw .invalidSnapshot(
                    "key '\(o.key)' of bucket \(bucket) is not a file path (\(error)); rename it or snapshot "
                        + "a prefix without it")
            }
            entries.append(.file(path, blob: o.blob, size: o.size))
        }
        guard !entries.isEmpty else {
            throw .invalidSnapshot("no keys under \(bucket)/\(prefix) (a prefix names a directory: data, not dat)")
        }
        let tree = Tree(entries: entries)
        do { try tree.validate() } catch {
            throw .invalidSnapshot("the keys under \(bucket)/\(prefix) do not make a tree: \(error)")
        }
        return tree
    }
}
