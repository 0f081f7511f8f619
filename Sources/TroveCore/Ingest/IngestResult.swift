/// One chunk of an input: where it is and what it hashes to.
public struct ChunkRef: Sendable, Hashable {
    /// Byte offset of the chunk in its input.
    public var offset: UInt64
    /// Length in bytes.
    public var length: Int
    /// SHA-256 of the chunk's bytes.
    public var digest: Digest

    public init(offset: UInt64, length: Int, digest: Digest) {
        self.offset = offset
        self.length = length
        self.digest = digest
    }
}

/// Everything one pass over an input yields: its size, its blob digest (SHA-256 of the whole
/// content, what `sha256sum` prints) and its chunks in order.
public struct IngestResult: Sendable, Hashable {
    /// Total bytes.
    public var size: UInt64
    /// SHA-256 of the whole input (`Digest.zero` if the pass was asked not to compute it).
    public var blobDigest: Digest
    /// Chunks in input order; they tile the input exactly.
    public var chunks: [ChunkRef]
    /// The container format whose structure forced boundaries, or nil for plain FastCDC.
    public var format: ContainerFormat?

    public init(size: UInt64, blobDigest: Digest, chunks: [ChunkRef], format: ContainerFormat? = nil) {
        self.size = size
        self.blobDigest = blobDigest
        self.chunks = chunks
        self.format = format
    }
}
