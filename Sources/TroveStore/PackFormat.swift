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

/// The pack file format (big-endian). Versions 3 (plaintext) and 4 (encrypted) are written;
/// 1 (plaintext) and 2 (encrypted), whose segments end anywhere, are still read (docs/STORE.md).
///
/// ```
/// header   "TRVPACK\0" (8) | version u32 = 3 (or 1) | reserved u32 = 0                  16 bytes
///          encrypted: "TRVPACK\0" | 4 (or 2) | key tag u32 (first 4 bytes of the sealing key's id)
/// segment  record* pad? trailer footer      (one per group commit; appended, never rewritten)
/// record   "TREC" | digest (32) | raw_len u32 | codec u8 | stored_len u32 | crc32c(stored) u32 | stored bytes
/// pad      "TPAD" | pad_len u32 | zeros              (versions 3, 4 only; pad_len bytes in all, 8…4103)
/// trailer  "TTRL" | count u32 | count × {digest (32), offset u64, raw_len u32, codec u8, stored_len u32}
///          | SHA-256 of the trailer bytes above (32)
/// footer   trailer_offset u64 | count u32 | "TSEG"                                          16 bytes
/// ```
/// A segment is sealed once its footer is durable; the index only ever points into sealed
/// segments. The file's last 16 bytes are always the footer of its last segment, and the
/// footer of the previous segment ends right before the first record of the next one, so the
/// trailers can be walked backwards from the end without reading records.
///
/// Versions 3 and 4: every segment ends at a multiple of `alignment` in the file (the pad, when
/// needed, makes it so), so segments are written with `O_DIRECT` from an aligned buffer, whole
/// pages at a time, and never pass through the page cache (docs/STORE.md, "Packs: sealed
/// segments").
///
/// In an encrypted pack each record's stored bytes are sealed (`PackSeal`: nonce | AES-256-GCM
/// ciphertext of the compressed bytes | tag; stored_len and the CRC-32C cover the sealed bytes)
/// and every digest field, in record headers and trailer entries alike, is masked by its offset.
enum PackFormat {
    static let magic: [UInt8] = Array("TRVPACK\0".utf8)
    static let version: UInt32 = 1
    static let encryptedVersion: UInt32 = 2
    static let alignedVersion: UInt32 = 3
    static let alignedEncryptedVersion: UInt32 = 4
    static let headerSize = 16
    static let recordTag: [UInt8] = Array("TREC".utf8)
    static let padTag: [UInt8] = Array("TPAD".utf8)
    static let trailerTag: [UInt8] = Array("TTRL".utf8)
    static let footerTag: [UInt8] = Array("TSEG".utf8)
    static let recordHeaderSize = 4 + 32 + 4 + 1 + 4 + 4
    static let trailerEntrySize = 32 + 8 + 4 + 1 + 4
    static let footerSize = 16
    /// Where segments of versions 3 and 4 end (a multiple of it): the page and direct-I/O block size.
    static let alignment = 4096
    /// Smallest and largest pad block (tag and length included).
    static let padHeaderSize = 8
    static let maxPad = alignment + padHeaderSize - 1
    /// Largest stored or raw length a record may declare.
    static let maxRecordLength = 64 << 20

    /// The header written for a plaintext pack (`keyTag` nil) or one encrypted under that key.
    static func header(keyTag: UInt32?) -> [UInt8] {
        var w = ByteBuffer()
        w.raw(magic)
        w.u32(keyTag == nil ? alignedVersion : alignedEncryptedVersion)
        w.u32(keyTag ?? 0)
        return w.bytes
    }

    /// The key tag of an encrypted pack's header, nil for a plaintext one; throws otherwise.
    static func parseHeader(_ h: [UInt8], what: String) throws(StoreError) -> UInt32? {
        try parse(h, what: what).keyTag
    }

    /// Whether a pack with this header has aligned segments (versions 3 and 4).
    static func isAligned(_ h: [UInt8]) -> Bool {
        (try? parse(h, what: "")).map { $0.aligned } ?? false
    }

    private static func parse(_ h: [UInt8], what: String) throws(StoreError) -> (keyTag: UInt32?, aligned: Bool) {
        guard h.count == headerSize, h.starts(with: magic) else {
            throw .corruptData(what: what, detail: "bad pack header")
        }
        let (v, tag) = h.withUnsafeBytes { ($0.beU32(8), $0.beU32(12)) }
        switch v {
        case version where tag == 0: return (nil, false)
        case alignedVersion where tag == 0: return (nil, true)
        case encryptedVersion: return (tag, false)
        case alignedEncryptedVersion: return (tag, true)
        default: throw .corruptData(what: what, detail: "unknown pack version \(v)")
        }
    }

    /// The pad an aligned segment needs between its last record (ending at `recordsEnd`) and a
    /// trailer of `count` entries: 0, or `padHeaderSize…maxPad` bytes.
    static func padLength(recordsEnd: Int, count: Int) -> Int {
        let end = recordsEnd + trailerSize(count: count)
        var pad = (alignment - end % alignment) % alignment
        if pad > 0 && pad < padHeaderSize { pad += alignment }
        return pad
    }

    /// Trailer and footer bytes of a segment of `count` records.
    static func trailerSize(count: Int) -> Int { 8 + count * trailerEntrySize + 32 + footerSize }

    /// Whether a gap of `gap` bytes between a segment's last record and its trailer is allowed.
    static func validPad(_ gap: Int, aligned: Bool) -> Bool {
        gap == 0 || (aligned && gap >= padHeaderSize && gap <= maxPad)
    }

    static func appendEntry(_ w: inout ByteBuffer, _ e: PackEntry) {
        w.digest(e.digest)
        w.u64(UInt64(e.offset))
        w.u32(UInt32(e.rawLength))
        w.u8(e.codec.rawValue)
        w.u32(UInt32(e.storedLength))
    }

    /// The header of a record of `stored` bytes whose digest field is `field`.
    static func appendRecordHeader(
        _ w: inout ByteBuffer, field: Digest, rawLength: Int, codec: Codec, storedLength: Int, crc: UInt32
    ) {
        w.raw(recordTag)
        w.digest(field)
        w.u32(UInt32(rawLength))
        w.u8(codec.rawValue)
        w.u32(UInt32(storedLength))
        w.u32(crc)
    }

    /// Whether a record's header bytes describe `e` with digest field `field` (the digest, masked
    /// in an encrypted pack) and, with `checkCRC`, its stored bytes have the CRC-32C it declares.
    static func recordMatches(
        header b: UnsafeRawBufferPointer, stored: UnsafeRawBufferPointer, _ e: PackEntry, field: Digest,
        checkCRC: Bool
    ) -> Bool {
        b.count >= recordHeaderSize && b.matches(recordTag, at: 0) && b.digest(4) == field
            && Int(b.beU32(36)) == e.rawLength && b[40] == e.codec.rawValue && Int(b.beU32(41)) == e.storedLength
            && stored.count == e.storedLength && (!checkCRC || CRC32C.update(0, stored) == b.beU32(45))
    }

    /// The CRC-32C field of a record header (the checksum of the record's stored bytes).
    static func recordCRC(header b: UnsafeRawBufferPointer) -> UInt32 { b.beU32(45) }

    /// The trailer and footer of a segment whose records are `entries` (digest fields as
    /// written) and whose trailer starts at `trailerOffset` in the file.
    static func trailer(_ entries: [PackEntry], at trailerOffset: Int) -> [UInt8] {
        var w = ByteBuffer(capacity: trailerSize(count: entries.count))
        w.raw(trailerTag)
        w.u32(UInt32(entries.count))
        for e in entries { appendEntry(&w, e) }
        let h = w.bytes.withUnsafeBytes { SHA256().hash($0) }
        w.digest(h)
        w.u64(UInt64(trailerOffset))
        w.u32(UInt32(entries.count))
        w.raw(footerTag)
        return w.bytes
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
