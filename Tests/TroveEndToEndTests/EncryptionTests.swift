import Foundation
import Testing
import TroveCore

/// Encryption at rest through a real troved: `troved key new`, `[store] encryption_key_file`,
/// pushes and pulls, scrub, wrong or missing keys at start, rotation.
@Suite("Encryption at rest")
struct EncryptionEndToEndTests {
    /// Makes a key with `troved key new`; returns its path and printed id.
    static func newKey(_ dir: TemporaryDirectory, _ name: String) throws -> (path: String, id: String) {
        let path = dir.path + "/" + name
        let r = try CLI.troved(["key", "new", path])
        #expect(r.status == 0, "\(r)")
        let id = r.stdout.split(separator: " ").dropFirst(2).first.map(String.init) ?? ""
        return (path, id)
    }

    static func config(key: String, old: [String] = []) -> String {
        "[store]\nencryption_key_file = \"\(key)\"\n"
            + (old.isEmpty ? "" : "encryption_old_key_files = [\(old.map { "\"\($0)\"" }.joined(separator: ", "))]\n")
    }

    /// Every file under `dir` concatenated.
    static func bytes(under dir: URL) -> [UInt8] {
        var out: [UInt8] = []
        for p in FileManager.default.enumerator(atPath: dir.path)?.compactMap({ $0 as? String }) ?? [] {
            if let d = FileManager.default.contents(atPath: dir.path + "/" + p) { out += d }
        }
        return out
    }

    static func contains(_ hay: [UInt8], _ needle: [UInt8]) -> Bool {
        Data(hay).range(of: Data(needle)) != nil
    }

    /// Path, size, modification time and content hash of every file under `root`.
    static func snapshot(_ root: URL) -> [String: String] {
        var out: [String: String] = [:]
        for p in FileManager.default.enumerator(atPath: root.path)?.compactMap({ $0 as? String }) ?? [] {
            let full = root.path + "/" + p
            guard let a = try? FileManager.default.attributesOfItem(atPath: full), a[.type] as? FileAttributeType == .typeRegular
            else { continue }
            let data = FileManager.default.contents(atPath: full).map { [UInt8]($0) } ?? []
            out[p] = "\(a[.size] ?? 0) \(a[.modificationDate] ?? 0) \(SHA256.hash(data))"
        }
        return out
    }

    @Test func keyNewMakesAPrivateKeyAndRefusesToOverwrite() throws {
        let dir = try TemporaryDirectory()
        let (path, id) = try Self.newKey(dir, "store.key")
        #expect(id.count == 16)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        #expect(before.count == 32)
        let mode = (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? 0
        #expect(mode == 0o600)
        let again = try CLI.troved(["key", "new", path])
        #expect(again.status == 1, "\(again)")
        #expect(again.stderr.contains("refusing to overwrite"), "\(again)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
    }

    @Test func pushedBytesAppearNowhereAtRestPullIsIdenticalAndScrubCatchesAFlippedByte() throws {
        let dir = try TemporaryDirectory()
        let key = try Self.newKey(dir, "k1")
        let server = try TestServer(config: Self.config(key: key.path))
        let data = ClientE2E.random(seed: 1801, count: 2_000_000)
        let path = try dir.write("in/secret-plan-name.bin", data)
        let push = try server.trove(["push", dir.path + "/in", "models/enc:1"])
        #expect(push.status == 0, "\(push)")
        let pull = try server.trove(["pull", "models/enc:1", dir.path + "/out"])
        #expect(pull.status == 0, "\(pull)")
        #expect(try ClientE2E.read(dir.path + "/out/secret-plan-name.bin") == data)
        _ = path

        let packs = Self.bytes(under: server.root.appendingPathComponent("packs"))
        let objects = Self.bytes(under: server.root.appendingPathComponent("objects"))
        let catalog = ["catalog.sqlite", "catalog.sqlite-wal"].flatMap {
            FileManager.default.contents(atPath: server.root.path + "/" + $0).map { [UInt8]($0) } ?? []
        }
        #expect(packs.count > data.count)
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<32 {
            let start = Int.random(in: 0..<(data.count - 64), using: &rng)
            let needle = Array(data[start..<(start + 64)])
            #expect(!Self.contains(packs, needle), "plaintext at \(start) in a pack")
            #expect(!Self.contains(objects, needle) && !Self.contains(catalog, needle))
        }
        #expect(!Self.contains(objects + catalog, Array("secret-plan-name".utf8)))

        #expect(try ScrubEndToEndTests().damagePacks(server) == 1)
        let (bad, j) = try ClientE2E.json(server, ["scrub"])
        #expect(bad.status == 5, "\(bad)")
        let affected = j["affectedVersions"] as? [[String: Any]] ?? []
        #expect(affected.first?["name"] as? String == "models/enc" && affected.first?["version"] as? String == "1", "\(j)")
    }

    @Test func thePlaintextControlDoesShowTheBytes() throws {
        // The check above can fail: without a key the same substrings are in the packs.
        let dir = try TemporaryDirectory()
        let server = try TestServer()
        let data = ClientE2E.random(seed: 1802, count: 500_000)
        let path = try dir.write("a.bin", data)
        #expect(try server.trove(["push", path, "plain:1"]).status == 0)
        let packs = Self.bytes(under: server.root.appendingPathComponent("packs"))
        #expect(Self.contains(packs, Array(data[1000..<1064])))
    }

    @Test func wrongOrMissingKeyRefusesToStartAndTouchesNothing() throws {
        let dir = try TemporaryDirectory()
        let k1 = try Self.newKey(dir, "k1")
        let k2 = try Self.newKey(dir, "k2")
        let server = try TestServer(config: Self.config(key: k1.path))
        let path = try dir.write("a.bin", ClientE2E.random(seed: 1803, count: 300_000))
        #expect(try server.trove(["push", path, "a:1"]).status == 0)
        #expect(server.stop() == 0)
        let before = Self.snapshot(server.root)

        func start(_ config: String?) throws -> CLIResult {
            var args = ["--root", server.root.path, "--listen", "127.0.0.1:0"]
            if let config {
                let c = try dir.write("troved-\(UUID().uuidString).toml", Array(config.utf8))
                chmod(c, 0o600)
                args += ["--config", c]
            }
            return try CLI.troved(args, timeout: 60)
        }
        let wrong = try start(Self.config(key: k2.path))
        #expect(wrong.status == 2, "\(wrong)")
        #expect(wrong.stderr.contains("wrong key") && wrong.stderr.contains(k2.id), "\(wrong)")
        let missing = try start(nil)
        #expect(missing.status == 2, "\(missing)")
        #expect(missing.stderr.contains("is encrypted") && missing.stderr.contains("encryption_key_file"), "\(missing)")
        #expect(Self.snapshot(server.root) == before)
    }

    @Test func rotationReadsOldPacksAndWritesUnderTheNewKey() throws {
        let dir = try TemporaryDirectory()
        let k1 = try Self.newKey(dir, "k1")
        let k2 = try Self.newKey(dir, "k2")
        let server = try TestServer(config: Self.config(key: k1.path))
        let old = ClientE2E.random(seed: 1804, count: 400_000)
        #expect(try server.trove(["push", try dir.write("old.bin", old), "r:1"]).status == 0)
        #expect(server.stop() == 0)

        // Rotate: the new key current, the old one listed.
        let rotated = try TestServer(root: server.root, config: Self.config(key: k2.path, old: [k1.path]))
        #expect(try rotated.trove(["pull", "r:1", dir.path + "/o1"]).status == 0)
        #expect(try ClientE2E.read(dir.path + "/o1/old.bin") == old)
        let new = ClientE2E.random(seed: 1805, count: 400_000)
        #expect(try rotated.trove(["push", try dir.write("new.bin", new), "r:2"]).status == 0)
        #expect(rotated.stop() == 0)
        // Pack headers: version 4 (encrypted, aligned segments) and the first 4 bytes of the id of
        // the key that sealed them.
        var tags = Set<String>()
        let packs = server.root.appendingPathComponent("packs").path
        for p in FileManager.default.enumerator(atPath: packs)?.compactMap({ $0 as? String }) ?? [] where p.hasSuffix(".pack") {
            let h = [UInt8](FileManager.default.contents(atPath: packs + "/" + p)!.prefix(16))
            #expect(h[8..<12] == [0, 0, 0, 4])
            tags.insert(h[12..<16].map { String(format: "%02x", $0) }.joined())
        }
        #expect(tags == [String(k1.id.prefix(8)), String(k2.id.prefix(8))])

        // The new key alone starts (it is known now); the old pack then cannot be read.
        let alone = try TestServer(root: server.root, config: Self.config(key: k2.path))
        #expect(try alone.trove(["pull", "r:2", dir.path + "/o2"]).status == 0)
        #expect(try ClientE2E.read(dir.path + "/o2/new.bin") == new)
        let oldPull = try alone.trove(["pull", "r:1", dir.path + "/o3"])
        #expect(oldPull.status != 0, "\(oldPull)")
    }
}
