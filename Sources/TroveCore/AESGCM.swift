import COpenSSL

/// AES-256-GCM through OpenSSL's EVP interface (AES-NI and carry-less multiply where the CPU has
/// them): 32-byte keys, 12-byte nonces, 16-byte tags. The cipher is fetched once per context and
/// the context is reused for every message, so a message costs one key setup and the bulk pass.
///
/// Not thread-safe: one thread uses a context at a time (keep them in a pool).
public final class AESGCM {
    public static let keySize = 32
    public static let nonceSize = 12
    public static let tagSize = 16

    private let ctx: OpaquePointer
    private let cipher: OpaquePointer

    public init() {
        guard let ctx = EVP_CIPHER_CTX_new(), let cipher = EVP_CIPHER_fetch(nil, "AES-256-GCM", nil) else {
            fatalError("OpenSSL has no AES-256-GCM")
        }
        self.ctx = ctx
        self.cipher = cipher
    }

    deinit {
        EVP_CIPHER_CTX_free(ctx)
        EVP_CIPHER_free(cipher)
    }

    /// Encrypts `plaintext` and writes ciphertext (same length) then the tag to `out`, which
    /// must hold `plaintext.count + tagSize` bytes. `aad` is authenticated, not encrypted.
    public func seal(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        _ plaintext: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize)
        precondition(out.count == plaintext.count + Self.tagSize)
        let o = out.baseAddress!.assumingMemoryBound(to: UInt8.self)
        var n: Int32 = 0
        var ok = EVP_EncryptInit_ex2(ctx, cipher, u8(key), u8(nonce), nil) == 1
        if aad.count > 0 { ok = ok && EVP_EncryptUpdate(ctx, nil, &n, u8(aad), Int32(aad.count)) == 1 }
        var written = 0
        if plaintext.count > 0 {
            ok = ok && EVP_EncryptUpdate(ctx, o, &n, u8(plaintext), Int32(plaintext.count)) == 1
            written = Int(n)
        }
        ok = ok && EVP_EncryptFinal_ex(ctx, o + written, &n) == 1
        ok = ok && EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_GET_TAG, Int32(Self.tagSize), o + plaintext.count) == 1
        precondition(ok, "AES-256-GCM encryption failed")
    }

    /// Checks the tag at the end of `sealed` and decrypts the rest into `out` (which must hold
    /// `sealed.count - tagSize` bytes). False, with `out` unspecified, if anything was altered
    /// (ciphertext, tag, nonce, associated data) or the key is wrong.
    public func open(
        key: UnsafeRawBufferPointer, nonce: UnsafeRawBufferPointer, aad: UnsafeRawBufferPointer,
        _ sealed: UnsafeRawBufferPointer, into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        precondition(key.count == Self.keySize && nonce.count == Self.nonceSize)
        guard sealed.count >= Self.tagSize, out.count == sealed.count - Self.tagSize else { return false }
        let length = sealed.count - Self.tagSize
        var n: Int32 = 0
        guard EVP_DecryptInit_ex2(ctx, cipher, u8(key), u8(nonce), nil) == 1 else { return false }
        if aad.count > 0 {
            guard EVP_DecryptUpdate(ctx, nil, &n, u8(aad), Int32(aad.count)) == 1 else { return false }
        }
        var written = 0
        let o = out.baseAddress?.assumingMemoryBound(to: UInt8.self)
        if length > 0 {
            guard EVP_DecryptUpdate(ctx, o, &n, u8(sealed), Int32(length)) == 1 else { return false }
            written = Int(n)
        }
        // The tag is copied: OpenSSL's ctrl takes a mutable pointer.
        var tag = [UInt8](sealed[length...])
        guard
            tag.withUnsafeMutableBytes({
                EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_AEAD_SET_TAG, Int32(Self.tagSize), $0.baseAddress) == 1
            })
        else { return false }
        var scratch: UInt8 = 0
        return withUnsafeMutablePointer(to: &scratch) { s in
            EVP_DecryptFinal_ex(ctx, o.map { $0 + written } ?? s, &n) == 1
        }
    }

    /// `seal` with the key, nonce and associated data as arrays.
    public func seal(
        key: [UInt8], nonce: [UInt8], aad: [UInt8], _ plaintext: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) {
        key.withUnsafeBytes { k in
            nonce.withUnsafeBytes { n in aad.withUnsafeBytes { a in seal(key: k, nonce: n, aad: a, plaintext, into: out) } }
        }
    }

    /// `open` with the key and associated data as arrays.
    public func open(
        key: [UInt8], nonce: UnsafeRawBufferPointer, aad: [UInt8], _ sealed: UnsafeRawBufferPointer,
        into out: UnsafeMutableRawBufferPointer
    ) -> Bool {
        key.withUnsafeBytes { k in aad.withUnsafeBytes { a in open(key: k, nonce: nonce, aad: a, sealed, into: out) } }
    }

    private func u8(_ b: UnsafeRawBufferPointer) -> UnsafePointer<UInt8>? {
        b.baseAddress?.assumingMemoryBound(to: UInt8.self)
    }
}
