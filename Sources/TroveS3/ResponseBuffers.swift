@_spi(CustomByteBufferAllocator) import NIOCore
import Synchronization

/// Memory for GetObject's response buffers, reused: a `ByteBuffer` from ``allocator`` whose
/// capacity is ``blockSize`` gets a block that an earlier response released, and gives it back
/// when NIO drops its last reference (once the socket took the bytes), not to the C heap. A
/// fresh 4 MiB buffer per batch cost a page fault per 4 KiB page on this VM (6.6 % of troved's
/// CPU during a download, plus the zeroing, docs/S3.md). At most ``maxFree`` blocks are kept;
/// more in use at once are allocated and freed as usual, so memory kept is bounded by
/// `blockSize × maxFree` (128 MiB). Buffers of other sizes come from the C heap.
enum ResponseBuffers {
    /// Size of a reused block: one batch of ``ObjectStream``.
    static let blockSize = ObjectStream.batchBytes
    /// Most free blocks kept.
    static let maxFree = 32
    /// Bytes before each allocation: the tag saying where it came from (aligned for the data).
    static let headerSize = 64
    static let tagBlock: UInt64 = 0x5452_4f56_4542_4c4b  // "TROVEBLK"
    static let tagHeap: UInt64 = 0x5452_4f56_4548_4550  // "TROVEHEP"

    /// Free blocks (addresses of their headers).
    static let free = FreeBlocks()

    /// The free blocks' addresses, under their lock.
    final class FreeBlocks: Sendable {
        private let blocks = Mutex<[UInt]>([])
        var count: Int { blocks.withLock { $0.count } }
        func pop() -> UInt? { blocks.withLock { $0.popLast() } }
        /// Keeps `block` unless ``maxFree`` are kept already (then false).
        func push(_ block: UInt) -> Bool {
            blocks.withLock { f -> Bool in
                guard f.count < ResponseBuffers.maxFree else { return false }
                f.append(block)
                return true
            }
        }
    }

    /// The allocator whose buffers of ``blockSize`` reuse memory.
    static let allocator = ByteBufferAllocator(
        allocate: { size in ResponseBuffers.allocate(Int(size)) },
        reallocate: { ptr, oldSize, newSize in ResponseBuffers.reallocate(ptr, Int(oldSize), Int(newSize)) },
        deallocate: { ptr in ResponseBuffers.deallocate(ptr) },
        copy: { dst, src, count in dst.copyMemory(from: src, byteCount: Int(count)) }
    )

    /// How many free blocks are kept now (for tests).
    static var freeCount: Int { free.count }

    static func allocate(_ size: Int) -> UnsafeMutableRawPointer {
        if size == blockSize, let p = free.pop() {
            return UnsafeMutableRawPointer(bitPattern: p)! + headerSize
        }
        let p = UnsafeMutableRawPointer.allocate(byteCount: headerSize + size, alignment: headerSize)
        p.storeBytes(of: size == blockSize ? tagBlock : tagHeap, as: UInt64.self)
        return p + headerSize
    }

    static func deallocate(_ ptr: UnsafeMutableRawPointer) {
        let p = ptr - headerSize
        if p.load(as: UInt64.self) == tagBlock {
            if free.push(UInt(bitPattern: p)) { return }
        }
        p.deallocate()
    }

    static func reallocate(_ ptr: UnsafeMutableRawPointer?, _ oldSize: Int, _ newSize: Int)
        -> UnsafeMutableRawPointer
    {
        let q = allocate(newSize)
        if let ptr {
            q.copyMemory(from: ptr, byteCount: min(oldSize, newSize))
            deallocate(ptr)
        }
        return q
    }
}
