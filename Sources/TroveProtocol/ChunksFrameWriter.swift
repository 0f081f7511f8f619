import NIOCore
import TroveCore

/// Writes a CHUNKS frame in place, for a sender whose chunk bytes are somewhere else (troved's
/// pack read buffers): the frame's size is known before any data is there, so the frame goes into
/// one buffer of its final size (a pooled one), each chunk's data is copied in once, in whatever
/// order it becomes available, and the checksum is taken at the end (over the fields; a chunk
/// whose CRC-32C the caller already knows is folded in with ``CRC32C/combine(_:_:lengthB:)``
/// instead of being read again). The result is byte for byte
/// the frame `Envelope(.chunks(…)).write` makes of the same chunks (`ChunksFrameWriterTests`).
public struct ChunksFrameWriter {
    /// One chunk of the frame; its `length` bytes of data are written through ``withData(_:_:)``.
    public struct Record: Sendable {
        /// SHA-256 of the raw bytes.
        public var digest: Digest
        /// Length of the raw bytes.
        public var rawLength: UInt32
        /// How the data is encoded.
        public var codec: Codec
        /// Length of the data (the encoded bytes).
        public var length: Int

        public init(digest: Digest, rawLength: UInt32, codec: Codec, length: Int) {
            self.digest = digest
            self.rawLength = rawLength
            self.codec = codec
            self.length = length
        }
    }

    /// Bytes of a chunk's fields besides its data: digest, raw length, codec, data length.
    public static let recordOverhead = Digest.byteCount + 4 + 1 + 4

    /// The payload size of a CHUNKS message of `records` and `missing` absent digests.
    public static func payloadSize(_ records: [Record], missing: Int) -> Int {
        4 + records.reduce(0) { $0 + recordOverhead + $1.length } + 4 + missing * Digest.byteCount
    }

    private var buffer: ByteBuffer
    /// Where each record's data starts, from the buffer's reader index.
    private let offsets: [Int]
    private let lengths: [Int]
    /// The CRC-32C of each record's data, where the caller gave it.
    private var checksums: [UInt32?]

    /// Writes the frame's header and every field but the chunks' data into a buffer of the frame's
    /// size, taken from `pool` when there is one.
    public init(
        requestID: UInt32, flags: FrameFlags, records: [Record], missing: [Digest], pool: ByteBufferPool?,
        allocator: ByteBufferAllocator = .init()
    ) {
        let payload = Self.payloadSize(records, missing: missing.count)
        let size = Frame.overhead + payload
        buffer = pool?.take(capacity: size) ?? allocator.buffer(capacity: size)
        Frame.writeHeader(type: .chunks, flags: flags, requestID: requestID, payloadLength: payload, into: &buffer)
        buffer.writeWireCount(records.count)
        var offsets: [Int] = []
        offsets.reserveCapacity(records.count)
        for r in records {
            buffer.writeWireDigest(r.digest)
            buffer.writeWireU32(r.rawLength)
            r.codec.encode(into: &buffer)
            buffer.writeWireU32(UInt32(truncatingIfNeeded: r.length))
            offsets.append(buffer.readableBytes)
            buffer.moveWriterIndex(forwardBy: r.length)  // filled by withData
        }
        buffer.writeWireDigests(missing)
        self.offsets = offsets
        self.lengths = records.map(\.length)
        self.checksums = Array(repeating: nil, count: records.count)
    }

    /// Lets `body` write the data of record `index` (exactly its `length` bytes); `checksum`, when
    /// given, is the CRC-32C of exactly what `body` writes (checked by the caller at its source).
    public mutating func withData<R>(
        _ index: Int, checksum: UInt32? = nil, _ body: (UnsafeMutableRawBufferPointer) -> R
    ) -> R {
        checksums[index] = checksum
        let range = offsets[index]..<(offsets[index] + lengths[index])
        return buffer.withUnsafeMutableReadableBytes { all in body(UnsafeMutableRawBufferPointer(rebasing: all[range])) }
    }

    /// Gives the CRC-32C of exactly the data written for record `index` (taken while it was
    /// written, e.g. by ``CRC32C/copy(_:from:to:)``), to be folded into the frame's checksum.
    public mutating func setChecksum(_ index: Int, _ checksum: UInt32) {
        checksums[index] = checksum
    }

    /// The finished frame (the checksum appended), once every record's data has been written.
    /// The writer is spent afterwards.
    ///
    /// The frame is the buffer the data went into, not a copy: the writer lets go of its own
    /// reference first, so appending the checksum finds the storage uniquely referenced. (A
    /// `consuming` method was not enough: called on a `var` that a closure had captured, the
    /// compiler passed a copy and kept the original alive, and appending 4 bytes copied the whole
    /// frame into fresh pages — half of troved's CPU on a pull.)
    public mutating func finish() -> ByteBuffer {
        var frame = buffer
        buffer = ByteBuffer()
        let crc = frame.withUnsafeReadableBytes { all in
            var crc: UInt32 = 0
            var at = 0
            for i in offsets.indices {
                crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: all[at..<offsets[i]]))
                at = offsets[i] + lengths[i]
                if let known = checksums[i] {
                    crc = CRC32C.combine(crc, known, lengthB: lengths[i])
                } else {
                    crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: all[offsets[i]..<at]))
                }
            }
            return CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: all[at...]))
        }
        frame.writeInteger(crc, endianness: .big)
        return frame
    }
}
