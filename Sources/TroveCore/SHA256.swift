import COpenSSL

/// SHA-256 through OpenSSL's EVP interface.
///
/// The `EVP_MD` is fetched once per process; each `SHA256` value owns one reusable
/// `EVP_MD_CTX`. A value is not thread-safe: give each thread its own.
public final class SHA256 {
    /// The fetched digest algorithm, shared by every context (fetching is costly in OpenSSL 3).
    nonisolated(unsafe) static let md: OpaquePointer = {
        guard let md = EVP_MD_fetch(nil, "SHA256", nil) else {
            fatalError("OpenSSL could not provide SHA256 (EVP_MD_fetch failed)")
        }
        return md
    }()

    private let ctx: OpaquePointer

    /// A fresh context, ready for `update`.
    public init() {
        guard let ctx = EVP_MD_CTX_new() else { fatalError("EVP_MD_CTX_new failed: out of memory") }
        self.ctx = ctx
        reset()
    }

    deinit { EVP_MD_CTX_free(ctx) }

    /// Starts a new digest on the same context.
    @inline(__always) public func reset() {
        precondition(EVP_DigestInit_ex2(ctx, SHA256.md, nil) == 1, "EVP_DigestInit_ex2 failed")
    }

    /// Feeds bytes.
    @inline(__always) public func update(_ buffer: UnsafeRawBufferPointer) {
        guard buffer.count > 0 else { return }
        precondition(EVP_DigestUpdate(ctx, buffer.baseAddress, buffer.count) == 1, "EVP_DigestUpdate failed")
    }

    /// Feeds bytes.
    public func update<C: ContiguousByteStorage>(_ bytes: C) {
        bytes.withUnsafeBytes { update($0) }
    }

    /// Finishes the digest and resets the context for the next one.
    public func finalize() -> Digest {
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var len: UInt32 = 0
        let digest = withUnsafeMutableBytes(of: &out) { raw -> Digest in
            precondition(
                EVP_DigestFinal_ex(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self), &len) == 1,
                "EVP_DigestFinal_ex failed")
            return Digest(pointer: raw.baseAddress!)
        }
        reset()
        return digest
    }

    /// Digest of one buffer, reusing this context.
    public func hash(_ buffer: UnsafeRawBufferPointer) -> Digest {
        reset()
        update(buffer)
        return finalize()
    }

    /// One-shot digest of `bytes` with a temporary context. Prefer a reused `SHA256` in loops.
    public static func hash<C: ContiguousByteStorage>(_ bytes: C) -> Digest {
        let h = SHA256()
        return bytes.withUnsafeBytes { h.hash($0) }
    }
}

/// Anything that exposes contiguous bytes (arrays, slices, `Data` through Foundation).
public protocol ContiguousByteStorage {
    func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R
}

extension Array: ContiguousByteStorage where Element == UInt8 {}
extension ArraySlice: ContiguousByteStorage where Element == UInt8 {}
extension ContiguousArray: ContiguousByteStorage where Element == UInt8 {}
extension UnsafeRawBufferPointer: ContiguousByteStorage {
    public func withUnsafeBytes<R>(_ body: (UnsafeRawBufferPointer) throws -> R) rethrows -> R {
        try body(self)
    }
}
