#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// ZIP / ZIP64 structure: each member's local header and data start, found through the central
/// directory, and the central directory (with the end records) as its own segment.
///
/// Strict: the end-of-central-directory record must end exactly at the end of the input (after its
/// comment), the directory must end exactly where the end records begin (no prefixed data), one
/// disk only, every local header where the directory says, and members' extents (header, name,
/// extra, stored bytes) must not overlap each other or the directory. Entries may be listed in any
/// order; they are sorted by offset.
enum ZipBoundaries {
    static let eocdSignature: UInt32 = 0x0605_4b50
    static let locatorSignature: UInt32 = 0x0706_4b50
    static let zip64EocdSignature: UInt32 = 0x0606_4b50
    static let centralSignature: UInt32 = 0x0201_4b50
    static let localSignature: UInt32 = 0x0403_4b50

    static func cuts<R: RandomAccessReader>(_ reader: R) throws(FormatRejection) -> [UInt64] {
        let size = reader.size
        guard size >= 22 else { throw .rejected("zip: shorter than an end record") }
        // 1. The end record: the last "PK\5\6" whose comment ends exactly at the end of input.
        let tailLength = Int(Swift.min(size, 22 + 65_535))
        var tail = WindowReader(reader, readahead: tailLength)
        let tailStart = size - UInt64(tailLength)
        let t = try tail.bytes(tailStart, tailLength)
        // The highest position that qualifies. Detection runs on every file pushed, so the scan
        // of up to 64 KiB jumps between "P" bytes with memchr instead of testing every position.
        let last = tailLength - 22
        let eocd: Int = t.withUnsafeBytes { raw in
            guard let base = raw.baseAddress else { return -1 }
            var found = -1
            var from = 0
            while from <= last, let hit = memchr(base + from, 0x50, last - from + 1) {
                let i = base.distance(to: UnsafeRawPointer(hit))
                if t.le(i, 4) == eocdSignature, i + 22 + Int(t.le(i + 20, 2)) == tailLength { found = i }
                from = i + 1
            }
            return found
        }
        guard eocd >= 0 else { throw .rejected("zip: no end of central directory record") }
        let eocdOffset = tailStart + UInt64(eocd)
        var disk = t.le(eocd + 4, 2)
        var cdDisk = t.le(eocd + 6, 2)
        var entriesHere = t.le(eocd + 8, 2)
        var entries = t.le(eocd + 10, 2)
        var cdSize = t.le(eocd + 12, 4)
        var cdOffset = t.le(eocd + 16, 4)
        var cdEnd = eocdOffset

        // 2. ZIP64: a locator right before the end record points at the ZIP64 end record.
        var reader2 = WindowReader(reader, readahead: 4096)
        if eocdOffset >= 20, try reader2.u32(eocdOffset - 20) == locatorSignature {
            let locator = eocdOffset - 20
            let z = try reader2.u64(locator + 8)
            guard try reader2.u32(locator + 4) == 0, try reader2.u32(locator + 16) <= 1 else {
                throw .rejected("zip: multi-disk archive")
            }
            guard z <= locator, locator - z >= 56 else {
                throw .rejected("zip: ZIP64 end record out of place")
            }
            guard try reader2.u32(z) == zip64EocdSignature else {
                throw .rejected("zip: no ZIP64 end record where the locator says")
            }
            let recordSize = try reader2.u64(z + 4)
            guard recordSize >= 44, recordSize <= locator - z - 12 else {
                throw .rejected("zip: bad ZIP64 end record size")
            }
            disk = UInt64(try reader2.u32(z + 16))
            cdDisk = UInt64(try reader2.u32(z + 20))
            entriesHere = try reader2.u64(z + 24)
            entries = try reader2.u64(z + 32)
            cdSize = try reader2.u64(z + 40)
            cdOffset = try reader2.u64(z + 48)
            cdEnd = z
        } else if entries == 0xFFFF || cdSize == 0xFFFF_FFFF || cdOffset == 0xFFFF_FFFF {
            throw .rejected("zip: ZIP64 values without a ZIP64 locator")
        }
        guard disk == 0, cdDisk == 0, entriesHere == entries else {
            throw .rejected("zip: multi-disk archive")
        }
        guard cdOffset <= cdEnd, cdEnd - cdOffset == cdSize else {
            throw .rejected("zip: central directory does not end where the end record starts")
        }
        guard entries <= cdSize / 46, entries <= UInt64(BoundaryPlan.maxCuts / 2) else {
            throw .rejected("zip: entry count \(entries) does not fit the central directory")
        }

        // 3. The central directory, read sequentially.
        var members: [(header: UInt64, stored: UInt64)] = []
        members.reserveCapacity(Int(entries))
        var cd = WindowReader(reader, readahead: 1 << 20)
        var p = cdOffset
        for _ in 0..<entries {
            guard cdEnd - p >= 46 else { throw .rejected("zip: central directory truncated") }
            let e = try cd.bytes(p, 46)
            guard e.le(0, 4) == UInt64(centralSignature) else {
                throw .rejected("zip: bad central directory entry signature at \(p)")
            }
            var stored = e.le(20, 4)
            var uncompressed = e.le(24, 4)
            let nameLength = e.le(28, 2)
            let extraLength = e.le(30, 2)
            let commentLength = e.le(32, 2)
            var diskStart = e.le(34, 2)
            var header = e.le(42, 4)
            let entryLength = 46 + nameLength + extraLength + commentLength
            guard cdEnd - p >= entryLength else { throw .rejected("zip: central directory entry truncated") }
            if stored == 0xFFFF_FFFF || uncompressed == 0xFFFF_FFFF || header == 0xFFFF_FFFF
                || diskStart == 0xFFFF
            {
                // ZIP64 extended information: present fields in a fixed order.
                var x = p + 46 + nameLength
                let xEnd = x + extraLength
                var found = false
                while xEnd - x >= 4 {
                    let id = try cd.u16(x)
                    let length = UInt64(try cd.u16(x + 2))
                    guard xEnd - x - 4 >= length else { throw .rejected("zip: extra field overruns") }
                    if id == 1 {
                        var f = x + 4
                        let fEnd = f + length
                        func next(_ width: UInt64) throws(FormatRejection) -> UInt64 {
                            guard fEnd - f >= width else {
                                throw .rejected("zip: ZIP64 extra field too short")
                            }
                            let v = width == 8 ? try cd.u64(f) : UInt64(try cd.u32(f))
                            f += width
                            return v
                        }
                        if uncompressed == 0xFFFF_FFFF { uncompressed = try next(8) }
                        if stored == 0xFFFF_FFFF { stored = try next(8) }
                        if header == 0xFFFF_FFFF { header = try next(8) }
                        if diskStart == 0xFFFF { diskStart = try next(4) }
                        found = true
                        break
                    }
                    x += 4 + length
                }
                guard found else { throw .rejected("zip: ZIP64 values without a ZIP64 extra field") }
            }
            guard diskStart == 0 else { throw .rejected("zip: member on another disk") }
            guard header < cdOffset, stored <= cdOffset else {
                throw .rejected("zip: member outside the archive")
            }
            members.append((header, stored))
            p += entryLength
        }
        guard p == cdEnd else { throw .rejected("zip: central directory has trailing bytes") }

        // 4. Local headers, in offset order: where each member's data starts; no overlaps.
        members.sort { $0.header < $1.header }
        var cuts: [UInt64] = []
        cuts.reserveCapacity(2 * members.count + 1)
        var local = WindowReader(reader, readahead: 4096)
        var previousEnd: UInt64 = 0
        for m in members {
            guard m.header >= previousEnd else { throw .rejected("zip: members overlap at \(m.header)") }
            guard cdOffset - m.header >= 30 else { throw .rejected("zip: local header outside the archive") }
            let h = try local.bytes(m.header, 30)
            guard h.le(0, 4) == UInt64(localSignature) else {
                throw .rejected("zip: no local header at \(m.header)")
            }
            let dataStart = m.header + 30 + h.le(26, 2) + h.le(28, 2)
            guard dataStart <= cdOffset, cdOffset - dataStart >= m.stored else {
                throw .rejected("zip: member data runs into the central directory")
            }
            cuts.append(m.header)
            cuts.append(dataStart)
            previousEnd = dataStart + m.stored
        }
        cuts.append(cdOffset)
        return cuts
    }
}
