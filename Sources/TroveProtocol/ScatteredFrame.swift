import NIOCore
import TroveCore

/// A frame as a list of buffers in which large chunk data are the sender's own buffers (slices
/// sharing their storage), not copies: written one after the other (NIO gathers them into one
/// `writev`), the pieces are byte for byte the frame ``Envelope/write(into:)`` makes
/// (`ScatteredFrameTests`). A `BLOB_CHUNKS` frame of 8 MiB was copied whole into a fresh frame
/// buffer on the client's event loop; in pieces only its fields (≈ 50 bytes per chunk) are.
///
/// The checksum is taken over the pieces in order, as over the whole frame.
public struct ScatteredFrame {
    /// Data shorter than this goes in with the fields (a separate piece costs more than the copy).
    public static let minimumPiece = 4096

    /// The frame's bytes, in order.
    public let pieces: [ByteBuffer]

    /// The frame of `envelope` in pieces, or nil when its message carries no data worth leaving
    /// in place (write it whole with ``Envelope/write(into:)``).
    ///
    /// `dataChecksums`: the CRC-32C of each data buffer of the message, in order, where the caller
    /// knows it (nil or missing: read here). A sender that took it while the bytes were in cache
    /// spares the frame checksum a pass over them (``CRC32C/combine(_:_:lengthB:)``); a wrong one
    /// makes a frame the receiver refuses.
    public init?(_ envelope: Envelope, dataChecksums: [UInt32?] = [], allocator: ByteBufferAllocator = .init()) {
        guard let body = envelope.message.body as? any ScatterEncodable, body.scatterWorthwhile else { return nil }
        var w = ScatterWriter(capacity: Frame.overhead + body.fieldBytes, allocator: allocator)
        w.known = dataChecksums
        Frame.writeHeader(
            type: envelope.message.type, flags: envelope.flags, requestID: envelope.requestID, payloadLength: 0,
            into: &w.fields)
        body.encode(into: &w)
        pieces = w.finish()
    }
}

/// A message whose payload can be written as fields plus data buffers left in place
/// (``ScatteredFrame``); its ``encode(into:)-(ScatterWriter)`` writes exactly the bytes of
/// ``WireEncodable/encode(into:)``.
public protocol ScatterEncodable: WireMessage {
    /// Whether any data is large enough to leave in place.
    var scatterWorthwhile: Bool { get }
    /// About how many bytes the fields take (the fields buffer's initial capacity).
    var fieldBytes: Int { get }
    /// Writes the payload: fields into ``ScatterWriter/fields``, data through ``ScatterWriter/append(data:)``.
    func encode(into writer: inout ScatterWriter)
}

/// Collects a frame's fields in one buffer and remembers where each data buffer goes between them.
public struct ScatterWriter {
    /// The frame's bytes other than the data left in place (the header first).
    public var fields: ByteBuffer
    /// Data buffers left in place, each with the `fields` writer index it follows and its CRC-32C
    /// when known.
    private var data: [(at: Int, bytes: ByteBuffer, crc: UInt32?)] = []
    /// The CRC-32C of each data buffer, in order, where the sender knows it.
    var known: [UInt32?] = []
    private var appended = 0

    init(capacity: Int, allocator: ByteBufferAllocator) {
        fields = allocator.buffer(capacity: capacity)
    }

    /// Appends data bytes: left in place when at least ``ScatteredFrame/minimumPiece`` long,
    /// else copied into ``fields``.
    public mutating func append(data bytes: ByteBuffer) {
        let crc = appended < known.count ? known[appended] : nil
        appended += 1
        if bytes.readableBytes < ScatteredFrame.minimumPiece {
            fields.writeImmutableBuffer(bytes)
        } else {
            data.append((fields.writerIndex, bytes, crc))
        }
    }

    /// Patches the payload length into the header, appends the checksum and cuts the pieces.
    mutating func finish() -> [ByteBuffer] {
        let start = fields.readerIndex
        let dataBytes = data.reduce(0) { $0 + $1.bytes.readableBytes }
        let payload = fields.readableBytes - Frame.headerSize + dataBytes
        fields.setInteger(UInt32(truncatingIfNeeded: payload), at: start, endianness: .big)
        var crc: UInt32 = 0
        var at = start
        for d in data {
            crc = fields.withUnsafeReadableBytes { CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: $0[(at - start)..<(d.at - start)])) }
            if let known = d.crc {
                crc = CRC32C.combine(crc, known, lengthB: d.bytes.readableBytes)
            } else {
                crc = d.bytes.withUnsafeReadableBytes { CRC32C.update(crc, $0) }
            }
            at = d.at
        }
        crc = fields.withUnsafeReadableBytes { CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: $0[(at - start)...])) }
        fields.writeInteger(crc, endianness: .big)
        // Slices only now: writing after slicing would copy the fields buffer.
        var pieces: [ByteBuffer] = []
        pieces.reserveCapacity(2 * data.count + 1)
        at = start
        for d in data {
            if d.at > at { pieces.append(fields.getSlice(at: at, length: d.at - at)!) }
            pieces.append(d.bytes)
            at = d.at
        }
        pieces.append(fields.getSlice(at: at, length: fields.writerIndex - at)!)
        return pieces
    }
}

extension Message.BlobChunks: ScatterEncodable {
    public var scatterWorthwhile: Bool {
        chunks.contains { if case .data(let p) = $0 { p.data.readableBytes >= ScatteredFrame.minimumPiece } else { false } }
    }

    public var fieldBytes: Int { 64 + chunks.count * 50 }

    /// The fields of ``encode(into:)-(ByteBuffer)`` (and of `StreamChunk` and `ChunkPayload`), the
    /// chunks' data left in place.
    public func encode(into w: inout ScatterWriter) {
        lease.encode(into: &w.fields)
        w.fields.writeWireU32(stream)
        w.fields.writeWireU64(position)
        w.fields.writeWireCount(chunks.count)
        for c in chunks {
            guard case .data(let p) = c else {
                c.encode(into: &w.fields)
                continue
            }
            w.fields.writeWireU8(0)
            w.fields.writeWireDigest(p.digest)
            w.fields.writeWireU32(p.rawLength)
            p.codec.encode(into: &w.fields)
            w.fields.writeWireU32(UInt32(truncatingIfNeeded: p.data.readableBytes))
            w.append(data: p.data)
        }
    }
}
