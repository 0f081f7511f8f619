import COpenSSL

/// HMAC-SHA256 through OpenSSL, used by the authentication handshake.
public enum HMACSHA256 {
    /// The MAC of `message` under `key`.
    public static func mac(key: [UInt8], message: [UInt8]) -> Digest {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        key.withUnsafeBytes { k in
            message.withUnsafeBytes { m in
                out.withUnsafeMutableBytes { o in
                    let r = HMAC(
                        EVP_sha256(), k.baseAddress, Int32(k.count),
                        m.baseAddress?.assumingMemoryBound(to: UInt8.self), m.count,
                        o.baseAddress!.assumingMemoryBound(to: UInt8.self), &len)
                    precondition(r != nil && len == 32, "HMAC-SHA256 failed")
                }
            }
        }
        return Digest(bytes: out[0..<32])!
    }

    /// Compares two MACs in constant time.
    public static func equal(_ a: Digest, _ b: Digest) -> Bool {
        let x = a.bytes
        let y = b.bytes
        return x.withUnsafeBytes { xp in
            y.withUnsafeBytes { yp in CRYPTO_memcmp(xp.baseAddress, yp.baseAddress, 32) == 0 }
        }
    }
}

/// Cryptographically secure random bytes from OpenSSL.
public enum SecureRandom {
    /// `count` random bytes.
    public static func bytes(_ count: Int) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: count)
        out.withUnsafeMutableBytes { p in
            precondition(
                RAND_bytes(p.baseAddress!.assumingMemoryBound(to: UInt8.self), Int32(count)) == 1,
                "RAND_bytes failed")
        }
        return out
    }
}
