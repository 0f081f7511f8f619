import Dispatch
import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// The group commit's two stages (``GroupCommit``, `Store+Flush.swift`): a large segment is
/// synced and indexed while the next one is written; answers stay in write order; a failure
/// fails what was written behind it; recovery cuts a pack at a torn segment even when a complete
/// one follows it.
@Suite("Pipelined group commit")
struct PipelinedFlushTests {
    /// Waits for `s`, failing the test (instead of hanging) if it is never signalled.
    static func waitFor(_ s: DispatchSemaphore, _ what: String) -> Bool {
        let ok = s.wait(timeout: .now() + 60) == .success
        if !ok { Issue.record("never happened: \(what)") }
        return ok
    }

    @Test func aLargeFlushIsSyncedWhileTheNextIsWrittenAndAnswersStayInOrder() {
        let commit = GroupCommit()
        let log = Mutex<[String]>([])
        @Sendable func note(_ s: String) { log.withLock { $0.append(s) } }
        let firstWritten = DispatchSemaphore(value: 0)
        let secondWritten = DispatchSemaphore(value: 0)
        let overlapped = Mutex(false)
        let group = DispatchGroup()
        DispatchQueue.global().async(group: group) {
            _ = try? commit.submit([]) { _ in
                note("write 1")
                firstWritten.signal()
                return GroupCommit.Staged(overlap: true) {
                    // The second flush writes while this one is in its second stage.
                    let ok = Self.waitFor(secondWritten, "the second write during the first flush's second stage")
                    overlapped.withLock { $0 = ok }
                    note("finish 1")
                }
            }
            note("answer 1")
        }
        _ = Self.waitFor(firstWritten, "the first write")
        DispatchQueue.global().async(group: group) {
            _ = try? commit.submit([]) { _ in
                note("write 2")
                secondWritten.signal()
                return GroupCommit.Staged(overlap: false) { note("finish 2") }
            }
            note("answer 2")
        }
        group.wait()
        #expect(overlapped.withLock { $0 })
        let l = log.withLock { $0 }
        let at = { (s: String) in l.firstIndex(of: s) ?? -1 }
        #expect(Set(l) == ["write 1", "write 2", "finish 1", "finish 2", "answer 1", "answer 2"], "\(l)")
        #expect(at("write 2") < at("finish 1"), "\(l)")
        #expect(at("finish 1") < at("finish 2") && at("finish 1") < at("answer 2"), "\(l)")
        #expect(at("finish 2") < at("answer 2"), "\(l)")
    }

    @Test func concurrentLargeWritesAcrossPackRolloversAreAllDurableAndRecover() throws {
        let root = tempStorePath("pipeline")
        defer { cleanup(root) }
        var options = StoreOptions()
        options.packSize = 3 << 20
        let threads = 6
        let perThread = 4
        // Each chunk alone is a large segment (it overlaps the next write); all threads also
        // store one shared chunk.
        let all = (0..<threads).map { t in
            var rng = TestRandom(seed: 700 + UInt64(t))
            var shared = TestRandom(seed: 699)
            return (0..<perThread).map { _ in chunkInput(rng.bytes(Store.overlapBytes + 4096), compress: false) }
                + [chunkInput(shared.bytes(Store.overlapBytes + 100), compress: false)]
        }
        do {
            let store = try createStore(at: root, options: options)
            let tally = Mutex((failures: [String](), stored: 0))
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                do {
                    var stored = 0
                    for c in all[t] { stored += try store.putChunks([c]).stored }
                    tally.withLock { $0.stored += stored }
                } catch { tally.withLock { $0.failures.append("\(error)") } }
            }
            let (failures, stored) = tally.withLock { ($0.failures, $0.stored) }
            #expect(failures.isEmpty)
            #expect(stored == threads * perThread + 1)
            for c in all.joined() { #expect(try store.readChunk(c.digest).count == c.rawLength) }
            let report = try store.fsck(deep: true)
            #expect(report.isClean, "\(report.violations)")
            #expect(report.warnings.isEmpty, "\(report.warnings)")
        }
        let reopened = try openStore(at: root, options: options)
        #expect(try reopened.missing(all.joined().map(\.digest)).isEmpty)
        #expect(try reopened.fsck(deep: true).isClean)
    }

    @Test func aFailedSyncFailsTheFlushWrittenBehindItAndNothingIsAcknowledged() throws {
        let root = tempStorePath("pipeline-eio")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 710)
        let good = chunkInput(rng.bytes(3000))
        let first = chunkInput(rng.bytes(Store.overlapBytes + 1), compress: false)
        let second = chunkInput(rng.bytes(Store.overlapBytes + 2), compress: false)
        do {
            let store = try createStore(at: root)
            _ = try store.putChunks([good])  // ticket 0
            let firstFinishing = DispatchSemaphore(value: 0)
            let secondWritten = DispatchSemaphore(value: 0)
            store.commit.testHooks.withLock { h in
                h.written = { t in if t == 2 { secondWritten.signal() } }
                h.finishing = { t in
                    guard t == 1 else { return }
                    firstFinishing.signal()
                    _ = Self.waitFor(secondWritten, "the second write while the first waits to sync")
                }
            }
            store.failNextSyncForTesting = true
            let results = Mutex<[Int: String]>([:])
            let group = DispatchGroup()
            DispatchQueue.global().async(group: group) {
                let r = Result { () throws(StoreError) in try store.putChunks([first]) }
                results.withLock { $0[1] = "\(r)" }
            }
            guard Self.waitFor(firstFinishing, "the first flush's second stage") else { return }
            DispatchQueue.global().async(group: group) {
                let r = Result { () throws(StoreError) in try store.putChunks([second]) }
                results.withLock { $0[2] = "\(r)" }
            }
            group.wait()
            let r = results.withLock { $0 }
            // Both fail with the sync's error; the second was written, but behind the first.
            #expect(r[1]?.contains("fdatasync") == true, "\(r)")
            #expect(r[2]?.contains("fdatasync") == true, "\(r)")
            #expect(store.isReadOnly)
            #expect(try store.missing([first.digest, second.digest]).count == 2)
        }
        let reopened = try openStore(at: root)
        #expect(!reopened.isReadOnly)
        #expect(try reopened.readChunk(good.digest).count == 3000)
        // Recovery indexes complete unacknowledged segments: whatever it kept reads back intact.
        for c in [first, second] where try reopened.contains(c.digest) {
            #expect(try reopened.readChunk(c.digest).count == c.rawLength)
        }
        #expect(try reopened.fsck(deep: true).isClean)
        #expect(try reopened.putChunks([first, second]).rejected.isEmpty)
        #expect(try reopened.missing([first.digest, second.digest]).isEmpty)
    }

    @Test func recoveryCutsAPackAtATornSegmentThoughACompleteOneFollows() throws {
        let root = tempStorePath("pipeline-torn")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 720)
        let acknowledged = (0..<3).map { _ in chunkInput(rng.bytes(5000)) }
        let torn = (0..<2).map { _ in chunkInput(rng.bytes(20_000), compress: false) }
        let after = (0..<2).map { _ in chunkInput(rng.bytes(20_000), compress: false) }
        var path = ""
        var goodSize = 0
        do {
            let store = try createStore(at: root)
            _ = try store.putChunks(acknowledged)
            path = store.packPath(store.state.withLock { $0.packNames.values.first! })
            goodSize = Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64)
        }
        // Two segments written behind the acknowledged one, as two flushes in flight at a crash
        // leave them: the first lost its trailer page (it never reached the disk), the second is
        // whole.
        let fd = open(path, O_RDWR)
        #expect(fd >= 0)
        defer { close(fd) }
        let segments = SegmentWriter()
        func records(_ cs: [ChunkInput]) -> [VerifiedChunk] {
            cs.map {
                VerifiedChunk(
                    digest: $0.digest, codec: $0.codec, rawLength: $0.rawLength, stored: $0.data)
            }
        }
        let tornEnd = try segments.append(records(torn), fd: fd, path: path, start: goodSize).end
        _ = try segments.append(records(after), fd: fd, path: path, start: tornEnd)
        let zeros = [UInt8](repeating: 0, count: PackFormat.alignment)
        #expect(pwrite(fd, zeros, zeros.count, off_t(tornEnd - PackFormat.alignment)) == zeros.count)
        let store = try openStore(at: root)
        #expect(Int(try FileManager.default.attributesOfItem(atPath: path)[.size] as! UInt64) == goodSize)
        for c in acknowledged { #expect(try store.readChunk(c.digest).count == c.rawLength) }
        #expect(try store.missing((torn + after).map(\.digest)).count == 4)
        let report = try store.fsck(deep: true)
        #expect(report.isClean && report.warnings.isEmpty, "\(report.violations) \(report.warnings)")
    }
}
