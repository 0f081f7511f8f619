import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove ls s3://BUCKET[/PREFIX]`: the keys of a bucket (BUCKET_KEYS), for `LsCommand`.
enum LsBucketKeys {
    /// Prints the keys of `path` starting with its prefix, in UTF-8 byte order.
    static func run(_ path: BucketPath, connection conn: Connection, json: Bool) throws(ClientError) {
        let keys = try Remote(connection: conn).bucketKeys(path.bucket, prefix: path.prefix)
        if json {
            printJSON(
                keys.map {
                    [
                        "key": $0.key, "size": $0.size, "etag": $0.etag, "modified": isoTime($0.modifiedAt),
                        "modifiedMillis": $0.modifiedAt, "blob": $0.blob.prefixed,
                    ] as [String: Any]
                })
            return
        }
        for k in keys { print("\(isoTime(k.modifiedAt))\t\(k.size)\t\(k.key)") }
    }
}
