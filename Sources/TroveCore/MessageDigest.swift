import COpenSSL

/// MD5 and SHA-1 through OpenSSL's EVP interface, for S3 (ETags are MD5s, `Content-MD5` and
/// `x-amz-checksum-sha1` are checked). Not for content addressing: that is `SHA256`.
///
/// A value owns one reusable `EVP_MD_CTX` and is not thread-safe: give each thread its own.
public final class MessageDigest {
    /// The algorithms this type offers.
    public enum Algorithm: Sendable {
        case md5
        case sha1

        /// Digest length in bytes.
        public var length: Int { self == .md5 ? 16 : 20 }
    }

    nonisolated(unsafe) private static let md5: OpaquePointer = fetch("MD5")
    nonisolated(unsafe) private static let sha1: OpaquePointer = fetch("SHA1")

    private static func fetch(_ name: String) -> OpaquePointer {
        guard let md = EVP_MD_fetch(nil, name, nil) else {
            fatalError("OpenSSL could not provide \(name) (EVP_MD_fetch failed)")
        }
        return md
    }

    /// The algorithm of this context.
    public let algorithm: Algorithm
    private let ctx: OpaquePointer
    private let md: OpaquePointer

    /// A fresh context for `algorithm`, ready for `update`.
    public init(_ algorithm: Algorithm) {
        self.algorithm = algorithm
        md = algorithm == .md5 ? MessageDigest.md5 : MessageDigest.sha1
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.ctx = ctx
        reset()
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Starts a new digest on the same context.
    public func reset() {
        precondition(EVP_DigestInit_ex2(ctx, md, nil) == 1, "EVP_DigestInit_ex2 failed")
    }

    /// Feeds bytes.
    public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
    }

    /// Feeds bytes.
    public func update<C: ContiguousByteStorage>(_ bytes: C) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest (16 bytes for MD5, 20 for SHA-1) and resets the context.
    public func finalize() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 64)
        var len: UInt32 = 0
        out.withUnsafeMutableBytes { raw in
            precondition(
                EVP_DigestFinal_ex(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &len) == 1,
                "EVP_DigestFinal_ex failed")
        }
        reset()
        return Array(out[0..<Int(len)])
    }

    /// The digest of one buffer.
    public static func hash<C: ContiguousByteStorage>(_ algorithm: Algorithm, _ bytes: C) -> [UInt8] {
        let d = MessageDigest(algorithm)
        d.update(bytes)
        return d.finalize()
    }
}
