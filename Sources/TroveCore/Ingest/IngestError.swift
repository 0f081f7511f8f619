#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Why reading or chunking an input failed. Messages name the file and the system error.
public enum IngestError: Error, Equatable, CustomStringConvertible {
    /// The file could not be opened.
    case open(path: String, errno: Int32)
    /// Reading the file failed part-way.
    case read(path: String, errno: Int32)
    /// The chunker parameters are not usable.
    case parameters(ChunkerParameterError)
    /// The read buffer cannot hold a maximum-size chunk.
    case bufferTooSmall(bufferSize: Int, maxChunk: Int)

    public var description: String {
        switch self {
        case .open(let path, let code):
            "cannot open \(path): \(IngestError.text(code)); check that it exists and is readable"
        case .read(let path, let code):
            "cannot read \(path): \(IngestError.text(code))"
        case .parameters(let error):
            error.description
        case .bufferTooSmall(let size, let maxChunk):
            "read buffer of \(size) bytes is smaller than the maximum chunk size \(maxChunk); "
                + "use a buffer of at least \(maxChunk) bytes"
        }
    }

    /// The system's text for an errno value.
    static func text(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "errno \(code)" }
        return String(cString: s) + " (errno \(code))"
    }
}
