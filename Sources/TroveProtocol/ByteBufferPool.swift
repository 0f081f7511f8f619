import NIOCore
import Synchronization

/// A bounded set of large `ByteBuffer`s reused from frame to frame, so that a frame's bytes land
/// in memory that is already mapped: a fresh buffer of a few MiB costs a page fault and a zeroed
/// page per 4 KiB, and glibc returns such buffers to the kernel when they are freed.
///
/// A buffer from ``take(capacity:)`` is the caller's alone: writing to it copies nothing. The
/// caller hands it back with ``recycle(_:)`` as soon as it has finished *writing* it, even while
/// others still read it (the socket's pending writes, a decoded frame's payload slices): the pool
/// reuses a buffer only once its own reference is the last one (`modifyIfUniquelyOwned`), so no
/// byte anybody still holds is ever overwritten. Thread-safe.
public final class ByteBufferPool: Sendable {
    /// Smaller requests get a plain allocation and smaller buffers are not kept.
    public let minimumCapacity: Int
    /// At most this many buffers are kept…
    public let maxBuffers: Int
    /// …holding at most this many bytes of capacity together.
    public let maxBytes: Int
    private let allocator: ByteBufferAllocator
    /// Buffers handed back; some may still be referenced elsewhere.
    private let kept = Mutex<[ByteBuffer]>([])

    /// A pool keeping at most `maxBuffers` buffers of `minimumCapacity` bytes or more, `maxBytes`
    /// of capacity in all.
    public init(
        maxBuffers: Int, maxBytes: Int, minimumCapacity: Int = 64 << 10, allocator: ByteBufferAllocator = .init()
    ) {
        self.maxBuffers = maxBuffers
        self.maxBytes = maxBytes
        self.minimumCapacity = minimumCapacity
        self.allocator = allocator
    }

    /// An empty buffer with room for at least `capacity` bytes: the smallest kept buffer that is
    /// large enough and referenced by nobody else, else a new one.
    public func take(capacity: Int) -> ByteBuffer {
        if capacity >= minimumCapacity,
            var b = kept.withLock({ (k: inout [ByteBuffer]) -> ByteBuffer? in
                var best: Int?
                for i in k.indices where k[i].capacity >= capacity && (best == nil || k[i].capacity < k[best!].capacity) {
                    if k[i].modifyIfUniquelyOwned({ _ in true }) != nil { best = i }
                }
                guard let best else { return nil }
                k.swapAt(best, k.count - 1)
                return k.removeLast()
            })
        {
            b.clear()  // uniquely referenced: keeps its storage
            return b
        }
        return allocator.buffer(capacity: capacity)
    }

    /// Hands `buffer` (from ``take(capacity:)`` or any large buffer the caller will not write
    /// again) to the pool. Kept while the pool has room; when it is full, a kept buffer nobody
    /// references that is smaller than `buffer` makes way for it.
    public func recycle(_ buffer: ByteBuffer) {
        guard buffer.capacity >= minimumCapacity, buffer.capacity <= maxBytes else { return }
        kept.withLock { k in
            var total = k.reduce(0) { $0 + $1.capacity }
            var i = 0
            while k.count >= maxBuffers || total + buffer.capacity > maxBytes {
                guard i < k.count else { return }
                if k[i].capacity < buffer.capacity, k[i].modifyIfUniquelyOwned({ _ in true }) != nil {
                    total -= k[i].capacity
                    k.remove(at: i)
                } else {
                    i += 1
                }
            }
            k.append(buffer)
        }
    }

    /// Buffers kept now and their capacity in bytes.
    public var usage: (buffers: Int, bytes: Int) {
        kept.withLock { k in (k.count, k.reduce(0) { $0 + $1.capacity }) }
    }
}
