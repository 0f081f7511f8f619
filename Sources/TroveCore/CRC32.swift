import CTroveCRC32C

/// CRC-32 (ISO-HDLC: zlib's, gzip's and S3's `x-amz-checksum-crc32`; reflected polynomial
/// 0xEDB88320). Folds with the CPU's carry-less multiply (x86-64 PCLMULQDQ, `CTroveCRC32C`,
/// checked once at run time) when it has one, which is several times faster than tables; the
/// tail and other CPUs use slicing-by-8 tables (``software(_:_:)``), which the tests hold the
/// fast path equal to.
public enum CRC32 {
    /// Whether ``update(_:_:)`` folds with carry-less multiplication.
    public static let accelerated: Bool = trove_crc32_clmul_available() != 0
    static let flat: [UInt32] = CRC32C.tables(polynomial: 0xEDB8_8320)

    /// Extends `crc` (the value returned by a previous call, or 0 to start) with `buffer`.
    public static func update(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        guard accelerated, buffer.count >= 64, let p = buffer.baseAddress else { return software(crc, buffer) }
        let folded = buffer.count & ~15
        let c = trove_crc32_clmul_update(crc, p, folded)
        return software(c, UnsafeRawBufferPointer(rebasing: buffer[folded...]))
    }

    /// ``update(_:_:)`` with tables only (the fallback, and the reference).
    public static func software(_ crc: UInt32, _ buffer: UnsafeRawBufferPointer) -> UInt32 {
        CRC32C.slicingBy8(crc, buffer, flat)
    }
}
