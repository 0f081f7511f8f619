import Foundation
import Testing
import TroveCore

@testable import TroveStore

@Suite("Damage detection and config")
struct DamageAndConfigTests {
    /// A store with two versions over several packs; returns its root.
    func populatedStore() throws -> (String, [Digest]) {
        let root = tempStorePath("damage")
        let store = try createStore(at: root, options: StoreOptions(packSize: 20_000))
        var rng = TestRandom(seed: 20)
        let t1 = try storeFile(store, rng.bytes(30_000))
        let t2 = try storeFile(store, path: "text.txt", rng.text(60_000))
        _ = try store.createVersion(name: "m", version: "1", tree: t1, creator: "a")
        _ = try store.createVersion(name: "m", version: "2", tree: t2, creator: "a")
        #expect(try store.fsck(deep: true).isClean)
        return (root, [t1, t2])
    }

    func packFiles(_ root: String) -> [String] {
        let packs = root + "/packs"
        return (try? FileManager.default.subpathsOfDirectory(atPath: packs))?.filter { $0.hasSuffix(".pack") }
            .map { packs + "/" + $0 }.sorted() ?? []
    }

    @Test func flippedByteInPackDataIsFoundByDeepCheck() throws {
        let (root, _) = try populatedStore()
        defer { cleanup(root) }
        let pack = packFiles(root)[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: pack)!)
        bytes[PackFormat.headerSize + PackFormat.recordHeaderSize + 10] ^= 0x40  // inside the first record's data
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        let store = try openStore(at: root)
        #expect(try store.fsck(deep: false).isClean)  // structure is intact
        let deep = try store.fsck(deep: true)
        #expect(deep.violations.map(\.kind) == [.chunkCorrupt])
        // I6: the damaged chunk is never served.
        let digest = bytes.withUnsafeBytes { Digest(pointer: $0.baseAddress! + PackFormat.headerSize + 4) }
        #expect(throws: StoreError.self) { try store.readChunk(digest) }
        #expect(throws: StoreError.self) { try store.readStoredChunk(digest) }
    }

    @Test func flippedByteInTrailerIsFoundStructurally() throws {
        let (root, _) = try populatedStore()
        defer { cleanup(root) }
        let pack = packFiles(root)[0]
        var bytes = [UInt8](FileManager.default.contents(atPath: pack)!)
        bytes[bytes.count - PackFormat.footerSize - 40] ^= 0x01  // inside the last trailer
        try Data(bytes).write(to: URL(fileURLWithPath: pack))
        let report = try openStore(at: root).fsck(deep: false)
        #expect(report.violations.contains { $0.kind == .packDamaged })
    }

    @Test func deletedPackIsReported() throws {
        let (root, _) = try populatedStore()
        defer { cleanup(root) }
        let packs = packFiles(root)
        #expect(packs.count >= 2)
        try FileManager.default.removeItem(atPath: packs[0])
        let report = try openStore(at: root).fsck(deep: false)
        #expect(report.violations.contains { $0.kind == .packMissing })
        #expect(report.violations.contains { $0.kind == .indexMismatch })
    }

    @Test func truncatedObjectIsReported() throws {
        let (root, trees) = try populatedStore()
        defer { cleanup(root) }
        let hex = trees[0].hex
        let path = root + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
        let bytes = FileManager.default.contents(atPath: path)!
        try bytes.prefix(bytes.count - 3).write(to: URL(fileURLWithPath: path))
        let store = try openStore(at: root)
        let report = try store.fsck(deep: false)
        let kinds = Set(report.violations.map(\.kind))
        #expect(kinds == [.objectCorrupt, .objectMissing, .danglingVersion])
        #expect(throws: StoreError.self) { try store.readTree(trees[0]) }
    }

    @Test func recommittingHealsADamagedObject() throws {
        let root = tempStorePath("heal")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 21)
        let content = rng.text(50_000)
        let t = try storeFile(store, content)
        let hex = t.hex
        let path = root + "/objects/" + hex.prefix(2) + "/" + hex.dropFirst(2)
        let bytes = FileManager.default.contents(atPath: path)!
        try bytes.prefix(10).write(to: URL(fileURLWithPath: path))
        #expect(!(try store.fsck().isClean))
        #expect(try storeFile(store, content) == t)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func unknownFormatOrCorruptConfigFailsAndTouchesNothing() throws {
        let root = tempStorePath("config")
        defer { cleanup(root) }
        _ = try createStore(at: root)
        let configPath = root + "/trove.toml"
        let original = try String(contentsOfFile: configPath, encoding: .utf8)
        // Leave a file in tmp/: a successful open would clear it.
        FileManager.default.createFile(atPath: root + "/tmp/marker", contents: Data([1]))
        try original.replacingOccurrences(of: "format = 1", with: "format = 3").write(
            toFile: configPath, atomically: true, encoding: .utf8)
        #expect(throws: StoreError.unsupportedFormat(found: 3, supported: 2)) { try openStore(at: root) }
        try "[store]\nid = \"unterminated\n".write(toFile: configPath, atomically: true, encoding: .utf8)
        #expect {
            try openStore(at: root)
        } throws: { e in
            if case .corruptConfig = e as? StoreError { return true }
            return false
        }
        #expect(FileManager.default.fileExists(atPath: root + "/tmp/marker"))
        try original.write(toFile: configPath, atomically: true, encoding: .utf8)
        _ = try openStore(at: root)
        #expect(!FileManager.default.fileExists(atPath: root + "/tmp/marker"))
    }

    @Test func configRoundTripsAndCreateRefusesNonEmptyDirectories() throws {
        let c = StoreConfig(
            chunking: StoreChunking(min: 4096, avg: 16384, max: 65536, normalization: 2), level: 5)
        #expect(try StoreConfig.parse(c.tomlText, path: "x") == c)
        let root = tempStorePath("exists")
        defer { cleanup(root) }
        let store = try createStore(at: root, config: c)
        #expect(store.config == c)
        #expect(throws: StoreError.alreadyExists(path: root)) { try createStore(at: root) }
        #expect(throws: StoreError.notAStore(path: root + "/packs")) { try openStore(at: root + "/packs") }
    }

    @Test func secondOpenOfTheSameStoreIsRefused() throws {
        let root = tempStorePath("lock")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        #expect(throws: StoreError.self) { try openStore(at: root) }
        _ = store
    }
}

@Suite("Durability failures")
struct DurabilityFailureTests {
    @Test func failedFsyncMakesTheStoreReadOnlyAndNothingIsAcknowledged() throws {
        let root = tempStorePath("eio")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 30)
        let good = (0..<3).map { _ in chunkInput(rng.bytes(2000)) }
        let lost = (0..<3).map { _ in chunkInput(rng.bytes(2000)) }
        do {
            let store = try createStore(at: root)
            _ = try store.putChunks(good)
            store.failNextSyncForTesting = true
            #expect(
                throws: StoreError.io(
                    op: "fdatasync", path: store.packPath(store.state.withLock { $0.packNames.values.first! }), errno: EIO)
            ) {
                try store.putChunks(lost)
            }
            #expect(store.isReadOnly)
            #expect {
                try store.putChunks([chunkInput(rng.bytes(10))])
            } throws: { e in
                if case .readOnly = e as? StoreError { return true }
                return false
            }
            #expect(throws: StoreError.self) {
                try store.setAlias(name: "m", alias: "a", version: "v", actor: "x")
            }
            // Reads keep working; the failed chunks were never indexed.
            #expect(try store.readChunk(good[0].digest).count == 2000)
            #expect(try store.missing(lost.map(\.digest)).count == 3)
        }
        let reopened = try openStore(at: root)
        #expect(!reopened.isReadOnly)
        #expect(try reopened.missing(good.map(\.digest)).isEmpty)
        #expect(try reopened.fsck(deep: true).isClean)
    }
}
