import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// Page-aligned memory allocated once and reused: direct I/O needs aligned buffers, and a reused
/// buffer means writing a segment touches no fresh pages.
struct AlignedBuffer: ~Copyable {
    let base: UnsafeMutableRawPointer
    let capacity: Int

    init(capacity: Int) {
        precondition(capacity > 0 && capacity % PackFormat.alignment == 0)
        self.capacity = capacity
        base = .allocate(byteCount: capacity, alignment: PackFormat.alignment)
    }

    deinit { base.deallocate() }
}

/// Writes pack segments (format versions 3 and 4, see ``PackFormat``): each is built in an aligned
/// buffer and written whole pages at a time, a `pwrite` each time the buffer fills and one at the
/// end. A pack opened with `O_DIRECT` (``FileIO/openDirect(_:_:)``) so skips the page cache: no
/// copy into fresh page-cache pages, and the buffer's pages are reused. The caller `fdatasync`s
/// before anything points into the segment; bytes written past the last sealed segment before a
/// failure or crash are a torn tail (truncated by the caller, or by recovery).
struct SegmentWriter: ~Copyable {
    /// The buffer size: a segment larger than this is written in several pieces.
    static let defaultBufferSize = 8 << 20
    private let buffer: AlignedBuffer

    init(bufferSize: Int = SegmentWriter.defaultBufferSize) {
        buffer = AlignedBuffer(capacity: bufferSize)
    }

    /// Appends one segment holding `records` to the version 3 or 4 pack open as `fd`, at `start`: the
    /// end of the pack's last segment, or of its header in a new pack (whose header page is then
    /// written again, with the same bytes). Returns the records' entries and where the segment
    /// ends (a multiple of ``PackFormat/alignment``).
    /// With `seal` (an encrypted pack), each record's stored bytes are sealed and its digest
    /// fields masked; the entries returned hold the plain digests and the sealed lengths.
    func append(_ records: [VerifiedChunk], fd: Int32, path: String, start: Int, seal: PackSeal? = nil)
        throws(StoreError) -> (entries: [PackEntry], end: Int)
    {
        let align = PackFormat.alignment
        precondition(start % align == 0 || start == PackFormat.headerSize, "segment start \(start) not aligned")
        var out = Cursor(base: buffer.base, capacity: buffer.capacity, fd: fd, path: path, at: start - start % align)
        if start % align != 0 { try out.put(PackFormat.header(keyTag: seal?.tag)) }
        var entries: [PackEntry] = []
        var written: [PackEntry] = []
        entries.reserveCapacity(records.count)
        written.reserveCapacity(records.count)
        var header = ByteBuffer(capacity: PackFormat.recordHeaderSize)
        for r in records {
            let offset = out.position
            var stored: any SharedBytes = r.stored
            var field = r.digest
            if let seal {
                stored = seal.seal(r.stored.array, digest: r.digest, rawLength: r.rawLength, codec: r.codec, offset: offset)
                field = seal.mask(r.digest, offset: offset)
            }
            let entry = PackEntry(
                digest: r.digest, offset: offset, rawLength: r.rawLength, codec: r.codec, storedLength: stored.count)
            entries.append(entry)
            var w = entry
            w.digest = field
            written.append(w)
            func recordHeader(_ crc: UInt32) -> [UInt8] {
                header.bytes.removeAll(keepingCapacity: true)
                PackFormat.appendRecordHeader(
                    &header, field: field, rawLength: r.rawLength, codec: r.codec, storedLength: stored.count,
                    crc: crc)
                return header.bytes
            }
            // A record the buffer holds whole takes its CRC-32C while its bytes are copied in,
            // its header written after them (the buffer is not written out in between); one that
            // does not fit is read once more for it.
            if out.room > PackFormat.recordHeaderSize + stored.count {
                let headerAt = out.reserve(PackFormat.recordHeaderSize)
                let crc = out.putTakingCRC(stored)
                out.write(recordHeader(crc), at: headerAt)
            } else {
                try out.put(recordHeader(CRC32C.checksum(stored)))
                try out.put(stored)
            }
        }
        let pad = PackFormat.padLength(recordsEnd: out.position, count: entries.count)
        if pad > 0 {
            var p = ByteBuffer(capacity: PackFormat.padHeaderSize)
            p.raw(PackFormat.padTag)
            p.u32(UInt32(pad))
            try out.put(p.bytes)
            try out.zeros(pad - PackFormat.padHeaderSize)
        }
        try out.put(PackFormat.trailer(written, at: out.position))
        try out.finish()
        return (entries, out.position)
    }

    /// Where the bytes go: the buffer, which is written out at `fileOffset` whenever it fills.
    private struct Cursor {
        let base: UnsafeMutableRawPointer
        let capacity: Int
        let fd: Int32
        let path: String
        /// File offset of the buffer's first byte (aligned).
        var fileOffset: Int
        var used = 0

        init(base: UnsafeMutableRawPointer, capacity: Int, fd: Int32, path: String, at offset: Int) {
            (self.base, self.capacity, self.fd, self.path, fileOffset) = (base, capacity, fd, path, offset)
        }

        var position: Int { fileOffset + used }

        /// Bytes the buffer holds before it must be written out.
        var room: Int { capacity - used }

        /// Leaves room for `count` bytes (fewer than ``room``) written later with
        /// ``write(_:at:)``; returns where they go in the buffer.
        mutating func reserve(_ count: Int) -> Int {
            precondition(count < room, "reserve: \(count) bytes do not fit in \(room)")
            used += count
            return used - count
        }

        /// Copies `bytes` (fewer than ``room``) into the buffer and returns their CRC-32C, taken
        /// in the same pass.
        mutating func putTakingCRC(_ bytes: any SharedBytes) -> UInt32 {
            let n = bytes.count
            precondition(n < room, "putTakingCRC: \(n) bytes do not fit in \(room)")
            let crc = bytes.withUnsafeBytes { b in
                CRC32C.copy(0, from: b, to: UnsafeMutableRawBufferPointer(start: base + used, count: n))
            }
            used += n
            return crc
        }

        /// Writes `bytes` at `offset` in the buffer, into room ``reserve(_:)`` left (a record
        /// header written after its bytes).
        func write(_ bytes: [UInt8], at offset: Int) {
            precondition(offset + bytes.count <= used, "write: \(offset)+\(bytes.count) is past \(used)")
            bytes.withUnsafeBytes { (base + offset).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
        }

        mutating func put(_ bytes: any SharedBytes) throws(StoreError) {
            var failure: StoreError? = nil
            bytes.withUnsafeBytes { b in
                do throws(StoreError) { try put(b) } catch { failure = error }
            }
            if let failure { throw failure }
        }

        mutating func put(_ bytes: UnsafeRawBufferPointer) throws(StoreError) {
            var done = 0
            while done < bytes.count {
                let n = min(bytes.count - done, capacity - used)
                (base + used).copyMemory(from: bytes.baseAddress! + done, byteCount: n)
                used += n
                done += n
                if used == capacity { try spill() }
            }
        }

        mutating func zeros(_ count: Int) throws(StoreError) {
            var left = count
            while left > 0 {
                let n = min(left, capacity - used)
                (base + used).initializeMemory(as: UInt8.self, repeating: 0, count: n)
                used += n
                left -= n
                if used == capacity { try spill() }
            }
        }

        /// Writes the full buffer and starts it again at the next file offset.
        private mutating func spill() throws(StoreError) {
            try FileIO.pwriteAligned(fd, UnsafeRawBufferPointer(start: base, count: used), at: fileOffset, path)
            fileOffset += used
            used = 0
        }

        /// Writes what is left (the segment ends on an aligned offset, so whole pages).
        mutating func finish() throws(StoreError) {
            precondition(position % PackFormat.alignment == 0, "segment end \(position) not aligned")
            if used > 0 { try spill() }
        }
    }
}
