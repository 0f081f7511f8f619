import SystemPackage
#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Random access to an input of known size, for container detection (which reads headers and
/// directories before the sequential chunking pass).
public protocol RandomAccessReader {
    /// Size in bytes when detection starts.
    var size: UInt64 { get }
    /// Copies bytes from `offset` into `buffer`; returns how many (fewer only at end of input).
    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int
}

/// `pread(2)` on a descriptor the caller owns; never moves the descriptor's file offset.
public struct FileRandomAccess: RandomAccessReader {
    /// The path, for error messages.
    public let path: String
    private let fd: Int32
    public let size: UInt64

    /// Reads through `descriptor` (kept open by the caller); the size is taken now with fstat.
    public init(descriptor: Int32, path: String) throws(IngestError) {
        self.path = path
        fd = descriptor
        var st = stat()
        guard fstat(descriptor, &st) == 0 else { throw .read(path: path, errno: errno) }
        size = st.st_size > 0 ? UInt64(st.st_size) : 0
    }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int
    {
        do {
            return try FileDescriptor(rawValue: fd).readFully(fromAbsoluteOffset: Int64(offset), into: buffer)
        } catch {
            throw .read(path: path, errno: error.rawValue)
        }
    }
}

/// Random access to bytes in memory.
public struct MemoryRandomAccess: RandomAccessReader {
    private let bytes: [UInt8]
    public var size: UInt64 { UInt64(bytes.count) }

    /// Reads from `bytes`.
    public init(_ bytes: [UInt8]) { self.bytes = bytes }

    public func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int
    {
        guard offset < UInt64(bytes.count) else { return 0 }
        let start = Int(offset)
        let n = Swift.min(buffer.count, bytes.count - start)
        guard n > 0 else { return 0 }
        bytes.withUnsafeBytes { src in
            buffer.baseAddress!.copyMemory(from: src.baseAddress! + start, byteCount: n)
        }
        return n
    }
}

/// Why a parser refused an input: it is not that format, or it is malformed (both mean plain
/// FastCDC for the input), or reading failed (an error for the caller).
enum FormatRejection: Error, Equatable {
    case rejected(String)
    case io(IngestError)
}

/// Reads small little-endian fields through a window cache over a `RandomAccessReader`, so that
/// dense headers cost one read per window and nothing is ever read outside `0..<size`.
struct WindowReader<Reader: RandomAccessReader> {
    let reader: Reader
    let size: UInt64
    private let readahead: Int
    private var buffer: [UInt8] = []
    private var bufferOffset: UInt64 = 0

    init(_ reader: Reader, readahead: Int) {
        self.reader = reader
        size = reader.size
        self.readahead = readahead
    }

    /// Makes `offset..<offset+count` available; returns its index in `buffer`.
    private mutating func load(_ offset: UInt64, _ count: Int) throws(FormatRejection) -> Int {
        guard offset <= size, UInt64(count) <= size - offset else {
            throw .rejected("reads past the end of the input (offset \(offset), \(count) bytes)")
        }
        if offset >= bufferOffset, offset - bufferOffset + UInt64(count) <= UInt64(buffer.count) {
            return Int(offset - bufferOffset)
        }
        let want = Int(Swift.min(UInt64(Swift.max(count, readahead)), size - offset))
        if buffer.count != want { buffer = [UInt8](repeating: 0, count: want) }
        let reader = self.reader
        let outcome = buffer.withUnsafeMutableBytes { b in
            Result { () throws(IngestError) -> Int in try reader.read(at: offset, into: b) }
        }
        let got: Int
        switch outcome {
        case .success(let n): got = n
        case .failure(let error): throw .io(error)
        }
        guard got >= count else {
            buffer = []
            throw .rejected("input ended early (shorter than at detection)")
        }
        if got < want { buffer.removeLast(want - got) }
        bufferOffset = offset
        return 0
    }

    mutating func bytes(_ offset: UInt64, _ count: Int) throws(FormatRejection) -> ArraySlice<UInt8> {
        let i = try load(offset, count)
        return buffer[i..<i + count]
    }

    mutating func u8(_ offset: UInt64) throws(FormatRejection) -> UInt8 {
        let i = try load(offset, 1)
        return buffer[i]
    }

    mutating func u16(_ offset: UInt64) throws(FormatRejection) -> UInt16 {
        let i = try load(offset, 2)
        return UInt16(buffer[i]) | UInt16(buffer[i + 1]) << 8
    }

    mutating func u32(_ offset: UInt64) throws(FormatRejection) -> UInt32 {
        let i = try load(offset, 4)
        var v: UInt32 = 0
        for k in (0..<4).reversed() { v = v << 8 | UInt32(buffer[i + k]) }
        return v
    }

    mutating func u64(_ offset: UInt64) throws(FormatRejection) -> UInt64 {
        let i = try load(offset, 8)
        var v: UInt64 = 0
        for k in (0..<8).reversed() { v = v << 8 | UInt64(buffer[i + k]) }
        return v
    }
}

extension ArraySlice where Element == UInt8 {
    /// Little-endian unsigned integer of `width` bytes at `at` (relative to the slice start).
    func le(_ at: Int, _ width: Int) -> UInt64 {
        var v: UInt64 = 0
        let base = startIndex + at
        for k in (0..<width).reversed() { v = v << 8 | UInt64(self[base + k]) }
        return v
    }
}
