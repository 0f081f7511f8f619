import SystemPackage

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A sequential source of bytes for the chunker: a file or memory.
public protocol ByteSource {
    /// Copies up to `buffer.count` next bytes into `buffer`; returns how many (0 only at the end).
    mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int
}

/// Reads a file sequentially through a descriptor (swift-system, which retries interrupted reads).
public final class FileByteSource: ByteSource {
    /// The path, for error messages.
    public let path: String
    private let fd: Int32
    private let ownsDescriptor: Bool

    /// Opens `path` read-only.
    public init(path: String) throws(IngestError) {
        self.path = path
        do {
            fd = try FileDescriptor.open(path, .readOnly, options: .closeOnExec, retryOnInterrupt: true)
                .rawValue
        } catch {
            throw .open(path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
        ownsDescriptor = true
        #if os(Linux)
            _ = posix_fadvise(fd, 0, 0, Int32(POSIX_FADV_SEQUENTIAL))
        #endif
    }

    /// Reads from an open descriptor the caller keeps ownership of; `path` names it in errors.
    public init(descriptor: Int32, path: String) {
        self.path = path
        fd = descriptor
        ownsDescriptor = false
    }

    deinit { if ownsDescriptor { close(fd) } }

    /// The descriptor (for `pread`-based container detection before the sequential pass).
    public var descriptor: Int32 { fd }

    public func read(into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int {
        guard buffer.count > 0 else { return 0 }
        do {
            return try FileDescriptor(rawValue: fd).read(into: buffer, retryOnInterrupt: true)
        } catch {
            throw .read(path: path, errno: (error as? Errno)?.rawValue ?? EIO)
        }
    }
}

/// Serves bytes from memory, optionally in short reads (to exercise streaming paths in tests).
public struct MemoryByteSource: ByteSource {
    private let bytes: [UInt8]
    private var position = 0
    private let maxRead: Int

    /// A source over `bytes` that returns at most `maxRead` bytes per read.
    public init(_ bytes: [UInt8], maxRead: Int = .max) {
        self.bytes = bytes
        self.maxRead = Swift.max(1, maxRead)
    }

    public mutating func read(into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int {
        let n = Swift.min(buffer.count, bytes.count - position, maxRead)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + position, byteCount: n)
        }
        position += n
        return n
    }
}
