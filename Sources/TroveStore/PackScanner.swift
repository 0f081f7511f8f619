import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Reads pack structure: the fast backward trailer walk and the slow, forgiving forward scan.
enum PackScanner {
    /// Result of a forward scan: the records of every complete, verified segment and where the
    /// last one ends. Anything after `validEnd` is a torn or damaged tail.
    struct ScanResult {
        var entries: [PackEntry]
        var validEnd: Int
        var fileSize: Int
        /// Why the scan stopped before the end of the file, if it did.
        var problem: String?
        /// Where each complete segment ends, in file order (the last one is `validEnd`).
        var segmentEnds: [Int] = []
    }

    /// Checks the 16-byte header: plaintext without `seal`, encrypted under `seal`'s key with it.
    /// Returns whether the pack's segments are aligned (versions 3 and 4).
    @discardableResult
    static func checkHeader(_ fd: Int32, _ path: String, seal: PackSeal? = nil) throws(StoreError) -> Bool {
        let h = try FileIO.pread(fd, count: PackFormat.headerSize, at: 0, path)
        guard try PackFormat.parseHeader(h, what: path) == seal?.tag else {
            throw .corruptData(what: path, detail: "pack header does not match the store's encryption")
        }
        return PackFormat.isAligned(h)
    }

    /// Walks segment footers and trailers backwards from the end of the file, reading no
    /// records. Throws on any inconsistency (bad footer, trailer hash, non-contiguous offsets).
    /// With `seal` (an encrypted pack), the digests returned are unmasked.
    static func readTrailers(_ fd: Int32, _ path: String, size: Int, seal: PackSeal? = nil) throws(StoreError)
        -> [PackEntry]
    {
        let aligned = try checkHeader(fd, path, seal: seal)
        var segments: [[PackEntry]] = []
        var end = size
        let e = PackFormat.trailerEntrySize
        while end > PackFormat.headerSize {
            guard end - PackFormat.headerSize >= PackFormat.footerSize + 8 + 32 else {
                throw .corruptData(what: path, detail: "truncated segment before offset \(end)")
            }
            let footer = try FileIO.pread(
                fd, count: PackFormat.footerSize, at: end - PackFormat.footerSize, path)
            let (trailerOffset, count, tagOK) = footer.withUnsafeBytes {
                (Int(clamping: $0.beU64(0)), Int($0.beU32(8)), $0.matches(PackFormat.footerTag, at: 12))
            }
            guard tagOK, count > 0, trailerOffset >= PackFormat.headerSize, trailerOffset < end,
                trailerOffset + 8 + count * e + 32 + PackFormat.footerSize == end,
                !aligned || end % PackFormat.alignment == 0
            else { throw .corruptData(what: path, detail: "bad segment footer ending at \(end)") }
            let trailer = try FileIO.pread(fd, count: 8 + count * e + 32, at: trailerOffset, path)
            var entries: [PackEntry] = []
            entries.reserveCapacity(count)
            var bad: String? = nil
            trailer.withUnsafeBytes { t in
                guard t.matches(PackFormat.trailerTag, at: 0), Int(t.beU32(4)) == count else {
                    bad = "bad trailer header at \(trailerOffset)"
                    return
                }
                let hash = SHA256().hash(UnsafeRawBufferPointer(rebasing: t[0..<(8 + count * e)]))
                guard hash == t.digest(8 + count * e) else {
                    bad = "trailer hash mismatch at \(trailerOffset)"
                    return
                }
                var expected = -1
                for i in 0..<count {
                    let p = 8 + i * e
                    let offset = Int(clamping: t.beU64(p + 32))
                    guard let codec = Codec(rawValue: t[p + 44]) else {
                        bad = "unknown codec in trailer at \(trailerOffset)"
                        return
                    }
                    guard offset <= trailerOffset else {
                        bad = "trailer entry points past the trailer at \(trailerOffset)"
                        return
                    }
                    let field = t.digest(p)
                    let entry = PackEntry(
                        digest: seal?.mask(field, offset: offset) ?? field, offset: offset, rawLength: Int(t.beU32(p + 40)), codec: codec,
                        storedLength: Int(t.beU32(p + 45)))
                    if expected >= 0 && offset != expected {
                        bad = "trailer offsets are not contiguous at \(trailerOffset)"
                        return
                    }
                    expected = offset + PackFormat.recordHeaderSize + entry.storedLength
                    entries.append(entry)
                }
                if expected > trailerOffset || !PackFormat.validPad(trailerOffset - expected, aligned: aligned) {
                    bad = "trailer records do not end at the trailer (\(trailerOffset))"
                }
            }
            if let bad { throw .corruptData(what: path, detail: bad) }
            guard let first = entries.first, first.offset >= PackFormat.headerSize, first.offset < end else {
                throw .corruptData(what: path, detail: "segment start out of range")
            }
            segments.append(entries)
            end = first.offset
        }
        return segments.reversed().flatMap { $0 }
    }

    /// Scans records and trailers forwards, keeping every complete segment whose trailer hash
    /// verifies and agrees with the records seen. Stops at the first inconsistency. Never throws
    /// for damage (it is reported in `problem`); throws only if the file can't be read at all.
    /// With `seal` (an encrypted pack), the digests returned are unmasked.
    static func scanForward(_ fd: Int32, _ path: String, seal: PackSeal? = nil) throws(StoreError) -> ScanResult {
        let size = try FileIO.fileSize(fd, path)
        var result = ScanResult(entries: [], validEnd: 0, fileSize: size, problem: nil)
        guard size >= PackFormat.headerSize, let aligned = try? checkHeader(fd, path, seal: seal) else {
            result.problem = "bad or missing pack header"
            return result
        }
        result.validEnd = PackFormat.headerSize
        var pos = PackFormat.headerSize
        var pending: [PackEntry] = []
        /// Where the records of the pending segment end (a pad may follow them).
        var recordsEnd = pos
        let e = PackFormat.trailerEntrySize
        while pos < size {
            guard pos + PackFormat.recordHeaderSize <= size || pos + 8 <= size else {
                result.problem = "torn data at \(pos)"
                break
            }
            let tag = try FileIO.pread(fd, count: 4, at: pos, path)
            if tag == PackFormat.recordTag {
                guard pos + PackFormat.recordHeaderSize <= size else {
                    result.problem = "torn record header at \(pos)"
                    break
                }
                let h = try FileIO.pread(fd, count: PackFormat.recordHeaderSize, at: pos, path)
                let entry: PackEntry? = h.withUnsafeBytes { b in
                    guard let codec = Codec(rawValue: b[40]) else { return nil }
                    return PackEntry(
                        digest: seal?.mask(b.digest(4), offset: pos) ?? b.digest(4), offset: pos, rawLength: Int(b.beU32(36)), codec: codec,
                        storedLength: Int(b.beU32(41)))
                }
                guard let entry, entry.storedLength <= PackFormat.maxRecordLength,
                    pos + PackFormat.recordHeaderSize + entry.storedLength <= size
                else {
                    result.problem = "bad or torn record at \(pos)"
                    break
                }
                guard recordsEnd == pos else {
                    result.problem = "record after a pad at \(pos)"
                    break
                }
                pending.append(entry)
                pos += PackFormat.recordHeaderSize + entry.storedLength
                recordsEnd = pos
            } else if tag == PackFormat.padTag && aligned && !pending.isEmpty && recordsEnd == pos {
                guard pos + PackFormat.padHeaderSize <= size,
                    let pad = try? FileIO.pread(fd, count: PackFormat.padHeaderSize, at: pos, path),
                    case let length = pad.withUnsafeBytes({ Int($0.beU32(4)) }),
                    PackFormat.validPad(length, aligned: aligned), pos + length <= size,
                    (try FileIO.pread(fd, count: length - PackFormat.padHeaderSize, at: pos + 8, path))
                        .allSatisfy({ $0 == 0 })
                else {
                    result.problem = "bad or torn pad at \(pos)"
                    break
                }
                pos += length
            } else if tag == PackFormat.trailerTag {
                let countBytes = try FileIO.pread(fd, count: 8, at: pos, path)
                let count = countBytes.withUnsafeBytes { Int($0.beU32(4)) }
                let total = 8 + count * e + 32 + PackFormat.footerSize
                guard count == pending.count, count > 0, pos + total <= size,
                    !aligned || (pos + total) % PackFormat.alignment == 0
                else {
                    result.problem = "bad or torn trailer at \(pos)"
                    break
                }
                let t = try FileIO.pread(fd, count: total, at: pos, path)
                let ok: Bool = t.withUnsafeBytes { b in
                    let hash = SHA256().hash(UnsafeRawBufferPointer(rebasing: b[0..<(8 + count * e)]))
                    guard hash == b.digest(8 + count * e) else { return false }
                    let f = 8 + count * e + 32
                    guard Int(clamping: b.beU64(f)) == pos, Int(b.beU32(f + 8)) == count,
                        b.matches(PackFormat.footerTag, at: f + 12)
                    else { return false }
                    for (i, p) in pending.enumerated() {
                        let q = 8 + i * e
                        let field = seal?.mask(p.digest, offset: p.offset) ?? p.digest
                        guard b.digest(q) == field, Int(clamping: b.beU64(q + 32)) == p.offset,
                            Int(b.beU32(q + 40)) == p.rawLength, b[q + 44] == p.codec.rawValue,
                            Int(b.beU32(q + 45)) == p.storedLength
                        else { return false }
                    }
                    return true
                }
                guard ok else {
                    result.problem = "trailer at \(pos) does not verify"
                    break
                }
                pos += total
                result.entries += pending
                pending = []
                recordsEnd = pos
                result.validEnd = pos
                result.segmentEnds.append(pos)
            } else {
                result.problem = "unknown data at \(pos)"
                break
            }
        }
        if result.problem == nil && !pending.isEmpty {
            result.problem = "records without a trailer at the end"
        }
        return result
    }
}
