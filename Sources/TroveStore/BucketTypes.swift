import Foundation
import TroveCore

/// A bucket: a mutable map from key to object (see Store+Buckets.swift).
public struct BucketInfo: Sendable, Equatable {
    public var name: String
    /// Creation time, milliseconds since the epoch.
    public var created: Int64
    /// A key, once written, can be neither overwritten nor deleted.
    public var writeOnce: Bool
}

/// A bucket with the number of its keys and the sum of their sizes.
public struct BucketSummary: Sendable, Equatable {
    public var info: BucketInfo
    public var keys: UInt64
    public var bytes: UInt64
}

/// One key of a bucket: a committed blob and what S3 keeps beside it.
public struct BucketObject: Sendable, Equatable {
    public var key: String
    /// SHA-256 of the content (a committed blob).
    public var blob: Digest
    public var size: UInt64
    /// The ETag without quotes: hex MD5 for a single-part upload, `HEX-N` for multipart.
    public var etag: String
    public var contentType: String?
    /// User metadata (`x-amz-meta-*`, names lowercased, without the prefix).
    public var metadata: [String: String]
    /// Last modification, milliseconds since the epoch.
    public var mtime: Int64

    public init(
        key: String, blob: Digest, size: UInt64, etag: String, contentType: String? = nil,
        metadata: [String: String] = [:], mtime: Int64 = Clock.nowMillis()
    ) {
        self.key = key
        self.blob = blob
        self.size = size
        self.etag = etag
        self.contentType = contentType
        self.metadata = metadata
        self.mtime = mtime
    }
}

/// What a write of a key requires of the key's current state.
public enum BucketWriteCondition: Sendable, Equatable {
    case none
    /// `If-None-Match: *`: the key must not exist.
    case absent
    /// `If-Match: ETAG`: the key must exist with this ETag.
    case etag(String)
}

/// A multipart upload in progress.
public struct MultipartUpload: Sendable, Equatable {
    public var id: String
    public var bucket: String
    public var key: String
    public var contentType: String?
    public var metadata: [String: String]
    public var created: Int64
}

/// One uploaded part of a multipart upload (a committed blob).
public struct MultipartPart: Sendable, Equatable {
    public var number: Int
    public var blob: Digest
    public var size: UInt64
    /// Hex MD5 of the part.
    public var etag: String
    public var mtime: Int64

    public init(number: Int, blob: Digest, size: UInt64, etag: String, mtime: Int64) {
        self.number = number
        self.blob = blob
        self.size = size
        self.etag = etag
        self.mtime = mtime
    }
}

/// A blob stored by `Store.ingestBlob`: content digest and size.
public struct IngestedBlob: Sendable, Equatable {
    public var digest: Digest
    public var size: UInt64
    /// Chunks that were new to the store, and their raw bytes.
    public var newChunks: Int
    public var newBytes: UInt64
}

/// Errors of bucket operations; each maps to one S3 error code.
public enum BucketError: Error, Equatable, CustomStringConvertible {
    case noSuchBucket(String)
    case bucketExists(String)
    case bucketNotEmpty(String)
    case invalidBucketName(String)
    case noSuchKey(bucket: String, key: String)
    case noSuchUpload(String)
    case preconditionFailed(String)
    case writeOnce(bucket: String, key: String)
    case invalidPart(String)
    /// The keys under a prefix do not make a tree (a key that is no file path, or none at all).
    case invalidSnapshot(String)
    case store(StoreError)

    public var description: String {
        switch self {
        case .noSuchBucket(let b): "bucket \(b) does not exist; create it first"
        case .bucketExists(let b): "bucket \(b) already exists"
        case .bucketNotEmpty(let b): "bucket \(b) is not empty; delete its keys first"
        case .invalidBucketName(let why): "invalid bucket name: \(why)"
        case .noSuchKey(let b, let k): "key \(k) does not exist in bucket \(b)"
        case .noSuchUpload(let u): "multipart upload \(u) does not exist (completed or aborted?)"
        case .preconditionFailed(let why): "precondition failed: \(why)"
        case .writeOnce(let b, let k):
            "bucket \(b) is write-once: key \(k) can be neither overwritten nor deleted"
        case .invalidPart(let why): "invalid part: \(why)"
        case .invalidSnapshot(let why): "cannot snapshot: \(why)"
        case .store(let e): "\(e)"
        }
    }
}

/// Bucket name rules (S3's): 3–63 of `a-z 0-9 . -`, starting and ending with a letter or digit.
/// `versions` is reserved for the read-only view of versions.
public enum BucketNames {
    public static let reserved: Set<String> = ["versions"]

    public static func validate(_ name: String) throws(BucketError) {
        guard (3...63).contains(name.utf8.count) else {
            throw .invalidBucketName("'\(name)' must be 3 to 63 characters long")
        }
        guard BucketNameSyntax.isWellFormed(name) else {
            throw .invalidBucketName(
                "'\(name)' may hold only lowercase letters, digits, '.' and '-', and must start and end "
                    + "with a letter or digit")
        }
    }
}
