import TroveCore

/// Errors from the store. Every case says what went wrong and what to do.
public enum StoreError: Error, CustomStringConvertible, Equatable {
    /// No store at the path (no trove.toml).
    case notAStore(path: String)
    /// `init` found an existing store or non-empty directory.
    case alreadyExists(path: String)
    /// trove.toml is unreadable or malformed.
    case corruptConfig(path: String, detail: String)
    /// trove.toml has a format version this build does not know.
    case unsupportedFormat(found: Int64, supported: Int64)
    /// A system call failed.
    case io(op: String, path: String, errno: Int32)
    /// The store hit a durability failure earlier and refuses writes until restarted and checked.
    case readOnly(reason: String)
    /// A chunk is not in the index.
    case chunkNotFound(Digest)
    /// Stored bytes failed a check (checksum, decompression or hash).
    case corruptData(what: String, detail: String)
    /// An object (recipe or tree) is not stored.
    case objectNotFound(Digest)
    /// An object failed to decode.
    case invalidObject(ObjectError)
    /// A name, version or alias is invalid.
    case invalidName(NameError)
    /// A version or alias does not exist.
    case refNotFound(String)
    /// A time-travel reference (`NAME:ALIAS@TIME`) names a moment when the alias pointed nowhere;
    /// `detail` says when it first pointed somewhere.
    case aliasNotSetAt(ref: String, detail: String)
    /// The version exists with a different tree (versions are immutable).
    case versionConflict(name: String, version: String, existing: Digest)
    /// The tag is already used by the other kind (a version vs an alias) in this name.
    case tagInUse(name: String, tag: String, usedBy: String)
    /// A compare-and-swap on an alias failed; `current` is the version it points at now.
    case aliasConflict(name: String, alias: String, current: String?)
    /// The version is retired and cannot be used as an alias target or a parent.
    case versionRetired(name: String, version: String)
    /// Retiring a version that aliases still point at, without `force`.
    case versionAliased(name: String, version: String, aliases: [String])
    /// A commit was refused: a tree entry has no recipe, or sizes disagree.
    case invalidCommit(String)
    /// A blob's chunks do not hash to its digest.
    case blobMismatch(expected: Digest, actual: Digest)
    /// Invalid argument.
    case invalidArgument(String)
    /// A catalog (SQLite) failure.
    case catalog(String)
    /// The upload session (push lease) is unknown, expired or ended.
    case uploadExpired(id: String)
    /// Bytes uploaded under a session do not match the digest they were sent under.
    case uploadCorrupt(String)
    /// The filesystem holding `path` is full (ENOSPC, EDQUOT, SQLite's "database or disk is
    /// full"), or the write would cross the free-space floor (`StoreOptions.minFreeSpace`). The
    /// request failed and left nothing half-written; the store stays writable. `free` is -1 if
    /// unknown, `needed` 0 if unknown.
    case noSpace(path: String, free: Int64, needed: Int64)
    /// The pack or object storage (an object store) failed; nothing was acknowledged, retry later.
    case packStorage(String)
    /// Encryption at rest: a key is missing, wrong, unreadable or not configured for data that
    /// needs it. Raised at open before anything is touched; the message names what to fix.
    case encryption(String)

    public var description: String {
        switch self {
        case .notAStore(let p): "\(p) is not a Trove store (no trove.toml); create one with `troved init`"
        case .alreadyExists(let p): "\(p) already holds a store or other files; choose an empty directory"
        case .corruptConfig(let p, let d):
            "store config \(p) is corrupt (\(d)); restore it from backup, nothing was changed"
        case .unsupportedFormat(let f, let s):
            "store format version \(f) is not supported by this build (supports up to \(s)); upgrade Trove"
        case .io(let op, let p, let e): "\(op) \(p) failed: \(String(cString: strerror(e))) (errno \(e))"
        case .readOnly(let r):
            "store is read-only after a durability failure (\(r)); restart the daemon and run fsck"
        case .chunkNotFound(let d): "chunk \(d) is not in the store"
        case .corruptData(let w, let d): "\(w) is corrupt: \(d); run a scrub"
        case .objectNotFound(let d): "object \(d) is not in the store"
        case .invalidObject(let e): "invalid object: \(e)"
        case .invalidName(let e): "\(e)"
        case .refNotFound(let r): "\(r) does not exist"
        case .aliasNotSetAt(let r, let d): "\(r) does not resolve: \(d)"
        case .versionConflict(let n, let v, let d):
            "\(n):\(v) already exists with tree \(d); versions are immutable, choose a new version"
        case .tagInUse(let n, let t, let u):
            "\(n):\(t) is already used by \(u); versions and aliases share one tag space"
        case .aliasConflict(let n, let a, let c):
            "alias \(n):\(a) changed concurrently (now \(c.map { "at \($0)" } ?? "absent")); re-read and retry"
        case .versionRetired(let n, let v): "\(n):\(v) is retired"
        case .versionAliased(let n, let v, let a):
            "\(n):\(v) is the target of alias(es) \(a.joined(separator: ", ")); move them first or force"
        case .invalidCommit(let m): "commit refused: \(m)"
        case .blobMismatch(let e, let a):
            "blob content hashes to \(a), not the declared \(e); the push is corrupt"
        case .invalidArgument(let m): "invalid argument: \(m)"
        case .catalog(let m): "catalog error: \(m)"
        case .uploadExpired(let id):
            "push lease \(id) is unknown or expired: send BEGIN_PUSH again (stored data is kept)"
        case .uploadCorrupt(let m):
            "\(m); the client's data or the network corrupted it — retry the push"
        case .noSpace(let p, let free, let needed):
            "not enough free space for \(p): "
                + (free >= 0 ? "\(StoreError.bytes(free)) free, " : "")
                + (needed > 0 ? "\(StoreError.bytes(needed)) needed" : "more needed")
                + "; nothing was stored by this request and the store stays writable: free space (retire "
                + "versions with `trove rm`, then `trove gc`) or grow the filesystem, then retry"
        case .packStorage(let m): "object storage failed: \(m); nothing was acknowledged, retry once it is healthy"
        case .encryption(let m): "encryption at rest: \(m)"
        }
    }

    /// `n` bytes for a message: `512 B`, `3.2 MiB`.
    static func bytes(_ n: Int64) -> String {
        let units = ["B", "KiB", "MiB", "GiB", "TiB"]
        var v = Double(n)
        var i = 0
        while v >= 1024 && i < units.count - 1 {
            v /= 1024
            i += 1
        }
        let tenths = Int((v * 10).rounded())
        return i == 0 ? "\(n) B" : "\(tenths / 10).\(tenths % 10) \(units[i])"
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
