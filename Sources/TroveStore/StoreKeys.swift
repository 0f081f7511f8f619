import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// An encryption-at-rest key (docs/STORE.md, "Encryption at rest"): 32 random bytes kept in a
/// file of their own (`troved key new FILE`), never in the store. Printing it shows its id only.
public struct StoreKey: Sendable, Equatable, CustomStringConvertible {
    public static let size = 32
    /// Hex of the first 8 bytes of HMAC-SHA256(key, "trove-key-id"): names the key in
    /// `trove.toml`, `keys.toml` and messages without revealing it, and tells a wrong key from
    /// the right one before anything is read or written (a wrong key matches with odds 2⁻⁶⁴).
    public let id: String
    /// The first 4 bytes of the id, recorded in every encrypted pack's header and sealed object.
    let tag: UInt32
    let bytes: [UInt8]

    /// A key from its 32 bytes.
    public init(bytes: [UInt8]) throws(StoreError) {
        guard bytes.count == Self.size else {
            throw .encryption("an encryption key is \(Self.size) bytes, not \(bytes.count)")
        }
        self.bytes = bytes
        let mac = HMACSHA256.mac(key: bytes, message: Array("trove-key-id".utf8)).bytes
        id = mac[0..<8].map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
        tag = mac[0..<4].reduce(0) { $0 << 8 | UInt32($1) }
    }

    public var description: String { "key \(id)" }

    /// Reads a key file: exactly 32 bytes, readable by its owner only.
    public static func load(path: String) throws(StoreError) -> StoreKey {
        var st = stat()
        guard stat(path, &st) == 0 else {
            throw .encryption("cannot read the encryption key file \(path): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & 0o077 == 0 else {
            throw .encryption(
                "encryption key file \(path) has mode \(String(st.st_mode & 0o777, radix: 8)): group or others "
                    + "can reach it; run `chmod 600 \(path)`")
        }
        let bytes: [UInt8]
        do { bytes = try FileIO.readFile(path, limit: 4096) } catch {
            throw .encryption("cannot read the encryption key file \(path): \(error)")
        }
        guard bytes.count == size else {
            throw .encryption(
                "encryption key file \(path) holds \(bytes.count) bytes, not \(size): "
                    + "make one with `troved key new FILE`")
        }
        return try StoreKey(bytes: bytes)
    }

    /// Creates a key file with 32 random bytes, mode 0600, durably; refuses to overwrite.
    public static func create(path: String) throws(StoreError) -> StoreKey {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == EEXIST { throw .encryption("\(path) already exists: refusing to overwrite a key file") }
            throw .encryption("cannot create \(path): \(String(cString: strerror(e)))")
        }
        let bytes = SecureRandom.bytes(size)
        do {
            try FileIO.pwriteAll(fd, bytes, at: 0, path)
            try FileIO.fsync(fd, path)
            close(fd)
            try FileIO.fsyncDirectory(FileIO.parent(of: path))
        } catch {
            close(fd)
            unlink(path)
            throw .encryption("cannot write \(path): \(error)")
        }
        return try StoreKey(bytes: bytes)
    }
}

/// The keys a store is opened with (`StoreOptions.encryption`; troved's `[store]
/// encryption_key_file` and `encryption_old_key_files`). New data is sealed under `key`; `oldKeys`
/// only open data written before a rotation.
public struct StoreEncryption: Sendable {
    public var key: StoreKey
    public var oldKeys: [StoreKey]

    public init(key: StoreKey, oldKeys: [StoreKey] = []) {
        self.key = key
        self.oldKeys = oldKeys
    }
}
