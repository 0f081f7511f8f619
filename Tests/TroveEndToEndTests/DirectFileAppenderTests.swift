import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// `DirectFileAppender` with one and with several direct writes in flight, against a plain `pwrite`
/// of the same pieces: the same file, with the final size given up front (`fallocate`) or not.
@Suite("direct writes of a pull, several in flight")
struct DirectFileAppenderTests {
    /// Consecutive pieces of random sizes (many buffers' worth, some larger than a buffer), now and
    /// then one that does not follow (the gathered bytes are written first), a `finish` in the
    /// middle (after which the rest goes the ordinary way) and at the end.
    @Test("gives the file a plain pwrite gives", arguments: [1, 2, 4], [false, true])
    func writesWhatPwriteWrites(inFlight: Int, sizeKnown: Bool) throws {
        let dir = try TemporaryDirectory()
        var rng = SplitMix64(seed: UInt64(inFlight) * 2 + (sizeKnown ? 1 : 0))
        var pieces: [(offset: UInt64, bytes: [UInt8])] = []
        var offset: UInt64 = 0
        while offset < 21 << 20 {
            let n = Int(rng.next() % (rng.next() % 8 == 0 ? 6_000_000 : 150_000)) + 1
            pieces.append((offset, ClientE2E.random(seed: rng.next(), count: n)))
            offset += UInt64(n)
        }
        // Some pieces out of order: each one ends what is gathered.
        for i in stride(from: 7, to: pieces.count - 1, by: 23) { pieces.swapAt(i, i + 1) }
        let direct = dir.path + "/direct"
        let plain = dir.path + "/plain"
        let fd = open(direct, O_RDWR | O_CREAT | O_EXCL, 0o600)
        let pfd = open(plain, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0 && pfd >= 0)
        defer {
            close(fd)
            close(pfd)
        }
        let appender = try #require(
            DirectFileAppender(fd: fd, path: direct, size: sizeKnown ? offset : 0, writesInFlight: inFlight),
            "the test directory's filesystem must take O_DIRECT")
        for (k, p) in pieces.enumerated() {
            try p.bytes.withUnsafeBytes { try appender.write($0, at: p.offset) }
            try p.bytes.withUnsafeBytes { try SafeWriter.pwriteFully(pfd, $0, at: p.offset, path: plain) }
            if k == pieces.count * 3 / 4 { try appender.finish() }
        }
        try appender.finish()
        let got = try ClientE2E.read(direct)
        #expect(got.count == Int(offset))
        #expect(got == (try ClientE2E.read(plain)), "\(inFlight) in flight, size known: \(sizeKnown)")
    }

    /// An appender let go without `finish` (a pull that failed) waits for the writes it started
    /// before it goes: the buffers it submitted are in the file, nothing is written after the
    /// deinit returned (the caller closes the file next).
    @Test func deinitWaitsForWritesInFlight() throws {
        let dir = try TemporaryDirectory()
        let path = dir.path + "/abandoned"
        let fd = open(path, O_RDWR | O_CREAT | O_EXCL, 0o600)
        #expect(fd >= 0)
        defer { close(fd) }
        let bytes = ClientE2E.random(seed: 44, count: 5 * DirectFileAppender.bufferSize + 1000)
        do {
            let appender = try #require(DirectFileAppender(fd: fd, path: path, writesInFlight: 3))
            try bytes.withUnsafeBytes { try appender.write($0, at: 0) }
        }
        // Five whole buffers were submitted; the last 1000 bytes were only gathered.
        let submitted = 5 * DirectFileAppender.bufferSize
        let got = try ClientE2E.read(path)
        #expect(got.count == submitted)
        #expect(got[...] == bytes[0..<submitted])
    }
}
