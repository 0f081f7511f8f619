/// git-lfs naming shared by the agent (`trove lfs-agent`) and the HTTP batch API: an object id
/// is the SHA-256 of the file (Trove's blob digest) as 64 lowercase hex digits; objects live at
/// `objects/OID` of one bucket per repository, `lfs-REPO` (docs/GIT-LFS.md).
public enum LFSNames {
    /// The bucket key of object `oid`.
    public static func key(oid: String) -> String { "objects/" + oid }

    /// The digest an oid names, or nil unless it is exactly 64 lowercase hex digits (the form
    /// git-lfs sends; anything else is refused as hostile or broken input).
    public static func digest(oid: String) -> Digest? {
        let u = oid.utf8
        guard u.count == 64, u.allSatisfy({ ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }) else {
            return nil
        }
        return Digest(hex: oid)
    }

    /// The bucket of repository `repo` (`lfs-REPO`), or nil when `repo` is not 1–59 characters of
    /// `a-z 0-9 . -` starting and ending with a letter or digit (so the bucket is a valid S3 name).
    public static func bucket(repository repo: String) -> String? {
        guard !repo.isEmpty, isValidBucket("lfs-" + repo) else { return nil }
        return "lfs-" + repo
    }

    /// Whether `name` is a bucket name (S3's rules: 3–63 of `a-z 0-9 . -`, starting and ending
    /// with a letter or digit, no `..`) other than the reserved `versions`.
    public static func isValidBucket(_ name: String) -> Bool {
        BucketNameSyntax.isWellFormed(name) && name != "versions"
    }

    /// A repository name made from a directory name: lowercased, runs of other characters
    /// turned into `-`, trimmed to 59 characters; "repo" when nothing is left.
    public static func repository(fromDirectoryName name: String) -> String {
        var out: [UInt8] = []
        for c in name.lowercased().utf8 {
            let ok = (c >= 0x61 && c <= 0x7A) || (c >= 0x30 && c <= 0x39)
            if ok {
                out.append(c)
            } else if out.last != 0x2D {
                out.append(0x2D)
            }
        }
        var s = String(decoding: out.prefix(59), as: UTF8.self)
        while s.hasPrefix("-") { s.removeFirst() }
        while s.hasSuffix("-") { s.removeLast() }
        return s.isEmpty ? "repo" : s
    }
}
