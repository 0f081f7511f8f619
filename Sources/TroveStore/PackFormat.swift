import TroveCore

/// Where one chunk record lives in a pack, as listed by a segment trailer and the index.
struct PackEntry: Sendable, Hashable {
    var digest: Digest
    /// Offset of the record (its tag) in the pack file.
    var offset: Int
    var rawLength: Int
    var codec: Codec
    var storedLength: Int
}

/// The pack file format (big-endian): version 1 plaintext, version 2 encrypted (docs/STORE.md).
///
/// ```
/// header   "TRVPACK\0" (8) | version u32 = 1 | reserved u32 = 0                      16 bytes
///          version 2: "TRVPACK\0" | 2 | key tag u32 (first 4 bytes of the sealing key's id)
/// segment  record* trailer footer            (one per group commit; appended, never rewritten)
/// record   "TREC" | digest (32) | raw_len u32 | codec u8 | stored_len u32 | crc32c(stored) u32 | stored bytes
/// trailer  "TTRL" | count u32 | count × {digest (32), offset u64, raw_len u32, codec u8, stored_len u32}
///          | SHA-256 of the trailer bytes above (32)
/// footer   trailer_offset u64 | count u32 | "TSEG"                                          16 bytes
/// ```
/// A segment is sealed once its footer is durable; the index only ever points into sealed
/// segments. The file's last 16 bytes are always the footer of its last segment, and the
/// footer of the previous segment ends right before the first record of the next one, so the
/// trailers can be walked backwards from the end without reading records.
///
/// In a version 2 pack each record's stored bytes are sealed (`PackSeal`: nonce | AES-256-GCM
/// ciphertext of the compressed bytes | tag; stored_len and the CRC-32C cover the sealed bytes)
/// and every digest field, in record headers and trailer entries alike, is masked by its offset.
enum PackFormat {
    static let magic: [UInt8] = Array("TRVPACK\0".utf8)
    static let version: UInt32 = 1
    static let encryptedVersion: UInt32 = 2
    static let headerSize = 16
    static let recordTag: [UInt8] = Array("TREC".utf8)
    static let trailerTag: [UInt8] = Array("TTRL".utf8)
    static let footerTag: [UInt8] = Array("TSEG".utf8)
    static let recordHeaderSize = 4 + 32 + 4 + 1 + 4 + 4
    static let trailerEntrySize = 32 + 8 + 4 + 1 + 4
    static let footerSize = 16
    /// Largest stored or raw length a record may declare.
    static let maxRecordLength = 64 << 20

    /// The header of a plaintext pack (`keyTag` nil) or of one encrypted under that key.
    static func header(keyTag: UInt32?) -> [UInt8] {
        var w = ByteBuffer()
        w.raw(magic)
        w.u32(keyTag == nil ? version : encryptedVersion)
        w.u32(keyTag ?? 0)
        return w.bytes
    }

    /// The key tag of an encrypted pack's header, nil for a plaintext one; throws otherwise.
    static func parseHeader(_ h: [UInt8], what: String) throws(StoreError) -> UInt32? {
        guard h.count == headerSize, h.starts(with: magic) else {
            throw .corruptData(what: what, detail: "bad pack header")
        }
        let (v, tag) = h.withUnsafeBytes { ($0.beU32(8), $0.beU32(12)) }
        switch v {
        case version where tag == 0: return nil
        case encryptedVersion: return tag
        default: throw .corruptData(what: what, detail: "unknown pack version \(v)")
        }
    }

    /// Serialises records + trailer + footer for a segment starting at `start`; with `seal`,
    /// sealed (the records' `crc` is then recomputed over the sealed bytes). The entries
    /// returned hold the plain digests and the stored (sealed) lengths.
    static func segment(
        _ records: [(digest: Digest, codec: Codec, rawLength: Int, stored: [UInt8], crc: UInt32)], start: Int,
        seal: PackSeal? = nil
    ) -> (bytes: [UInt8], entries: [PackEntry]) {
        let extra = seal == nil ? 0 : PackSeal.overhead
        var total = trailerEntrySize * records.count + 8 + 32 + footerSize
        for r in records { total += recordHeaderSize + r.stored.count + extra }
        var w = ByteBuffer(capacity: total)
        var entries: [PackEntry] = []
        var fields: [Digest] = []
        entries.reserveCapacity(records.count)
        for r in records {
            let offset = start + w.bytes.count
            var stored = r.stored
            var crc = r.crc
            var field = r.digest
            if let seal {
                stored = seal.seal(r.stored, digest: r.digest, rawLength: r.rawLength, codec: r.codec, offset: offset)
                crc = CRC32C.checksum(stored)
                field = seal.mask(r.digest, offset: offset)
            }
            entries.append(
                PackEntry(
                    digest: r.digest, offset: offset, rawLength: r.rawLength, codec: r.codec,
                    storedLength: stored.count))
            fields.append(field)
            w.raw(recordTag)
            w.digest(field)
            w.u32(UInt32(r.rawLength))
            w.u8(r.codec.rawValue)
            w.u32(UInt32(stored.count))
            w.u32(crc)
            w.raw(stored)
        }
        let trailerStart = w.bytes.count
        w.raw(trailerTag)
        w.u32(UInt32(entries.count))
        for (e, field) in zip(entries, fields) {
            var masked = e
            masked.digest = field
            appendEntry(&w, masked)
        }
        let h = w.bytes.withUnsafeBytes {
            SHA256().hash(UnsafeRawBufferPointer(rebasing: $0[trailerStart...]))
        }
        w.digest(h)
        w.u64(UInt64(start + trailerStart))
        w.u32(UInt32(entries.count))
        w.raw(footerTag)
        return (w.bytes, entries)
    }

    static func appendEntry(_ w: inout ByteBuffer, _ e: PackEntry) {
        w.digest(e.digest)
        w.u64(UInt64(e.offset))
        w.u32(UInt32(e.rawLength))
        w.u8(e.codec.rawValue)
        w.u32(UInt32(e.storedLength))
    }
}

/// A growable big-endian byte buffer for pack and ref-log encodings.
struct ByteBuffer {
    var bytes: [UInt8] = []

    init(capacity: Int = 0) { bytes.reserveCapacity(capacity) }

    mutating func u8(_ v: UInt8) { bytes.append(v) }
    mutating func u32(_ v: UInt32) {
        bytes.append(UInt8(truncatingIfNeeded: v >> 24))
        bytes.append(UInt8(truncatingIfNeeded: v >> 16))
        bytes.append(UInt8(truncatingIfNeeded: v >> 8))
        bytes.append(UInt8(truncatingIfNeeded: v))
    }
    mutating func u64(_ v: UInt64) {
        u32(UInt32(truncatingIfNeeded: v >> 32))
        u32(UInt32(truncatingIfNeeded: v))
    }
    mutating func digest(_ d: Digest) {
        let start = bytes.count
        bytes.append(contentsOf: repeatElement(0, count: 32))
        bytes.withUnsafeMutableBytes { d.write(to: $0.baseAddress! + start) }
    }
    mutating func raw<C: Collection>(_ c: C) where C.Element == UInt8 { bytes.append(contentsOf: c) }
    /// Length-prefixed (u32) UTF-8 string.
    mutating func string(_ s: String) {
        let u = Array(s.utf8)
        u32(UInt32(u.count))
        raw(u)
    }
}

/// Big-endian reads from a raw buffer at fixed offsets (callers check bounds first).
extension UnsafeRawBufferPointer {
    func beU32(_ at: Int) -> UInt32 { UInt32(bigEndian: loadUnaligned(fromByteOffset: at, as: UInt32.self)) }
    func beU64(_ at: Int) -> UInt64 { UInt64(bigEndian: loadUnaligned(fromByteOffset: at, as: UInt64.self)) }
    func digest(_ at: Int) -> Digest { Digest(pointer: baseAddress! + at) }
    func matches(_ tag: [UInt8], at: Int) -> Bool {
        guard at >= 0, at + tag.count <= count else { return false }
        for (i, b) in tag.enumerated() where self[at + i] != b { return false }
        return true
    }
}
