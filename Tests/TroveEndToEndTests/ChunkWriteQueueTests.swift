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
        for direct in [false, true] { try writesWhatPwriteWrites(bound: bound, wake: wake, direct: direct) }
    }

    func writesWhatPwriteWrites(bound: Int, wake: Int, direct: Bool) throws {
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
            let queued = dir.path + "/\(name)-\(direct).queued"
            let plain = dir.path + "/\(name)-\(direct).plain"
            let q = open(queued, O_RDWR | O_CREAT | O_EXCL, 0o600)
            let d = open(plain, O_RDWR | O_CREAT | O_EXCL, 0o600)
            #expect(q >= 0 && d >= 0)
            let writes = ChunkWriteQueue(maxPendingBytes: bound, wakeBytes: wake)
            for p in order {
                try writes.write(ByteBuffer(bytes: p.bytes), fd: q, at: p.offset, path: queued, direct: direct)
                try p.bytes.withUnsafeBytes { try SafeWriter.pwriteFully(d, $0, at: p.offset, path: plain) }
            }
            try writes.drain()
            #expect(writes.completed == offset, "\(name), direct I/O \(direct)")
            writes.stop()
            close(q)
            close(d)
            let got = try Data(contentsOf: URL(fileURLWithPath: queued))
            #expect(got.count == Int(offset))
            #expect(got == (try Data(contentsOf: URL(fileURLWithPath: plain))), "\(name), direct I/O \(direct)")
        }
    }

    /// A large file written with direct I/O the way a pull writes it: mostly consecutive chunks
    /// (unaligned sizes), a drain now and then after which the caller reads back what was written
    /// and writes a piece itself (a chunk placed earlier), on a disk filesystem and on tmpfs (which
    /// refuses `O_DIRECT`: the ordinary writes take over). The file must read as written at every
    /// drain and at the end.
    @Test("direct writes read back as written after every drain", arguments: ["", "/dev/shm"])
    func directWritesReadBack(base: String) throws {
        let dir = try TemporaryDirectory()
        let root: String
        if base.isEmpty {
            root = dir.path
        } else {
            root = base + "/trove-direct-\(UInt64.random(in: 0...UInt64.max))"
            #expect(mkdir(root, 0o700) == 0, "tmpfs at \(base) is needed for this test")
        }
        defer { if !base.isEmpty { PullTarget.removeTree(root) } }
        let path = root + "/large"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        var rng = SplitMix64(seed: 12)
        var expected: [UInt8] = []
        let writes = ChunkWriteQueue(maxPendingBytes: 8 << 20, wakeBytes: 1 << 20)
        var checked = 0
        var queued: UInt64 = 0
        for round in 0..<30 {
            // Every tenth round more than the direct writer's buffer holds, the others a few chunks.
            let (count, largest) = round % 10 == 1 ? (60, 150_000) : (Int(rng.next() % 16), 20_000)
            for _ in 0..<count {
                let piece = ClientE2E.random(seed: rng.next(), count: Int(rng.next() % UInt64(largest)) + 1)
                try writes.write(ByteBuffer(bytes: piece), fd: fd, at: UInt64(expected.count), path: path, direct: true)
                expected += piece
                queued += UInt64(piece.count)
            }
            try writes.drain()
            // Every queued byte counts as written once drained (a direct writer's too).
            #expect(writes.completed == queued, "round \(round)")
            // What was written since the last check, and the block before it (rewritten since).
            let from = max(0, checked - 8192)
            var back = [UInt8](repeating: 0, count: expected.count - from)
            if !back.isEmpty {
                try back.withUnsafeMutableBytes { try SafeWriter.preadFully(fd, $0, at: UInt64(from), path: path) }
            }
            #expect(back[...] == expected[from...], "round \(round)")
            if round % 3 == 0 {
                let piece = ClientE2E.random(seed: rng.next(), count: Int(rng.next() % 10_000) + 1)
                try piece.withUnsafeBytes { try SafeWriter.pwriteFully(fd, $0, at: UInt64(expected.count), path: path) }
                expected += piece
            }
            checked = expected.count
        }
        writes.stop()
        #expect(try ClientE2E.read(path) == expected)
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
        #expect(writes.completed == 0)
        #expect(throws: ClientError.self) {
            try writes.write(ByteBuffer(bytes: [8]), fd: fd, at: 0, path: path)
        }
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data([1, 2, 3]))
    }
}
