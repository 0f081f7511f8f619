import CTroveSHA256

/// A running SHA-256 that can be fed together with a second one in one pass over the bytes:
/// the digest of a chunk and the running digest of its blob (``update(_:alongWith:)``), or the
/// digests of two chunks (``update(_:_:_:)``).
///
/// With the CPU's SHA extensions (`CTroveSHA256`, x86-64 SHA-NI, checked once at run time) the
/// two streams' blocks are interleaved: the round instruction's latency, not its throughput,
/// bounds one stream, so two cost about 1.3 × one instead of 2 ×. Without them each stream goes
/// through OpenSSL (``SHA256``), one after the other. The tests hold both paths equal to
/// ``SHA256``. Not thread-safe: give each thread its own.
public final class SHA256Stream {
    /// Whether the interleaved SHA-NI path is used by default.
    public static let accelerated: Bool = trove_sha256_accelerated() != 0

    private let ctx: UnsafeMutablePointer<trove_sha256_ctx>?
    private let openSSL: SHA256?

    /// An empty stream. `interleaved: false` forces the OpenSSL path (tests); streams fed
    /// together must use the same path.
    public init(interleaved: Bool = SHA256Stream.accelerated) {
        if interleaved {
            ctx = .allocate(capacity: 1)
            trove_sha256_init(ctx!)
            openSSL = nil
        } else {
            ctx = nil
            openSSL = SHA256()
        }
    }

    deinit { ctx?.deallocate() }

    /// Starts over empty.
    public func reset() {
        if let ctx { trove_sha256_init(ctx) } else { openSSL!.reset() }
    }

    /// Feeds bytes.
    public func update(_ bytes: UnsafeRawBufferPointer) {
        if let ctx { trove_sha256_update(ctx, bytes.baseAddress, bytes.count) } else { openSSL!.update(bytes) }
    }

    /// Feeds `bytes` to this stream and to `other`, reading them once.
    public func update(_ bytes: UnsafeRawBufferPointer, alongWith other: SHA256Stream) {
        update(bytes, other, bytes)
    }

    /// Feeds `mine` to this stream and `theirs` to `other` in one interleaved pass.
    public func update(_ mine: UnsafeRawBufferPointer, _ other: SHA256Stream, _ theirs: UnsafeRawBufferPointer) {
        if let a = ctx, let b = other.ctx {
            trove_sha256_update2(a, mine.baseAddress, mine.count, b, theirs.baseAddress, theirs.count)
        } else {
            update(mine)
            other.update(theirs)
        }
    }

    /// The digest of everything fed since the last reset; the stream starts over empty.
    public func finalize() -> Digest {
        guard let ctx else { return openSSL!.finalize() }
        var out = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        return withUnsafeMutableBytes(of: &out) { raw in
            trove_sha256_final(ctx, raw.baseAddress!.assumingMemoryBound(to: UInt8.self))
            return Digest(pointer: raw.baseAddress!)
        }
    }
}

/// A chunk hasher and a running (blob) digest: each chunk's digest and its bytes' share of the
/// blob digest in one pass (``SHA256Stream``), or the digests of two chunks at once.
public final class SHA256Pair {
    /// Whether the interleaved SHA-NI path is used.
    public static var accelerated: Bool { SHA256Stream.accelerated }

    private let scratch: SHA256Stream
    private let second: SHA256Stream
    /// The running digest ``digestAndAppend(_:)`` and ``append(_:)`` feed.
    public let running: SHA256Stream

    /// Whether the streams take the interleaved SHA-NI path.
    private let interleaved: Bool

    /// A pair with both streams empty. `interleaved: false` forces the OpenSSL path (tests).
    public init(interleaved: Bool = SHA256Stream.accelerated) {
        self.interleaved = interleaved
        scratch = SHA256Stream(interleaved: interleaved)
        second = SHA256Stream(interleaved: interleaved)
        running = SHA256Stream(interleaved: interleaved)
    }

    /// The digest of `chunk`; the same bytes are fed into `stream` (default: ``running``).
    public func digestAndAppend(_ chunk: UnsafeRawBufferPointer, to stream: SHA256Stream? = nil) -> Digest {
        scratch.reset()
        scratch.update(chunk, alongWith: stream ?? running)
        return scratch.finalize()
    }

    /// Feeds bytes into the running digest only.
    public func append(_ bytes: UnsafeRawBufferPointer) { running.update(bytes) }

    /// The running digest; it starts over empty.
    public func finalizeRunning() -> Digest { running.finalize() }

    /// Digests of two independent buffers (the running digest is left as it is).
    public func hash(_ a: UnsafeRawBufferPointer, _ b: UnsafeRawBufferPointer) -> (Digest, Digest) {
        scratch.reset()
        second.reset()
        scratch.update(a, second, b)
        return (scratch.finalize(), second.finalize())
    }

    /// Whether ``digests(of:)`` takes sixteen AVX-512 lanes for ten buffers or more
    /// (`trove_sha256_sixteen_lanes`: an Intel CPU with AVX-512; `TROVE_SHA256_LANES=2|16`
    /// overrides), where many chunk digests cost about half of one SHA-NI stream's time.
    public static var manyOnSixteenLanes: Bool { trove_sha256_sixteen_lanes() != 0 }

    /// The digests of independent buffers, in order. With the SHA extensions they run two at a
    /// time on two lanes (`trove_sha256_many`): when one buffer ends the next starts on its lane
    /// while the other goes on, so buffers of different lengths stay interleaved; ``hash(_:_:)``
    /// of a pair runs the longer one's excess on one stream. The running digest is left as it is.
    public func digests(of buffers: [UnsafeRawBufferPointer]) -> [Digest] {
        guard interleaved else {
            let one = SHA256()
            return buffers.map { one.hash($0) }
        }
        return Self.runMany(buffers) { trove_sha256_many($0, $1, $2, $3) }
    }

    /// ``digests(of:)``, and the CRC-32C of each buffer (``CRC32C/update(_:_:)`` from 0) into
    /// `crcs` (`buffers.count` of them). With the SHA extensions the CRC is taken in the same pass
    /// as the two SHA lanes (`trove_sha256_crc32c_many`): its instruction runs beside their rounds,
    /// so it costs no second read of the bytes; otherwise each buffer is read again for it.
    public func digests(of buffers: [UnsafeRawBufferPointer], crcs: UnsafeMutablePointer<UInt32>) -> [Digest] {
        guard interleaved else {
            for (i, b) in buffers.enumerated() { crcs[i] = CRC32C.update(0, b) }
            return digests(of: buffers)
        }
        return Self.runMany(buffers) { trove_sha256_crc32c_many($0, $1, $2, $3, crcs) }
    }

    /// Runs `many` (`trove_sha256_many` or a variant: count, starts, lengths, 32-byte digests out)
    /// over `buffers` and returns their digests in order.
    private static func runMany(
        _ buffers: [UnsafeRawBufferPointer],
        _ many: (Int, UnsafePointer<UnsafeRawPointer?>?, UnsafePointer<Int>?, UnsafeMutablePointer<UInt8>?) -> Void
    ) -> [Digest] {
        var out = [UInt8](repeating: 0, count: 32 * buffers.count)
        let starts = buffers.map { UnsafeRawPointer($0.baseAddress) }
        let lengths = buffers.map(\.count)
        out.withUnsafeMutableBufferPointer { o in
            starts.withUnsafeBufferPointer { s in
                lengths.withUnsafeBufferPointer { l in many(buffers.count, s.baseAddress, l.baseAddress, o.baseAddress) }
            }
        }
        return out.withUnsafeBytes { raw in
            (0..<buffers.count).map { Digest(pointer: raw.baseAddress! + 32 * $0) }
        }
    }
}
