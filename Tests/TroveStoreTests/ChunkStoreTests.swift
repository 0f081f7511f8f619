import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

@Suite("Chunk store")
struct ChunkStoreTests {
    @Test func putThenReadBackVerified() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 1)
        let raws = (0..<20).map { i in i % 2 == 0 ? rng.bytes(1000 + i) : rng.text(5000 + i) }
        let inputs = raws.map { chunkInput($0) }
        let result = try store.putChunks(inputs)
        #expect(result.stored == 20 && result.duplicates == 0 && result.rejected.isEmpty)
        for (raw, input) in zip(raws, inputs) {
            #expect(try store.readChunk(input.digest) == raw)
            let stored = try store.readStoredChunk(input.digest)
            #expect(
                stored.codec == input.codec && stored.bytes == input.bytes && stored.rawLength == raw.count)
        }
        #expect(inputs.contains { $0.codec == .zstd })
        #expect(inputs.contains { $0.codec == .raw })
    }

    @Test func missingReportsOnlyAbsentDigestsInOrder() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 2)
        let inputs = (0..<1200).map { _ in chunkInput(rng.bytes(64), compress: false) }
        _ = try store.putChunks(Array(inputs[0..<700]))
        let query = inputs.map(\.digest).reversed() + [SHA256.hash([1, 2, 3])]
        let missing = try store.missing(Array(query))
        // Slow obvious reference.
        let present = Set(inputs[0..<700].map(\.digest))
        #expect(missing == query.filter { !present.contains($0) })
        #expect(missing.count == 501)
        #expect(try store.missing([]) == [])
    }

    @Test func duplicatesAreNoOpsAndBadChunksAreRejected() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 3)
        let a = chunkInput(rng.text(3000))
        _ = try store.putChunks([a])
        var liar = chunkInput(rng.bytes(100), compress: false)
        liar.digest = SHA256.hash([9])
        var bomb = chunkInput(rng.text(4000))
        bomb.rawLength = 100  // declared shorter than the stream
        let good = chunkInput(rng.bytes(50))
        let r = try store.putChunks([a, liar, bomb, good, good])
        #expect(r.stored == 1)
        #expect(r.duplicates == 2)
        #expect(Set(r.rejected.map(\.digest)) == [liar.digest, bomb.digest])
        #expect(try store.missing([liar.digest, bomb.digest, good.digest]) == [liar.digest, bomb.digest])
    }

    @Test func packsSealAtThresholdAndSurviveReopen() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 4)
        let raws = (0..<40).map { _ in rng.bytes(10_000) }
        do {
            let store = try createStore(at: root, options: StoreOptions(packSize: 50_000))
            for group in stride(from: 0, to: 40, by: 4) {
                _ = try store.putChunks(raws[group..<group + 4].map { chunkInput($0) })
            }
            #expect(try store.stats().packCount >= 5)
        }
        let store = try openStore(at: root)
        for raw in raws { #expect(try store.readChunk(SHA256.hash(raw)) == raw) }
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
        #expect(report.chunks == 40)
    }

    @Test func concurrentWritersShareGroupCommit() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        let threads = 8
        let perThread = 30
        let all = (0..<threads).map { t in
            var rng = TestRandom(seed: 100 + UInt64(t))
            // Every thread also writes 5 chunks shared with all others.
            var shared = TestRandom(seed: 99)
            return (0..<perThread).map { _ in chunkInput(rng.bytes(2000)) }
                + (0..<5).map { _ in chunkInput(shared.bytes(700)) }
        }
        let tally = Mutex((failures: [String](), stored: 0))
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            do {
                var stored = 0
                for i in stride(from: 0, to: all[t].count, by: 5) {
                    stored += try store.putChunks(Array(all[t][i..<min(i + 5, all[t].count)])).stored
                }
                tally.withLock { $0.stored += stored }
            } catch { tally.withLock { $0.failures.append("\(error)") } }
        }
        let (failures, storedTotal) = tally.withLock { ($0.failures, $0.stored) }
        #expect(failures.isEmpty)
        #expect(storedTotal == threads * perThread + 5)
        #expect(try store.missing(all.flatMap { $0.map(\.digest) }).isEmpty)
        let report = try store.fsck(deep: true)
        #expect(report.isClean, "\(report.violations)")
        #expect(report.chunks == threads * perThread + 5)
    }

    @Test func forwardScanAgreesWithTrailerWalk() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 5)
        for _ in 0..<5 { _ = try store.putChunks((0..<7).map { _ in chunkInput(rng.text(3000)) }) }
        let name = store.state.withLock { $0.packNames.values.first! }
        let path = store.packPath(name)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let size = try FileIO.fileSize(fd, path)
        let fast = try PackScanner.readTrailers(fd, path, size: size)
        let slow = try PackScanner.scanForward(fd, path)
        #expect(fast.count == 35)
        #expect(fast == slow.entries)
        #expect(slow.validEnd == size && slow.problem == nil)
    }

    @Test func rebuildIndexFromTrailersMatchesOriginal() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root, options: StoreOptions(packSize: 30_000))
        var rng = TestRandom(seed: 6)
        for _ in 0..<6 { _ = try store.putChunks((0..<5).map { _ in chunkInput(rng.bytes(3000)) }) }
        let before = try store.indexSnapshot()
        let statsBefore = try store.stats()
        try store.catalog.write { db in try db.execute(sql: "DELETE FROM chunks") }
        #expect(try store.indexSnapshot().isEmpty)
        #expect(try store.rebuildChunkIndex() == 30)
        #expect(try store.indexSnapshot() == before)
        #expect(try store.stats() == statsBefore)
    }

    @Test func tornTailOfOpenPackIsTruncatedOnReopen() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 7)
        let raws = (0..<6).map { _ in rng.bytes(1000) }
        var path = ""
        var goodSize = 0
        do {
            let store = try createStore(at: root)
            _ = try store.putChunks(raws.map { chunkInput($0) })
            path = store.packPath(store.state.withLock { $0.packNames.values.first! })
            goodSize = Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
        }
        // Simulate a crash mid-append: half a record after the last sealed segment.
        let h = FileHandle(forWritingAtPath: path)!
        h.seekToEndOfFile()
        h.write(Data("TREC".utf8 + [UInt8](repeating: 7, count: 30)))
        h.closeFile()
        let store = try openStore(at: root)
        #expect(Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64) == goodSize)
        for raw in raws { #expect(try store.readChunk(SHA256.hash(raw)) == raw) }
        #expect(try store.fsck(deep: true).isClean)
    }
}

#if canImport(Glibc)
    import Glibc
#endif
