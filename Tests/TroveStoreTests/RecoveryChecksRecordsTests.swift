import Foundation
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// Recovery checks the records of segments written after the acknowledged size before indexing
/// them: a crash can leave a segment's trailer on disk without one of its data pages, and a
/// record indexed unchecked would let a later push deduplicate against bytes that are not there.
@Suite("Recovery checks unacknowledged records")
struct RecoveryChecksRecordsTests {
    /// A store with `acknowledged` stored through the store, then two complete segments appended
    /// behind it as two flushes in flight at a crash leave them. Returns the pack path, the
    /// acknowledged size and where each appended segment ends.
    static func crashedStore(
        root: String, acknowledged: [ChunkInput], first: [ChunkInput], second: [ChunkInput]
    ) throws -> (path: String, goodSize: Int, firstEnd: Int, secondEnd: Int) {
        let store = try createStore(at: root)
        _ = try store.putChunks(acknowledged)
        let path = store.packPath(store.state.withLock { $0.packNames.values.first! })
        let goodSize = Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
        let fd = open(path, O_RDWR)
        #expect(fd >= 0)
        defer { close(fd) }
        func records(_ cs: [ChunkInput]) -> [VerifiedChunk] {
            cs.map {
                VerifiedChunk(
                    digest: $0.digest, codec: $0.codec, rawLength: $0.rawLength, stored: $0.data)
            }
        }
        let segments = SegmentWriter()
        let firstEnd = try segments.append(records(first), fd: fd, path: path, start: goodSize).end
        let secondEnd = try segments.append(records(second), fd: fd, path: path, start: firstEnd).end
        return (path, goodSize, firstEnd, secondEnd)
    }

    static func zeroPage(_ path: String, at offset: Int) {
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        let zeros = [UInt8](repeating: 0, count: 4096)
        #expect(pwrite(fd, zeros, zeros.count, off_t(offset)) == zeros.count)
    }

    static func fileSize(_ path: String) throws -> Int {
        Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
    }

    @Test func aSegmentWithALostDataPageIsCutWithEverythingBehindIt() throws {
        let root = tempStorePath("recovery-records-first")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 1210)
        let acknowledged = (0..<3).map { _ in chunkInput(rng.bytes(5000)) }
        let first = (0..<2).map { _ in chunkInput(rng.bytes(40_000), compress: false) }
        let second = (0..<2).map { _ in chunkInput(rng.bytes(40_000), compress: false) }
        let c = try Self.crashedStore(root: root, acknowledged: acknowledged, first: first, second: second)
        // A data page of the first record never reached the disk; its trailer did.
        Self.zeroPage(c.path, at: (c.goodSize + 8192) / 4096 * 4096)
        let store = try openStore(at: root)
        #expect(try Self.fileSize(c.path) == c.goodSize)
        for ch in acknowledged { #expect(SHA256.hash(try store.readChunk(ch.digest)) == ch.digest) }
        #expect(try store.missing((first + second).map(\.digest)).count == 4)
        let report = try store.fsck(deep: true)
        #expect(report.isClean && report.warnings.isEmpty, "\(report.violations) \(report.warnings)")
        // A later push stores the lost chunks again instead of deduplicating against them.
        #expect(try store.putChunks(first + second).rejected.isEmpty)
        for ch in first + second { #expect(SHA256.hash(try store.readChunk(ch.digest)) == ch.digest) }
    }

    @Test func aLostDataPageInTheSecondSegmentKeepsTheIntactFirst() throws {
        let root = tempStorePath("recovery-records-second")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 1211)
        let acknowledged = (0..<3).map { _ in chunkInput(rng.bytes(5000)) }
        let first = (0..<2).map { _ in chunkInput(rng.bytes(40_000), compress: false) }
        let second = (0..<2).map { _ in chunkInput(rng.bytes(40_000), compress: false) }
        let c = try Self.crashedStore(root: root, acknowledged: acknowledged, first: first, second: second)
        Self.zeroPage(c.path, at: (c.firstEnd + 8192) / 4096 * 4096)
        let store = try openStore(at: root)
        #expect(try Self.fileSize(c.path) == c.firstEnd)
        for ch in acknowledged + first { #expect(SHA256.hash(try store.readChunk(ch.digest)) == ch.digest) }
        #expect(try store.missing(second.map(\.digest)).count == 2)
        let report = try store.fsck(deep: true)
        #expect(report.isClean && report.warnings.isEmpty, "\(report.violations) \(report.warnings)")
    }

    @Test func intactUnacknowledgedSegmentsAreIndexedWhole() throws {
        let root = tempStorePath("recovery-records-intact")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 1212)
        let acknowledged = (0..<3).map { _ in chunkInput(rng.bytes(5000)) }
        let first = (0..<2).map { _ in chunkInput(rng.bytes(40_000)) }
        let second = (0..<2).map { _ in chunkInput(rng.bytes(40_000), compress: false) }
        let c = try Self.crashedStore(root: root, acknowledged: acknowledged, first: first, second: second)
        let store = try openStore(at: root)
        #expect(try Self.fileSize(c.path) == c.secondEnd)
        for ch in acknowledged + first + second {
            #expect(SHA256.hash(try store.readChunk(ch.digest)) == ch.digest)
        }
    }
}
