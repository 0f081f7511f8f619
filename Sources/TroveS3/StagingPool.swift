import Synchronization

/// Reusable memory for S3 bodies small enough to stage in memory (an aws CLI or boto3 part, a
/// small PUT): a body is copied once into a buffer here, checked, and chunked in place
/// (`Store.ingestBlob(bytes:expecting:)`), instead of being written to a staging file and read
/// back. Buffers are allocated when first needed and then reused, so staging touches no fresh
/// pages (on a VM each fresh page costs more than the copy into it). At most ``maxBuffers`` are
/// out at once: a body that finds none free, or is larger than ``bufferSize``, goes to a
/// staging file as before. Memory is bounded by `bufferSize × maxBuffers` (256 MiB).
final class StagingPool: Sendable {
    /// Largest body staged in memory.
    static let bufferSize = 16 << 20
    /// Most buffers in use (and kept) at once.
    static let maxBuffers = 16

    /// A buffer of ``bufferSize`` bytes, owned by one body at a time.
    struct Buffer: @unchecked Sendable {  // the pool's lock hands each buffer to one owner at a time
        let base: UnsafeMutableRawPointer
    }

    private struct State: ~Copyable {
        var free: [Buffer] = []
        var out = 0
    }

    private let state = Mutex(State())

    init() {}

    deinit {
        state.withLock { s in for b in s.free { b.base.deallocate() } }
    }

    /// A buffer for a body of `length` bytes, or nil (stage it in a file).
    func take(for length: UInt64) -> Buffer? {
        guard length <= UInt64(Self.bufferSize) else { return nil }
        return state.withLock { s -> Buffer? in
            guard s.out < Self.maxBuffers else { return nil }
            s.out += 1
            if let b = s.free.popLast() { return b }
            return Buffer(base: .allocate(byteCount: Self.bufferSize, alignment: 4096))
        }
    }

    /// Returns a buffer taken with ``take(for:)``.
    func give(_ b: Buffer) {
        state.withLock { s in
            s.out -= 1
            s.free.append(b)
        }
    }
}
