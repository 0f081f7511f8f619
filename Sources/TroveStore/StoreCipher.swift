import Synchronization
import TroveCore

/// Encryption at rest for one open store (docs/STORE.md, "Encryption at rest"): the keys by
/// tag, the per-pack keys derived so far, and pooled AES-256-GCM contexts.
final class StoreCipher: Sendable {
    /// New packs and objects are sealed under this key.
    let current: StoreKey
    let keys: [UInt32: StoreKey]
    /// HMAC-SHA256(key, "trove-objects-v1") per key tag: the key objects are sealed with.
    let objectKeys: [UInt32: [UInt8]]
    let contexts = Pool<AESGCM>()
    /// Pack name → its seal, derived on first use (one header read and one HMAC per pack).
    let packs = Mutex<[String: PackSeal]>([:])

    init(_ e: StoreEncryption) {
        current = e.key
        var keys: [UInt32: StoreKey] = [:]
        for k in e.oldKeys + [e.key] { keys[k.tag] = k }
        self.keys = keys
        objectKeys = keys.mapValues { HMACSHA256.mac(key: $0.bytes, message: Array("trove-objects-v1".utf8)).bytes }
    }

    func key(tag: UInt32, for what: String) throws(StoreError) -> StoreKey {
        guard let k = keys[tag] else {
            throw .encryption(
                "\(what) is sealed with a key whose id starts \(PackSeal.hex(tag)), which is not configured: "
                    + "list its key file in encryption_old_key_files")
        }
        return k
    }

    /// The seal of pack `name` written under the key with `tag`.
    func packSeal(name: String, tag: UInt32) throws(StoreError) -> PackSeal {
        if let s = packs.withLock({ $0[name] }), s.tag == tag { return s }
        let k = try key(tag: tag, for: "pack \(name)")
        let s = PackSeal(
            key: HMACSHA256.mac(key: k.bytes, message: Array(("trove-pack-v1:" + name).utf8)).bytes, tag: tag,
            cipher: self)
        packs.withLock { $0[name] = s }
        return s
    }

    // MARK: Objects

    static let objectMagic: [UInt8] = Array("TOBE".utf8)
    /// "TOBE" | key tag u32 | nonce (12) | sealed object-file bytes | tag (16).
    static let objectOverhead = 8 + AESGCM.nonceSize + AESGCM.tagSize

    /// Seals an object file's bytes (or a catalog row's, the same form) under the current key;
    /// the object's digest is bound in as associated data.
    func sealObject(_ plain: [UInt8], digest: Digest, nonce: [UInt8]? = nil) -> [UInt8] {
        let tag = current.tag
        var header = ByteBuffer(capacity: Self.objectOverhead + plain.count)
        header.raw(Self.objectMagic)
        header.u32(tag)
        let aad = header.bytes + digest.bytes
        let nonce = nonce ?? SecureRandom.bytes(AESGCM.nonceSize)
        var out = header.bytes + nonce + [UInt8](repeating: 0, count: plain.count + AESGCM.tagSize)
        let key = objectKeys[tag]!
        let gcm = contexts.take { AESGCM() }
        defer { contexts.put(gcm) }
        out.withUnsafeMutableBytes { o in
            plain.withUnsafeBytes { p in
                gcm.seal(
                    key: key, nonce: nonce, aad: aad, p,
                    into: UnsafeMutableRawBufferPointer(rebasing: o[(8 + AESGCM.nonceSize)...]))
            }
        }
        return out
    }

    /// Opens a sealed object; throws `.corruptData` if it was altered (or belongs to another
    /// digest), `.encryption` if its key is not configured.
    func openObject(_ sealed: [UInt8], digest: Digest) throws(StoreError) -> [UInt8] {
        guard sealed.count >= Self.objectOverhead, sealed.starts(with: Self.objectMagic) else {
            throw .corruptData(what: "object \(digest)", detail: "not sealed (this store is encrypted)")
        }
        let tag = sealed.withUnsafeBytes { $0.beU32(4) }
        _ = try key(tag: tag, for: "object \(digest)")
        let key = objectKeys[tag]!
        let aad = Array(sealed[0..<8]) + digest.bytes
        var out = [UInt8](repeating: 0, count: sealed.count - Self.objectOverhead)
        let gcm = contexts.take { AESGCM() }
        defer { contexts.put(gcm) }
        let ok = sealed.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in
                gcm.open(
                    key: key, nonce: UnsafeRawBufferPointer(rebasing: s[8..<(8 + AESGCM.nonceSize)]), aad: aad,
                    UnsafeRawBufferPointer(rebasing: s[(8 + AESGCM.nonceSize)...]), into: o)
            }
        }
        guard ok else {
            throw .corruptData(what: "object \(digest)", detail: "authentication tag mismatch (altered, or a wrong key)")
        }
        return out
    }
}

/// One encrypted pack's keys: records are sealed with a per-pack key (HMAC-SHA256 of the store
/// key and the pack's random name), each under a random 12-byte nonce stored with it, the
/// record's digest, raw length, codec and offset bound in as associated data. The digest fields
/// of record headers and trailer entries hold the digest XOR HMAC-SHA256(pack key, "mask" |
/// offset), so the packs alone do not say which chunks they hold.
struct PackSeal: Sendable {
    let key: [UInt8]
    let tag: UInt32
    let cipher: StoreCipher

    /// Bytes a sealed record's stored bytes add: nonce + tag.
    static let overhead = AESGCM.nonceSize + AESGCM.tagSize

    static func hex(_ tag: UInt32) -> String {
        let s = String(tag, radix: 16)
        return String(repeating: "0", count: 8 - s.count) + s
    }

    /// The digest field at `offset` (masking and unmasking are the same XOR).
    func mask(_ d: Digest, offset: Int) -> Digest {
        var m = ByteBuffer(capacity: 12)
        m.raw(Array("mask".utf8))
        m.u64(UInt64(offset))
        let pad = HMACSHA256.mac(key: key, message: m.bytes).bytes
        return Digest(bytes: zip(d.bytes, pad).map { $0 ^ $1 })!
    }

    static func aad(_ digest: Digest, rawLength: Int, codec: Codec, offset: Int) -> [UInt8] {
        var a = ByteBuffer(capacity: 45)
        a.digest(digest)
        a.u32(UInt32(rawLength))
        a.u8(codec.rawValue)
        a.u64(UInt64(offset))
        return a.bytes
    }

    /// nonce | ciphertext | tag for a record's stored (compressed) bytes.
    func seal(
        _ stored: [UInt8], digest: Digest, rawLength: Int, codec: Codec, offset: Int, nonce: [UInt8]? = nil
    ) -> [UInt8] {
        let nonce = nonce ?? SecureRandom.bytes(AESGCM.nonceSize)
        let aad = Self.aad(digest, rawLength: rawLength, codec: codec, offset: offset)
        var out = nonce + [UInt8](repeating: 0, count: stored.count + AESGCM.tagSize)
        let gcm = cipher.contexts.take { AESGCM() }
        defer { cipher.contexts.put(gcm) }
        out.withUnsafeMutableBytes { o in
            stored.withUnsafeBytes { p in
                gcm.seal(
                    key: key, nonce: nonce, aad: aad, p,
                    into: UnsafeMutableRawBufferPointer(rebasing: o[AESGCM.nonceSize...]))
            }
        }
        return out
    }

    /// The stored bytes of a sealed record described by `e` (plaintext digest, sealed length),
    /// or nil if the tag does not verify.
    func open(_ sealed: UnsafeRawBufferPointer, _ e: PackEntry, using gcm: AESGCM) -> [UInt8]? {
        guard sealed.count >= Self.overhead else { return nil }
        let aad = Self.aad(e.digest, rawLength: e.rawLength, codec: e.codec, offset: e.offset)
        var out = [UInt8](repeating: 0, count: sealed.count - Self.overhead)
        let ok = out.withUnsafeMutableBytes { o in
            gcm.open(
                key: key, nonce: UnsafeRawBufferPointer(rebasing: sealed[..<AESGCM.nonceSize]), aad: aad,
                UnsafeRawBufferPointer(rebasing: sealed[AESGCM.nonceSize...]), into: o)
        }
        return ok ? out : nil
    }

    /// `open` with a pooled context.
    func open(_ sealed: UnsafeRawBufferPointer, _ e: PackEntry) -> [UInt8]? {
        let gcm = cipher.contexts.take { AESGCM() }
        defer { cipher.contexts.put(gcm) }
        return open(sealed, e, using: gcm)
    }
}

extension Store {
    /// The seal of pack `name` (nil in a plaintext store), from its header (read through
    /// `read` once per pack and process). Throws if the pack is not encrypted or its key is not
    /// configured.
    /// A plaintext store reads no header here (the scanners check it).
    func packSeal(name: String, read: () throws(StoreError) -> [UInt8]) throws(StoreError) -> PackSeal? {
        guard let cipher else { return nil }
        if let s = cipher.packs.withLock({ $0[name] }) { return s }
        guard let tag = try PackFormat.parseHeader(try read(), what: "pack \(name)") else {
            throw .corruptData(what: "pack \(name)", detail: "not encrypted, but this store is: refusing to read it")
        }
        return try cipher.packSeal(name: name, tag: tag)
    }

    /// `packSeal(name:read:)` reading the header from an open pack file.
    func packSeal(name: String, fd: Int32, path: String) throws(StoreError) -> PackSeal? {
        try packSeal(name: name) { () throws(StoreError) in try FileIO.pread(fd, count: PackFormat.headerSize, at: 0, path) }
    }

    /// The seal new records of pack `name` get (nil in a plaintext store).
    func writeSeal(_ name: String) throws(StoreError) -> PackSeal? {
        guard let cipher else { return nil }
        return try cipher.packSeal(name: name, tag: cipher.current.tag)
    }
}
