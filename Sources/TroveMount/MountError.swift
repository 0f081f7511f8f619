import Glibc

/// Why a mount operation failed, with the errno the kernel is given and a human message.
public enum MountError: Error, CustomStringConvertible, Sendable {
    /// No such entry (ENOENT).
    case notFound(path: String)
    /// The path is not a directory where one was needed (ENOTDIR).
    case notDirectory(path: String)
    /// The path is a directory where a file was needed (EISDIR).
    case isDirectory(path: String)
    /// A write was attempted (EROFS): the mount is read-only.
    case readOnly
    /// The daemon could not be reached or kept failing (EIO after retries).
    case unavailable(detail: String)
    /// Bytes failed verification or the server broke the protocol (EIO; never retried blindly).
    case integrity(detail: String)
    /// The server refused the request (EACCES for permission, EIO otherwise).
    case refused(detail: String, permission: Bool)
    /// A local problem (cache directory, mount point, libfuse).
    case local(detail: String)

    /// The positive errno this error becomes in a FUSE reply.
    public var errno: Int32 {
        switch self {
        case .notFound: ENOENT
        case .notDirectory: ENOTDIR
        case .isDirectory: EISDIR
        case .readOnly: EROFS
        case .unavailable, .integrity, .local: EIO
        case .refused(_, let permission): permission ? EACCES : EIO
        }
    }

    public var description: String {
        switch self {
        case .notFound(let path): "no such file or directory: \(path)"
        case .notDirectory(let path): "not a directory: \(path)"
        case .isDirectory(let path): "is a directory: \(path)"
        case .readOnly: "the trove mount is read-only"
        case .unavailable(let detail): "troved is unavailable: \(detail)"
        case .integrity(let detail): detail
        case .refused(let detail, _): detail
        case .local(let detail): detail
        }
    }
}
