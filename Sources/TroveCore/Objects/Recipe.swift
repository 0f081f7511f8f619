/// One chunk of a recipe: its digest and raw length.
public struct RecipeChunk: Sendable, Hashable {
    public var digest: Digest
    public var length: UInt32

    public init(digest: Digest, length: UInt32) {
        self.digest = digest
        self.length = length
    }
}

/// The ordered list of chunks that rebuilds a blob.
///
/// Canonical encoding (version 1, big-endian): `"TRCP"`, `0x01`, blob digest (32), size (u64),
/// chunk count (u32), then per chunk: digest (32), length (u32). Chunk lengths are > 0 and sum to
/// size; an empty blob has no chunks. The object digest is SHA-256 of these bytes.
public struct Recipe: Sendable, Hashable {
    /// SHA-256 of the whole content.
    public var blobDigest: Digest
    /// Content length in bytes.
    public var size: UInt64
    /// Chunks in content order.
    public var chunks: [RecipeChunk]

    static let magic: [UInt8] = Array("TRCP".utf8)
    static let version: UInt8 = 1
    static let headerSize = 4 + 1 + 32 + 8 + 4
    static let chunkRecordSize = 36

    public init(blobDigest: Digest, size: UInt64, chunks: [RecipeChunk]) {
        self.blobDigest = blobDigest
        self.size = size
        self.chunks = chunks
    }

    /// Checks the invariants the encoding enforces (lengths > 0 summing to size).
    public func validate() throws(ObjectError) {
        var sum: UInt64 = 0
        for c in chunks {
            guard c.length > 0 else { throw .invalidField(field: "chunk length", reason: "must be > 0") }
            sum &+= UInt64(c.length)
        }
        guard sum == size else { throw .sizeMismatch(declared: size, sum: sum) }
    }

    /// The canonical bytes (call `validate()` first if the value came from untrusted input).
    public var canonicalBytes: [UInt8] {
        var w = ObjectWriter(capacity: Recipe.headerSize + chunks.count * Recipe.chunkRecordSize)
        w.raw(Recipe.magic)
        w.u8(Recipe.version)
        w.digest(blobDigest)
        w.u64(size)
        w.u32(UInt32(chunks.count))
        for c in chunks {
            w.digest(c.digest)
            w.u32(c.length)
        }
        return w.bytes
    }

    /// SHA-256 of the canonical bytes: the recipe's object address.
    public var objectDigest: Digest { SHA256.hash(canonicalBytes) }

    /// Decodes canonical bytes, rejecting anything malformed, non-canonical or hostile.
    public init(canonical bytes: [UInt8]) throws(ObjectError) {
        var r = ObjectReader(bytes)
        guard bytes.count >= 5, Array(bytes[0..<4]) == Recipe.magic, bytes[4] == Recipe.version else {
            throw .badHeader(expected: "recipe")
        }
        _ = try r.raw(5, "header")
        let blob = try r.digest("blob digest")
        let size = try r.u64("size")
        let count = try r.u32("chunk count")
        guard UInt64(count) * UInt64(Recipe.chunkRecordSize) == UInt64(r.remaining) else {
            if UInt64(count) * UInt64(Recipe.chunkRecordSize) > UInt64(r.remaining) {
                throw .countTooLarge(field: "chunk count", declared: UInt64(count), available: r.remaining)
            }
            throw .trailingBytes(count: r.remaining - Int(count) * Recipe.chunkRecordSize)
        }
        var chunks: [RecipeChunk] = []
        chunks.reserveCapacity(Int(count))
        for _ in 0..<count {
            let d = try r.digest("chunk digest")
            let l = try r.u32("chunk length")
            chunks.append(RecipeChunk(digest: d, length: l))
        }
        try r.expectEnd()
        self.init(blobDigest: blob, size: size, chunks: chunks)
        try validate()
    }
}
