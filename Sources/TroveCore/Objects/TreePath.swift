/// Validation of relative paths inside a tree (also what a pull checks before writing).
public enum TreePath {
    /// Longest allowed path, in bytes.
    public static let maxLength = 4096

    /// Throws unless `path` is a safe relative path: non-empty, ≤ 4096 bytes, no leading or
    /// trailing `/`, no empty, `.` or `..` components, no NUL.
    public static func validate(_ path: String) throws(ObjectError) {
        let utf8 = Array(path.utf8)
        try validate(bytes: utf8[...], shown: path)
    }

    static func validate(bytes: ArraySlice<UInt8>, shown: String) throws(ObjectError) {
        guard !bytes.isEmpty else { throw .unsafePath(path: shown, reason: "empty path") }
        guard bytes.count <= maxLength else {
            throw .unsafePath(path: String(shown.prefix(64)) + "…", reason: "longer than \(maxLength) bytes")
        }
        if bytes.contains(0) { throw .unsafePath(path: shown, reason: "contains NUL") }
        if bytes.first == UInt8(ascii: "/") { throw .unsafePath(path: shown, reason: "absolute path") }
        if bytes.last == UInt8(ascii: "/") { throw .unsafePath(path: shown, reason: "trailing slash") }
        // Components in one pass, no array of slices.
        var start = bytes.startIndex
        while start <= bytes.endIndex {
            var end = start
            while end < bytes.endIndex && bytes[end] != UInt8(ascii: "/") { end += 1 }
            switch end - start {
            case 0: throw .unsafePath(path: shown, reason: "empty component")
            case 1 where bytes[start] == UInt8(ascii: "."):
                throw .unsafePath(path: shown, reason: "'.' component")
            case 2 where bytes[start] == UInt8(ascii: ".") && bytes[start + 1] == UInt8(ascii: "."):
                throw .unsafePath(path: shown, reason: "'..' component")
            default: break
            }
            start = end + 1
        }
    }
}
