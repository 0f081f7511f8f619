import TroveCore

/// What a `has` question or an uploaded object is about.
public enum UploadKind: Sendable, Hashable, CustomStringConvertible {
    /// A chunk, by its digest.
    case chunk
    /// A recipe, by the digest of the blob it rebuilds.
    case recipe
    /// A tree, by its digest.
    case tree

    public var description: String {
        switch self {
        case .chunk: "chunk"
        case .recipe: "recipe"
        case .tree: "tree"
        }
    }
}

/// A recipe or tree uploaded ahead of a commit, whole (`offset == 0` and `bytes.count ==
/// totalLength`) or one part of a larger object (parts arrive in order, or restart at 0).
public struct ObjectPartInput: Sendable {
    /// `.recipe` or `.tree`.
    public var kind: UploadKind
    /// The tree digest, or the digest of the blob a recipe rebuilds.
    public var digest: Digest
    public var offset: UInt64
    public var totalLength: UInt64
    public var bytes: [UInt8]

    public init(kind: UploadKind, digest: Digest, offset: UInt64, totalLength: UInt64, bytes: [UInt8]) {
        self.kind = kind
        self.digest = digest
        self.offset = offset
        self.totalLength = totalLength
        self.bytes = bytes
    }
}

/// A recipe or tree a commit needs and does not have.
public struct UploadObjectRef: Sendable, Hashable {
    /// `.recipe` (by blob digest) or `.tree`.
    public var kind: UploadKind
    public var digest: Digest

    public init(kind: UploadKind, digest: Digest) {
        self.kind = kind
        self.digest = digest
    }
}

/// What `UploadSession.commit(tree:)` did.
public enum UploadCommitOutcome: Sendable, Equatable {
    /// The tree and its new recipes are durable and registered.
    case committed(tree: Digest, files: Int, totalSize: UInt64)
    /// Upload these objects (PUT_OBJECTS) and commit again.
    case missingObjects([UploadObjectRef])
    /// Upload these chunks (PUT_CHUNKS) and commit again. Sorted, unique.
    case missingChunks([Digest])
}

/// A live upload session as the store sees it (for listing and GC reports).
public struct UploadInfo: Sendable, Equatable {
    public var id: String
    /// The name the push is for.
    public var name: String
    /// When it began (ms since the epoch); GC keeps what was touched since then.
    public var created: Int64
    /// When it expires unless used again (ms since the epoch).
    public var expires: Int64
}
