#if canImport(Glibc)
    import Glibc
#endif

/// Direct I/O (`O_DIRECT`): reads and writes that bypass the page cache. Offsets, lengths and
/// buffers must be multiples of ``alignment``; a filesystem that refuses direct I/O (tmpfs) fails
/// the `open` or the transfer with `EINVAL`, and callers fall back to ordinary I/O.
public enum DirectIO {
    /// `O_DIRECT` on this platform (Glibc does not export it to Swift); 0 where unknown.
    public static let openFlag: Int32 = {
        #if os(Linux) && (arch(x86_64) || arch(i386))
            return 0o40000
        #elseif os(Linux) && (arch(arm64) || arch(arm))
            return 0o200000
        #else
            return 0
        #endif
    }()

    /// Alignment of offsets, lengths and buffer addresses that every block device accepts.
    public static let alignment = 4096
}
