import NIOCore

/// The 8 bytes each side sends once, first, before any frame: `"TROVE"`, the lowest and highest
/// protocol version the sender speaks, and a reserved byte (0, ignored by receivers).
///
/// Both sides send their preamble immediately on connect, without waiting for the peer's, and
/// both pick the same version: the highest one in both ranges (see ``negotiate(with:)``).
public struct Preamble: Hashable, Sendable {
    /// `"TROVE"` in ASCII.
    public static let magic: [UInt8] = Array("TROVE".utf8)
    /// Encoded size in bytes.
    public static let size = 8
    /// The versions this implementation speaks: 1, 2 (version 1 plus the blob streams of
    /// PROTOCOL.md §9a), 3 (version 2 plus BLOB_SEAL: the server computes a stream's blob digest)
    /// and 4 (version 3 plus one-chunk recipes implied at COMMIT, §9).
    public static let current = Preamble(versions: 1...4)

    /// The lowest and highest version the sender speaks (1 ≤ lower ≤ upper).
    public var versions: ClosedRange<UInt8>

    /// A preamble for `versions`.
    public init(versions: ClosedRange<UInt8>) {
        self.versions = versions
    }

    /// Appends the 8 bytes to `buffer`.
    public func write(into buffer: inout ByteBuffer) {
        buffer.writeBytes(Preamble.magic)
        buffer.writeInteger(versions.lowerBound)
        buffer.writeInteger(versions.upperBound)
        buffer.writeInteger(0 as UInt8)
    }

    /// The 8 bytes as a buffer.
    public var encoded: ByteBuffer {
        var b = ByteBuffer()
        write(into: &b)
        return b
    }

    /// Parses exactly the first ``size`` readable bytes of `buffer` (the caller waits for them).
    public static func decode(_ buffer: ByteBuffer) throws(ProtocolError) -> Preamble {
        guard buffer.readableBytes >= size else {
            throw .truncated(field: "preamble", needed: size, available: buffer.readableBytes)
        }
        let bytes = buffer.getBytes(at: buffer.readerIndex, length: size)!
        guard Array(bytes[0..<5]) == magic else {
            throw .badPreamble(
                detail: "magic is \(bytes[0..<5].map { String($0, radix: 16) }), expected TROVE")
        }
        let lo = bytes[5]
        let hi = bytes[6]
        guard lo >= 1, lo <= hi else {
            throw .badPreamble(detail: "version range \(lo)...\(hi) is empty or starts at 0")
        }
        return Preamble(versions: lo...hi)
    }

    /// The version both sides use: the highest in both ranges; throws when they do not overlap.
    public func negotiate(with peer: Preamble) throws(ProtocolError) -> UInt8 {
        let hi = min(versions.upperBound, peer.versions.upperBound)
        guard hi >= max(versions.lowerBound, peer.versions.lowerBound) else {
            throw .unsupportedVersion(local: versions, peer: peer.versions)
        }
        return hi
    }
}
