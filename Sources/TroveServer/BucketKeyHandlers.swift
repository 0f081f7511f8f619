import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Bucket keys over the binary protocol (PROTOCOL.md §11): BIND_KEY, LOOKUP_KEY. The access
/// check (scope, and the prefix on `BUCKET/KEY`) ran in the route, which also validated
/// `BUCKET/KEY` as a name.
extension RequestRouter {
    func bindKey(_ m: Message.BindKey, _ caller: Caller) throws(ServerError) -> Message.KeyBound {
        if let lease = m.lease {
            let session = try upload(lease)
            try s { () throws(StoreError) in try session.touch() }
        }
        let (object, created) = try b { () throws(BucketError) in
            try store.bindBucketKey(m.bucket, key: m.key, blob: m.blob, createBucket: m.createBucket)
        }
        if created {
            logger.info(
                "bucket key bound",
                metadata: ["key": "\(m.bucket)/\(m.key)", "blob": "\(m.blob)", "by": "\(caller.actor)"])
        }
        return .init(bucket: m.bucket, key: m.key, blob: object.blob, size: object.size, created: created)
    }

    func lookupKey(_ m: Message.LookupKey, _: Caller) throws(ServerError) -> Message.KeyInfo {
        let object = try b { () throws(BucketError) in try store.bucketObject(m.bucket, m.key) }
        guard let object else {
            throw ServerError(.notFound, "key \(m.key) does not exist in bucket \(m.bucket)")
        }
        return .init(bucket: m.bucket, key: m.key, blob: object.blob, size: object.size, mtime: object.mtime)
    }
}
