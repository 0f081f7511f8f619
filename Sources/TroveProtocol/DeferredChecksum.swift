import NIOCore
import TroveCore

/// Frames whose checksum the receiver checks after decoding, when it computes the CRC-32C of the
/// chunks they carry anyway (a pack record's checksum): one pass over those bytes instead of two.
/// Receiver-local: the bytes on the wire and what is checked are the same as for any frame, and a
/// frame that fails is refused before anything acts on it.
extension Frame {
    /// Checks the checksum of a frame parsed with it deferred (``uncheckedChecksum``); nothing to
    /// do for a frame checked on receipt. `spans`: slices of ``payload`` in order and not
    /// overlapping, with the CRC-32C of their bytes, which are not read again (any that is not a
    /// slice of the payload is ignored: its bytes are read like the rest).
    public func checkDeferredChecksum(spans: [(bytes: ByteBuffer, crc: UInt32)]) throws(ProtocolError) {
        guard let expected = uncheckedChecksum else { return }
        var header = ByteBuffer()
        header.reserveCapacity(Frame.headerSize)
        Frame.writeHeader(
            type: type, flags: flags, requestID: requestID, payloadLength: payload.readableBytes, into: &header)
        var crc = header.withUnsafeReadableBytes { CRC32C.update(0, $0) }
        payload.withUnsafeReadableBytes { p in
            var done = 0
            for span in spans {
                span.bytes.withUnsafeReadableBytes { s in
                    guard s.count > 0, let base = p.baseAddress, let start = s.baseAddress else { return }
                    let offset = start - base
                    guard offset >= done, offset <= p.count - s.count else { return }
                    crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: p[done..<offset]))
                    crc = CRC32C.combine(crc, span.crc, lengthB: s.count)
                    done = offset + s.count
                }
            }
            crc = CRC32C.update(crc, UnsafeRawBufferPointer(rebasing: p[done...]))
        }
        guard crc == expected else { throw .badChecksum(expected: expected, actual: crc) }
    }

    /// Checks a deferred checksum (see ``checkDeferredChecksum(spans:)``) of the frame `message`
    /// was decoded from, computing the CRC-32C of each chunk's bytes it carries on the way: those,
    /// in order (nil when the frame was checked on receipt or carries no chunk bytes).
    public func checkDeferredChecksum(of message: Message) throws(ProtocolError) -> [UInt32]? {
        guard uncheckedChecksum != nil else { return nil }
        let chunks = message.carriedChunkBytes
        let spans = chunks.map { b in (bytes: b, crc: b.withUnsafeReadableBytes { CRC32C.update(0, $0) }) }
        try checkDeferredChecksum(spans: spans)
        return chunks.isEmpty ? nil : spans.map(\.crc)
    }

    /// Frame types whose checksum a server may check after decoding (they carry chunk bytes).
    public static let chunkCarrying: Set<MessageType> = [.putChunks, .blobChunks]
}

extension Message {
    /// The bytes of the chunks a `PUT_CHUNKS` or `BLOB_CHUNKS` carries, in order (references to
    /// stored chunks carry none); empty for any other message.
    public var carriedChunkBytes: [ByteBuffer] {
        if let m = self.as(Message.PutChunks.self) { return m.chunks.map(\.data) }
        if let m = self.as(Message.BlobChunks.self) {
            return m.chunks.compactMap { if case .data(let p) = $0 { p.data } else { nil } }
        }
        return []
    }
}
