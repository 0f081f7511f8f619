import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// Encryption at rest in the store: sealed records and objects, masked digests, keys at open,
/// rotation, and every reader (index rebuild, recovery, fsck, scrub, GC rewrite) on sealed packs.
@Suite("Encryption at rest (store)", .serialized)
struct EncryptionStoreTests {
    static func key(_ seed: UInt8) throws -> StoreKey {
        try StoreKey(bytes: (0..<32).map { UInt8($0) &* 7 &+ seed })
    }

    /// Every file under `dir`, concatenated (packs, objects).
    static func allBytes(under dir: String) -> [UInt8] {
        var out: [UInt8] = []
        for p in FileManager.default.enumerator(atPath: dir)?.compactMap({ $0 as? String }) ?? [] {
            if let d = FileManager.default.contents(atPath: dir + "/" + p) { out += d }
        }
        return out
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= hay.count else { return false }
        return Data(hay).range(of: Data(needle)) != nil
    }

    @Test func aesGCMRoundTripAndTamper() throws {
        let gcm = AESGCM()
        let key = [UInt8](repeating: 3, count: 32)
        let nonce = [UInt8](repeating: 9, count: 12)
        let plain: [UInt8] = Array("attack at dawn".utf8)
        var sealed = [UInt8](repeating: 0, count: plain.count + 16)
        sealed.withUnsafeMutableBytes { o in plain.withUnsafeBytes { gcm.seal(key: key, nonce: nonce, aad: [1], $0, into: o) } }
        #expect(!Self.contains(sealed, plain))
        func open(_ s: [UInt8], aad: [UInt8] = [1], key k: [UInt8]? = nil) -> [UInt8]? {
            var out = [UInt8](repeating: 0, count: s.count - 16)
            let ok = out.withUnsafeMutableBytes { o in
                s.withUnsafeBytes { sb in
                    nonce.withUnsafeBytes { gcm.open(key: k ?? key, nonce: $0, aad: aad, sb, into: o) }
                }
            }
            return ok ? out : nil
        }
        #expect(open(sealed) == plain)
        #expect(open(sealed, aad: [2]) == nil)
        #expect(open(sealed, key: [UInt8](repeating: 4, count: 32)) == nil)
        for i in sealed.indices {
            var t = sealed
            t[i] ^= 0x80
            #expect(open(t) == nil)
        }
    }

    @Test func sealedStoreLeaksNoPlaintextAndReadsBack() throws {
        let root = tempStorePath("enc")
        defer { cleanup(root) }
        let options = StoreOptions(encryption: StoreEncryption(key: try Self.key(1)))
        var rng = TestRandom(seed: 41)
        let content = rng.bytes(300_000) + rng.text(200_000)
        let store = try Store.create(at: root, options: options)
        let k1 = try Self.key(1)
        #expect(store.config.format == 2 && store.config.encryptionKeyID == k1.id)
        let tree = try storeFile(store, path: "secret-name.bin", content)
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let (chunks, recipe) = makeBlob(content)
        for (i, c) in chunks.enumerated() {
            #expect(try store.readChunk(c.digest) == Array(content[(i * 4096)..<min((i + 1) * 4096, content.count)]))
        }
        #expect(try store.recipe(forBlob: recipe.blobDigest) == recipe)

        let packs = Self.allBytes(under: root + "/packs")
        let objects = Self.allBytes(under: root + "/objects")
        let catalog = ["catalog.sqlite", "catalog.sqlite-wal"].flatMap {
            FileManager.default.contents(atPath: root + "/" + $0).map { [UInt8]($0) } ?? []
        }
        for start in stride(from: 0, to: content.count - 64, by: 4099) {
            let needle = Array(content[start..<(start + 64)])
            #expect(!Self.contains(packs, needle), "plaintext at \(start) in a pack")
        }
        // Neither chunk digests nor the file name appear in packs or objects.
        for c in chunks { #expect(!Self.contains(packs, c.digest.bytes)) }
        #expect(!Self.contains(objects + catalog, Array("secret-name.bin".utf8)))
        #expect(try store.fsck(deep: true).isClean)
        let scrub = try store.scrub()
        #expect(scrub.clean, "\(scrub.findings)")

        // The index rebuilds from the masked trailers.
        let n = try store.rebuildChunkIndex()
        #expect(n == Set(chunks.map(\.digest)).count)
        try verifyTreeReadable(store, tree)
    }

    @Test func keysAreCheckedBeforeAnythingIsTouched() throws {
        let root = tempStorePath("enc")
        defer { cleanup(root) }
        let k1 = try Self.key(1)
        let k2 = try Self.key(2)
        do {
            let store = try Store.create(at: root, options: StoreOptions(encryption: StoreEncryption(key: k1)))
            _ = try storeFile(store, Array(repeating: 7, count: 50_000))
        }
        // A file in tmp/ shows whether open touched anything (recovery empties tmp/).
        FileManager.default.createFile(atPath: root + "/tmp/marker", contents: Data([1]))
        func refused(_ e: StoreEncryption?) -> String? {
            do {
                _ = try Store.open(at: root, options: StoreOptions(encryption: e))
                return nil
            } catch .encryption(let m) { return m } catch { return "unexpected \(error)" }
        }
        #expect(refused(StoreEncryption(key: k2))?.contains("wrong key") == true)
        #expect(refused(nil)?.contains("is encrypted") == true)
        #expect(refused(StoreEncryption(key: k2, oldKeys: [try Self.key(3)]))?.contains("not a key of the store") == true)
        #expect(FileManager.default.fileExists(atPath: root + "/tmp/marker"))
        #expect(!FileManager.default.fileExists(atPath: root + "/keys.toml"))

        // A plaintext store refuses a key.
        let plain = tempStorePath("plain")
        defer { cleanup(plain) }
        _ = try Store.create(at: plain)
        #expect(throws: StoreError.self) { try Store.open(at: plain, options: StoreOptions(encryption: StoreEncryption(key: k1))) }
    }

    @Test func rotationKeepsOldPacksReadableAndGCRewritesUnderTheNewKey() throws {
        let root = tempStorePath("enc")
        defer { cleanup(root) }
        let k1 = try Self.key(1)
        let k2 = try Self.key(2)
        var rng = TestRandom(seed: 42)
        let old = rng.bytes(200_000)
        let gone = rng.bytes(200_000)
        let oldTree: Digest
        do {
            let store = try Store.create(
                at: root, options: StoreOptions(packSize: 1 << 20, encryption: StoreEncryption(key: k1)))
            oldTree = try storeFile(store, path: "old", old)
            _ = try store.createVersion(name: "m", version: "1", tree: oldTree, creator: "t")
            let t = try storeFile(store, path: "gone", gone)
            _ = try store.createVersion(name: "m", version: "2", tree: t, creator: "t")
        }
        let rotated = StoreOptions(packSize: 1 << 20, encryption: StoreEncryption(key: k2, oldKeys: [k1]))
        let newTree: Digest
        do {
            let store = try Store.open(at: root, options: rotated)
            try verifyTreeReadable(store, oldTree)
            let t = try storeFile(store, path: "new", rng.bytes(100_000))
            newTree = t
            _ = try store.createVersion(name: "m", version: "3", tree: t, creator: "t")
            // GC rewrites the sparse old pack: its survivors are sealed under the new key.
            try store.retireVersion(name: "m", version: "2", actor: "t")
            let r = try gcNow(store)
            #expect(r.packsRewritten >= 1)
            try verifyTreeReadable(store, oldTree)
            #expect(try store.fsck(deep: true).isClean)
        }
        #expect(try String(contentsOfFile: root + "/keys.toml", encoding: .utf8).contains(k2.id))
        // The new key alone now opens the store (it is known) and reads what was written under
        // it; objects written under the old key still need it (GC does not re-seal objects).
        let store = try Store.open(at: root, options: StoreOptions(encryption: StoreEncryption(key: k2)))
        try verifyTreeReadable(store, newTree)
        #expect(throws: StoreError.self) { try verifyTreeReadable(store, oldTree) }
    }

    @Test func recoveryIndexesSealedSegmentsOfAnOpenPack() throws {
        let root = tempStorePath("enc")
        defer { cleanup(root) }
        let options = StoreOptions(encryption: StoreEncryption(key: try Self.key(5)))
        var rng = TestRandom(seed: 43)
        let inputs = (0..<10).map { _ in chunkInput(rng.text(20_000)) }
        do {
            let store = try Store.create(at: root, options: options)
            _ = try store.putChunks(inputs)
            // Forget the index as a crash between the segment's fsync and its transaction would.
            try store.catalog.write { db in
                try db.execute(sql: "DELETE FROM chunks")
                try db.execute(sql: "UPDATE packs SET state = 0, size = 16")
            }
        }
        let store = try Store.open(at: root, options: options)
        for c in inputs { #expect(try store.readStoredChunk(c.digest).bytes == c.bytes) }
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func scrubQuarantinesATamperedSealedRecord() throws {
        let root = tempStorePath("enc")
        defer { cleanup(root) }
        let store = try Store.create(at: root, options: StoreOptions(encryption: StoreEncryption(key: try Self.key(6))))
        var rng = TestRandom(seed: 44)
        let tree = try storeFile(store, path: "w.bin", rng.bytes(100_000))
        _ = try store.createVersion(name: "m", version: "1", tree: tree, creator: "t")
        let pack = FileManager.default.enumerator(atPath: root + "/packs")!.compactMap { $0 as? String }
            .first { $0.hasSuffix(".pack") }!
        // Flip a byte inside the first record's sealed bytes, and fix its CRC-32C so that only
        // the authentication tag can catch it.
        let path = root + "/packs/" + pack
        var bytes = [UInt8](FileManager.default.contents(atPath: path)!)
        let stored = bytes.withUnsafeBytes { Int($0.beU32(16 + 41)) }
        let at = 16 + PackFormat.recordHeaderSize + stored / 2
        bytes[at] ^= 0x10
        let crc = CRC32C.checksum(Array(bytes[(16 + PackFormat.recordHeaderSize)..<(16 + PackFormat.recordHeaderSize + stored)]))
        for i in 0..<4 { bytes[16 + 45 + i] = UInt8(truncatingIfNeeded: crc >> (24 - 8 * UInt32(i))) }
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let r = try store.scrub()
        #expect(!r.clean)
        #expect(r.findings.contains { $0.kind == "chunk-corrupt" && $0.detail.contains("authentication tag") })
        #expect(r.affectedVersions.map(\.version) == ["1"])
    }
}
