/// tar structure (ustar, pax, GNU): cuts at the start of each member (its first extended header,
/// if any) and at the start of its data, and at the end-of-archive marker.
///
/// Walks headers from offset 0; every header must carry the "ustar" magic and a valid checksum;
/// sizes are octal or GNU base-256, overridden by a pax `size` record. Data is skipped for the
/// same entry types as Python's tarfile (regular files, extended headers and unknown types; not
/// for links, devices, directories and FIFOs). GNU sparse members, global pax sizes, sparse pax
/// records, truncation and a partial trailing block are refused.
enum TarBoundaries {
    static let maxPaxHeader: UInt64 = 1 << 20

    static func cuts<R: RandomAccessReader>(_ reader: R) throws(FormatRejection) -> [UInt64] {
        let size = reader.size
        guard size >= 512 else { throw .rejected("tar: too short") }
        var r = WindowReader(reader, readahead: 16 << 10)
        var cuts: [UInt64] = []
        var offset: UInt64 = 0
        var memberStart: UInt64?
        var paxSize: UInt64?
        while offset < size {
            guard size - offset >= 512 else { throw .rejected("tar: partial block at \(offset)") }
            let h = try r.bytes(offset, 512)
            if h.allSatisfy({ $0 == 0 }) {
                guard offset > 0 else { throw .rejected("tar: starts with an empty block") }
                guard memberStart == nil else { throw .rejected("tar: extended header without a member") }
                cuts.append(offset)
                break
            }
            guard try checksumValid(h) else { throw .rejected("tar: bad header checksum at \(offset)") }
            let magic = h[h.startIndex + 257..<h.startIndex + 262]
            guard magic.elementsEqual("ustar".utf8) else {
                throw .rejected("tar: no ustar magic at \(offset)")
            }
            let type = h[h.startIndex + 156]
            var length = try number(h, 124, 12)
            let dataStart = offset + 512
            switch type {
            case UInt8(ascii: "x"), UInt8(ascii: "g"):
                guard length <= maxPaxHeader, size - dataStart >= length else {
                    throw .rejected("tar: pax header too long or truncated at \(offset)")
                }
                let records = Array(try r.bytes(dataStart, Int(length)))
                let found = try paxRecordsSize(records)
                if type == UInt8(ascii: "g") {
                    guard found == nil else { throw .rejected("tar: global pax size") }
                } else {
                    paxSize = found
                }
                if memberStart == nil { memberStart = offset }
            case UInt8(ascii: "L"), UInt8(ascii: "K"):
                if memberStart == nil { memberStart = offset }
            case UInt8(ascii: "S"):
                throw .rejected("tar: GNU sparse member")
            case UInt8(ascii: "1"), UInt8(ascii: "2"), UInt8(ascii: "3"), UInt8(ascii: "4"),
                UInt8(ascii: "5"),
                UInt8(ascii: "6"):
                cuts.append(memberStart ?? offset)
                memberStart = nil
                paxSize = nil
                length = 0
            default:
                if let s = paxSize { length = s }
                cuts.append(memberStart ?? offset)
                if length > 0 { cuts.append(dataStart) }
                memberStart = nil
                paxSize = nil
            }
            let padded = length > UInt64.max - 511 ? UInt64.max : (length + 511) / 512 * 512
            guard padded <= size - dataStart else { throw .rejected("tar: member truncated at \(offset)") }
            offset = dataStart + padded
            guard cuts.count < BoundaryPlan.maxCuts else { throw .rejected("tar: too many members") }
        }
        guard memberStart == nil else { throw .rejected("tar: extended header without a member") }
        guard !cuts.isEmpty else { throw .rejected("tar: no members") }
        return cuts
    }

    /// The header checksum (octal at 148..<156) equals the byte sum with that field as spaces
    /// (unsigned, or signed as some old tars computed it).
    static func checksumValid(_ h: ArraySlice<UInt8>) throws(FormatRejection) -> Bool {
        let stored = try octal(h, 148, 8)
        var unsigned: Int = 0
        var signed: Int = 0
        for k in 0..<512 {
            let b = (k >= 148 && k < 156) ? UInt8(0x20) : h[h.startIndex + k]
            unsigned += Int(b)
            signed += Int(Int8(bitPattern: b))
        }
        return stored == UInt64(unsigned) || (signed >= 0 && stored == UInt64(signed))
    }

    /// A numeric field: GNU base-256 (high bit set; negative refused) or octal.
    static func number(_ h: ArraySlice<UInt8>, _ at: Int, _ width: Int) throws(FormatRejection) -> UInt64 {
        let first = h[h.startIndex + at]
        guard first & 0x80 != 0 else { return try octal(h, at, width) }
        guard first == 0x80 else { throw .rejected("tar: negative or oversized base-256 number") }
        var v: UInt64 = 0
        for k in 1..<width {
            guard v >> 56 == 0 else { throw .rejected("tar: base-256 number too large") }
            v = v << 8 | UInt64(h[h.startIndex + at + k])
        }
        guard v <= UInt64(Int64.max) else { throw .rejected("tar: base-256 number too large") }
        return v
    }

    /// Octal digits, optionally surrounded by spaces and ended by NUL or space.
    static func octal(_ h: ArraySlice<UInt8>, _ at: Int, _ width: Int) throws(FormatRejection) -> UInt64 {
        var k = 0
        let base = h.startIndex + at
        while k < width, h[base + k] == 0x20 { k += 1 }
        var v: UInt64 = 0
        while k < width, h[base + k] >= 0x30, h[base + k] <= 0x37 {
            guard v >> 60 == 0 else { throw .rejected("tar: octal number too large") }
            v = v << 3 | UInt64(h[base + k] - 0x30)
            k += 1
        }
        while k < width {
            guard h[base + k] == 0 || h[base + k] == 0x20 else { throw .rejected("tar: bad octal field") }
            k += 1
        }
        return v
    }

    /// The value of a pax `size` record, if any; refuses malformed records and sparse files.
    static func paxRecordsSize(_ records: [UInt8]) throws(FormatRejection) -> UInt64? {
        var p = 0
        var size: UInt64?
        while p < records.count {
            if records[p] == 0 { break }  // some writers pad with NULs
            var length = 0
            var q = p
            while q < records.count, records[q] >= 0x30, records[q] <= 0x39, q - p < 8 {
                length = length * 10 + Int(records[q] - 0x30)
                q += 1
            }
            guard q > p, q < records.count, records[q] == 0x20, length > q - p + 1,
                length <= records.count - p, records[p + length - 1] == 0x0A
            else { throw .rejected("tar: malformed pax record") }
            let body = records[(q + 1)..<(p + length - 1)]
            guard let eq = body.firstIndex(of: UInt8(ascii: "=")) else {
                throw .rejected("tar: malformed pax record")
            }
            let key = body[body.startIndex..<eq]
            if key.starts(with: "GNU.sparse".utf8) { throw .rejected("tar: pax sparse file") }
            if key.elementsEqual("size".utf8) {
                var v: UInt64 = 0
                let value = body[(eq + 1)...]
                guard !value.isEmpty, value.count <= 19 else { throw .rejected("tar: bad pax size") }
                for c in value {
                    guard c >= 0x30, c <= 0x39 else { throw .rejected("tar: bad pax size") }
                    v = v * 10 + UInt64(c - 0x30)
                }
                size = v
            }
            p += length
        }
        return size
    }
}
