import Foundation
import NIOCore
import Testing
import TroveCore

@testable import TroveClient

/// The writer thread of a pull (`ChunkWriteQueue`) against writing on the calling thread: the
/// same bytes at the same offsets, whatever the queue bound; a failed write surfaces and stops
/// the writes after it.
@Suite("pull's chunk writer thread")
struct ChunkWriteQueueTests {
    /// Chunks of random sizes (some larger than the bound), written in order and in scattered
    /// order; the writer woken for every chunk or only once a MiB is queued (or the queue is
    /// full, or drained).
    @Test(
        "queued writes give the file a pwrite on the calling thread gives",
        arguments: [64 << 10, 32 << 20], [0, 1 << 20])
    func writesWhatPwriteWrites(bound: Int, wake: Int) throws {
        let dir = try TemporaryDirectory()
        var rng = SplitMix64(seed: UInt64(bound + wake))
        var pieces: [(offset: UInt64, bytes: [UInt8])] = []
        var offset: UInt64 = 0
        for _ in 0..<300 {
            let n = Int(rng.next() % 150_000) + 1
            pieces.append((offset, ClientE2E.random(seed: rng.next(), count: n)))
            offset += UInt64(n)
        }
        let scattered = pieces.shuffled(using: &rng)
        for (name, order) in [("in-order", pieces), ("scattered", scattered)] {
            let queued = dir.path + "/\(name).queued"
            let direct = dir.path + "/\(name).direct"
            let q = open(queued, O_RDWR | O_CREAT | O_EXCL, 0o600)
            let d = open(direct, O_RDWR | O_CREAT | O_EXCL, 0o600)
            #expect(q >= 0 && d >= 0)
            let writes = ChunkWriteQueue(maxPendingBytes: bound, wakeBytes: wake)
            for p in order {
                try writes.write(ByteBuffer(bytes: p.bytes), fd: q, at: p.offset, path: queued)
                try p.bytes.withUnsafeBytes { try SafeWriter.pwriteFully(d, $0, at: p.offset, path: direct) }
            }
            try writes.drain()
            writes.stop()
            close(q)
            close(d)
            let got = try Data(contentsOf: URL(fileURLWithPath: queued))
            #expect(got.count == Int(offset))
            #expect(got == (try Data(contentsOf: URL(fileURLWithPath: direct))), "\(name)")
        }
    }

    /// Many short rounds (a few writes well under the wake threshold, then a drain, or writes
    /// past a small bound): a lost wake-up would leave a drain or a write waiting for ever.
    @Test("drains and full queues wake the writer, round after round", .timeLimit(.minutes(1)))
    func noLostWakeUps() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/rounds"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var rng = SplitMix64(seed: 5)
        var expected: [UInt8] = []
        for (bound, wake) in [(1 << 30, 1 << 29), (4096, 3000)] {
            let writes = ChunkWriteQueue(maxPendingBytes: bound, wakeBytes: wake)
            for _ in 0..<2000 {
                for _ in 0..<Int(rng.next() % 4) {
                    let piece = ClientE2E.random(seed: rng.next(), count: Int(rng.next() % 3000) + 1)
                    try writes.write(ByteBuffer(bytes: piece), fd: fd, at: UInt64(expected.count), path: path)
                    expected += piece
                }
                try writes.drain()
            }
            writes.stop()
        }
        #expect(try ClientE2E.read(path) == expected)
    }

    @Test("a failed write is thrown by drain and by every later write")
    func failureSurfaces() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("read-only", [1, 2, 3])
        let fd = open(path, O_RDONLY)
        #expect(fd >= 0)
        defer { close(fd) }
        let writes = ChunkWriteQueue()
        defer { writes.stop() }
        try writes.write(ByteBuffer(bytes: [9, 9]), fd: fd, at: 0, path: path)
        #expect(throws: ClientError.self) { try writes.drain() }
        #expect(throws: ClientError.self) {
            try writes.write(ByteBuffer(bytes: [8]), fd: fd, at: 0, path: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
    }
}
