/// S3's bucket-name syntax, shared by the store (which refuses bad names) and the client (which
/// derives git-lfs bucket names): 3–63 bytes of `a-z 0-9 . -`, starting and ending with a letter
/// or digit, no `..`.
public enum BucketNameSyntax {
    /// Whether `name` follows the syntax (the reserved `versions` bucket included).
    public static func isWellFormed(_ name: String) -> Bool {
        let b = Array(name.utf8)
        func alnum(_ c: UInt8) -> Bool { (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39) }
        return (3...63).contains(b.count) && b.allSatisfy { alnum($0) || $0 == 0x2E || $0 == 0x2D }
            && alnum(b.first!) && alnum(b.last!) && !name.contains("..")
    }
}
