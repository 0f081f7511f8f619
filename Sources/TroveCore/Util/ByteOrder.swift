#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Byte-wise (UTF-8) ordering of paths, the order trees are sorted in, through `memcmp`: the
/// generic `utf8.lexicographicallyPrecedes` compares a byte at a time and showed up in profiles of
/// pushes of many files (sorting and checking 20 000 paths several times per push).
public enum ByteOrder {
    /// Whether `a` sorts strictly before `b`, byte by byte (a prefix sorts first).
    @inlinable
    public static func precedes(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> Bool {
        let n = Swift.min(a.count, b.count)
        if n > 0 {
            let c = memcmp(a.baseAddress!, b.baseAddress!, n)
            if c != 0 { return c < 0 }
        }
        return a.count < b.count
    }

    /// Whether `a`'s UTF-8 bytes sort strictly before `b`'s (equal to
    /// `a.utf8.lexicographicallyPrecedes(b.utf8)`).
    @inlinable
    public static func precedes(_ a: String, _ b: String) -> Bool {
        // Native strings are contiguous UTF-8: compared in place, without copying either.
        let fast = a.utf8.withContiguousStorageIfAvailable { pa in
            b.utf8.withContiguousStorageIfAvailable { pb in
                precedes(UnsafeRawBufferPointer(pa), UnsafeRawBufferPointer(pb))
            }
        }
        if let fast, let result = fast { return result }
        return a.utf8.lexicographicallyPrecedes(b.utf8)
    }

    /// Whether `a` sorts strictly before `b`, byte by byte.
    @inlinable
    public static func precedes(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.withUnsafeBytes { pa in b.withUnsafeBytes { pb in precedes(pa, pb) } }
    }
}
