import Synchronization
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// The pack scanners (``PackScanner``: the backward trailer walk and the forward scan that
/// recovery and fsck use) on arbitrary file contents, for the fuzz target (Fuzz/,
/// docs/FUZZING.md) and `PackFuzzingTests`: pack versions 1–4, encrypted ones under the fixed key
/// of ``AtRestFuzzing``.
public enum PackFuzzing {
    /// One scratch file, rewritten for every input (unlinked at once: nothing is left behind);
    /// the lock serialises the checks that use it.
    private static let scratch = Mutex<Int32>({
        let path = "/tmp/trove-fuzz-pack-\(getpid())-\(FileIO.randomHex(4))"
        guard let fd = try? FileIO.open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0o600) else {
            preconditionFailure("cannot create the fuzz scratch file \(path)")
        }
        unlink(path)
        return fd
    }())

    /// A well-formed pack of `version` (1: plaintext, 2: encrypted, 3: plaintext aligned, 4:
    /// encrypted aligned) holding `segments` segments of small records (seeds and tests).
    public static func pack(version: Int, segments: Int = 3) -> [UInt8] {
        precondition((1...4).contains(version), "pack versions are 1–4")
        let encrypted = version % 2 == 0
        let aligned = version >= 3
        var w = ByteBuffer()
        w.raw(PackFormat.magic)
        w.u32(UInt32(version))
        w.u32(encrypted ? AtRestFuzzing.pack.tag : 0)
        var rng = SplitMix64(seed: UInt64(version))
        for s in 0..<segments {
            var entries: [PackEntry] = []
            for r in 0..<(1 + s % 3) {
                let stored = SplitMix64.bytes(seed: rng.next(), count: 1 + (s * 977 + r * 131) % 3000)
                let digest = SHA256.hash(stored)
                let field = encrypted ? AtRestFuzzing.pack.mask(digest, offset: w.bytes.count) : digest
                entries.append(
                    PackEntry(
                        digest: field, offset: w.bytes.count, rawLength: stored.count, codec: .raw,
                        storedLength: stored.count))
                PackFormat.appendRecordHeader(
                    &w, field: field, rawLength: stored.count, codec: .raw, storedLength: stored.count,
                    crc: CRC32C.checksum(stored))
                w.raw(stored)
            }
            if aligned {
                let pad = PackFormat.padLength(recordsEnd: w.bytes.count, count: entries.count)
                if pad > 0 {
                    w.raw(PackFormat.padTag)
                    w.u32(UInt32(pad))
                    w.raw([UInt8](repeating: 0, count: pad - PackFormat.padHeaderSize))
                }
            }
            w.raw(PackFormat.trailer(entries, at: w.bytes.count))
        }
        return w.bytes
    }

    /// Scans `bytes` as a pack file both ways (under the fuzz key when `encrypted`); returns what
    /// broke, or nil when every invariant held: neither scanner traps; what either returns lies
    /// inside the file in increasing, non-overlapping records; the forward scan stops only where
    /// it reports a problem; and a file the forward scan accepts whole, the trailer walk reads to
    /// the same entries.
    public static func check(_ bytes: [UInt8], encrypted: Bool) -> String? {
        scratch.withLock { check(bytes, encrypted: encrypted, in: $0) }
    }

    private static func check(_ bytes: [UInt8], encrypted: Bool, in scratch: Int32) -> String? {
        let path = "fuzz-pack"
        guard ftruncate(scratch, 0) == 0, (try? FileIO.pwriteAll(scratch, bytes, at: 0, path)) != nil else {
            return "cannot write the scratch file: errno \(errno)"
        }
        let seal = encrypted ? AtRestFuzzing.pack : nil
        let size = bytes.count
        let fast = try? PackScanner.readTrailers(scratch, path, size: size, seal: seal)
        if let fast, let bad = misplaced(fast, end: size) { return "trailer walk: \(bad)" }
        guard let slow = try? PackScanner.scanForward(scratch, path, seal: seal) else {
            return "the forward scan threw on a readable file"
        }
        if slow.validEnd > size || slow.fileSize != size { return "forward scan: valid end \(slow.validEnd) of \(size)" }
        if let bad = misplaced(slow.entries, end: slow.validEnd) { return "forward scan: \(bad)" }
        if slow.problem == nil {
            if slow.validEnd != size { return "forward scan stopped at \(slow.validEnd) of \(size) without a problem" }
            guard let fast else { return "the forward scan accepts the whole file, the trailer walk refuses it" }
            if fast != slow.entries { return "the two scans read different entries from a valid pack" }
        }
        return nil
    }

    /// Why `entries` do not lie in increasing, non-overlapping records between the header and
    /// `end`; nil when they do.
    private static func misplaced(_ entries: [PackEntry], end: Int) -> String? {
        var at = PackFormat.headerSize
        for e in entries {
            guard e.offset >= at, e.storedLength >= 0, e.offset + PackFormat.recordHeaderSize + e.storedLength <= end
            else { return "record at \(e.offset) (\(e.storedLength) bytes) out of place (from \(at), end \(end))" }
            at = e.offset + PackFormat.recordHeaderSize + e.storedLength
        }
        return nil
    }
}
