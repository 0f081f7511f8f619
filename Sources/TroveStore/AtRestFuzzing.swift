import TroveCore

/// The decoders of bytes an encrypted store reads back from disk or object storage, under a
/// fixed key, for the fuzz target (Fuzz/, docs/FUZZING.md): the pack header, sealed records and
/// sealed objects. Each returns nil for bytes the store would refuse.
public enum AtRestFuzzing {
    static let cipher = StoreCipher(StoreEncryption(key: try! StoreKey(bytes: [UInt8](repeating: 0x5A, count: 32))))
    static let pack = try! cipher.packSeal(name: "00112233445566778899aabbccddeeff", tag: cipher.current.tag)

    /// The key tag of a pack header (inner nil: a plaintext pack).
    public static func packHeader(_ bytes: [UInt8]) -> UInt32?? {
        try? PackFormat.parseHeader(bytes, what: "fuzz")
    }

    /// Opens a sealed object of `digest`; non-nil only if it authenticates.
    public static func openObject(_ bytes: [UInt8], digest: Digest) -> [UInt8]? {
        try? cipher.openObject(bytes, digest: digest)
    }

    /// What sealing `plain` as the object `digest` under `nonce` gives (seeds, and the oracle:
    /// bytes that open must be exactly this for their plaintext and nonce).
    public static func sealObject(_ plain: [UInt8], digest: Digest, nonce: [UInt8]) -> [UInt8] {
        cipher.sealObject(plain, digest: digest, nonce: nonce)
    }

    /// Opens a sealed record (raw codec, the given digest, length and offset); non-nil only if
    /// it authenticates.
    public static func openRecord(_ bytes: [UInt8], digest: Digest, rawLength: Int, offset: Int) -> [UInt8]? {
        let e = PackEntry(digest: digest, offset: offset, rawLength: rawLength, codec: .raw, storedLength: bytes.count)
        return bytes.withUnsafeBytes { pack.open($0, e) }
    }

    /// What sealing a record's stored bytes under `nonce` gives.
    public static func sealRecord(_ stored: [UInt8], digest: Digest, offset: Int, nonce: [UInt8]) -> [UInt8] {
        pack.seal(stored, digest: digest, rawLength: stored.count, codec: .raw, offset: offset, nonce: nonce)
    }
}
