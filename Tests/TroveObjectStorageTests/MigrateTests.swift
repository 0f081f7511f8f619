import Foundation
import Testing
import TroveObjectStorage

/// `troved migrate --config NEW.toml` end to end on loopback: a local store's versions, copied
/// to S3 (twice: the second run copies nothing), `troved fsck --config NEW.toml --deep` clean,
/// then a troved on NEW.toml whose root holds only the catalog pulls every version.
@Suite("troved migrate", .serialized)
struct MigrateTests {
    typealias T = TrovedOnS3Tests

    @Test func aLocalStoreMovesToS3AndAnEmptyRootWithTheCatalogPullsEverything() throws {
        let dir = try T.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = dir + "/root"
        // Two versions: a 4 MiB file in 4 KiB chunks (its recipe, ~36 KiB, is an object, not a
        // catalog row) and a small one.
        var big = [UInt8]()
        big.reserveCapacity(4 << 20)
        var x: UInt64 = 88
        while big.count < 4 << 20 {
            x = x &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            withUnsafeBytes(of: x) { big += $0 }
        }
        try FileManager.default.createDirectory(atPath: dir + "/a", withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: dir + "/b", withIntermediateDirectories: true)
        try Data(big).write(to: URL(fileURLWithPath: dir + "/a/big.bin"))
        try Data("small\n".utf8).write(to: URL(fileURLWithPath: dir + "/b/small.txt"))
        let local = dir + "/local.toml"
        try "[store]\nchunk_min = \"1KiB\"\nchunk_avg = \"4KiB\"\nchunk_max = \"16KiB\"\n".write(
            toFile: local, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: local)
        var daemon = try T.Daemon(root: root, config: local, scratch: dir)
        var env = ["TROVE_SERVER": daemon.address]
        for (src, ref) in [("a", "m/x:1"), ("b", "m/x:2")] {
            let push = try T.run("trove", ["push", dir + "/" + src, ref], env: env)
            #expect(push.0 == 0, "\(push.1)")
        }
        daemon.stop()

        let client = try SeaweedFS.client(bucket: "migrate")
        let cfg = try T.config(dir, client: client, secret: client.config.secretAccessKey)
        let first = try T.run("troved", ["migrate", "--root", root, "--config", cfg])
        #expect(first.0 == 0, "\(first.1)")
        #expect(first.1.contains(" 0 already there; objects:"), "\(first.1)")
        let keys = try client.list(prefix: "e2e/").map(\.key)
        #expect(keys.contains { $0.hasPrefix("e2e/packs/") } && keys.contains { $0.hasPrefix("e2e/objects/") }, "\(keys)")
        // Again: everything is there already (resumable, idempotent).
        let again = try T.run("troved", ["migrate", "--root", root, "--config", cfg])
        #expect(again.0 == 0, "\(again.1)")
        #expect(again.1.contains("packs: 0 copied") && again.1.contains("objects: 0 copied"), "\(again.1)")
        let fsck = try T.run("troved", ["fsck", "--root", root, "--config", cfg, "--deep"])
        #expect(fsck.0 == 0, "\(fsck.1)")

        // Another instance: an empty root but for the catalog and the store's config.
        let fresh = dir + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        for f in ["trove.toml", "catalog.sqlite", "catalog.sqlite-wal"] where FileManager.default.fileExists(atPath: root + "/" + f) {
            try FileManager.default.copyItem(atPath: root + "/" + f, toPath: fresh + "/" + f)
        }
        daemon = try T.Daemon(root: fresh, config: cfg, scratch: dir)
        env = ["TROVE_SERVER": daemon.address]
        let pullA = try T.run("trove", ["pull", "m/x:1", dir + "/outa"], env: env)
        #expect(pullA.0 == 0, "\(pullA.1)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/outa/big.bin")) == Data(big))
        let pullB = try T.run("trove", ["pull", "m/x:2", dir + "/outb"], env: env)
        #expect(pullB.0 == 0, "\(pullB.1)")
        #expect(try String(contentsOfFile: dir + "/outb/small.txt", encoding: .utf8) == "small\n")
        daemon.stop()

        // A config that keeps packs locally is refused with a reason.
        let refused = try T.run("troved", ["migrate", "--root", root, "--config", local])
        #expect(refused.0 == 1)
        #expect(refused.1.contains("packs = \"s3\""), "\(refused.1)")
    }
}
