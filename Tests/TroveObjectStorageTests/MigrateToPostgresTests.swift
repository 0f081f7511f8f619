import Foundation
import Testing
import TroveObjectStorage
import TrovePostgres
import TroveTestServers

/// `troved migrate` of a local store (local packs, SQLite catalog) to S3 (SeaweedFS) and
/// PostgreSQL 15, end to end on loopback: versions, an alias with its history and a bucket key
/// written through a local troved; migrate (and again: everything already there); `troved fsck
/// --deep` clean; then a troved on the new config whose root holds only `trove.toml` pulls every
/// version byte for byte, shows the same alias history and serves the bucket key. Once the
/// PostgreSQL catalog has moved on, a migrate is refused unless `--replace-catalog`.
@Suite("troved migrate to S3 + PostgreSQL", .serialized)
struct MigrateToPostgresTests {
    typealias T = TrovedOnS3Tests

    /// S3 client for a troved's own S3 listener (open access on loopback: any key signs).
    func bucketClient(_ portFile: String, bucket: String) throws -> S3Client {
        var address = ""
        for _ in 0..<300 where address.isEmpty {
            address = ((try? String(contentsOfFile: portFile, encoding: .utf8)) ?? "")
                .trimmingCharacters(in: .whitespacesAndNewlines)
            if address.isEmpty { usleep(100_000) }
        }
        #expect(!address.isEmpty, "troved wrote no S3 port file")
        return try S3Client(
            config: S3ClientConfig(
                endpoint: "http://" + address, bucket: bucket, accessKeyID: "any", secretAccessKey: "any",
                maxAttempts: 1))
    }

    @Test func aLocalStoreMovesToS3AndPostgresAndServesEverythingFromThere() throws {
        let dir = try T.scratch()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let root = dir + "/root"
        var rng: UInt64 = 16
        func bytes(_ n: Int) -> [UInt8] {
            var out = [UInt8]()
            out.reserveCapacity(n + 8)
            while out.count < n {
                rng = rng &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                withUnsafeBytes(of: rng) { out += $0 }
            }
            return Array(out.prefix(n))
        }
        // Three versions: 1 MiB in ~4 KiB chunks (a recipe object), a small file, both.
        let big = bytes(1 << 20)
        let small = bytes(700)
        let body = bytes(50_000)
        for (sub, files) in [
            ("a", [("big.bin", big)]), ("b", [("small.bin", small)]),
            ("c", [("big.bin", big), ("small.bin", small)]),
        ] {
            try FileManager.default.createDirectory(
                atPath: dir + "/" + sub, withIntermediateDirectories: true)
            for (name, content) in files {
                try Data(content).write(to: URL(fileURLWithPath: dir + "/\(sub)/\(name)"))
            }
        }
        let local = dir + "/local.toml"
        try "[store]\nchunk_min = \"1KiB\"\nchunk_avg = \"4KiB\"\nchunk_max = \"16KiB\"\n".write(
            toFile: local, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: local)
        var daemon = try T.Daemon(
            root: root, config: local, scratch: dir,
            extra: ["--s3-listen", "127.0.0.1:0", "--s3-port-file", dir + "/s3-port-1"])
        var env = ["TROVE_SERVER": daemon.address]
        for (src, ref) in [("a", "m/x:1"), ("b", "m/x:2"), ("c", "m/x:3")] {
            let push = try T.run("trove", ["push", dir + "/" + src, ref], env: env)
            #expect(push.0 == 0, "\(push.1)")
        }
        for (version, expect) in [("1", nil), ("2", "1"), ("3", "2"), ("1", "3")] as [(String, String?)] {
            let move = try T.run(
                "trove", ["alias", "set", "m/x", "prod", version] + (expect.map { ["--expect", $0] } ?? []),
                env: env)
            #expect(move.0 == 0, "\(move.1)")
        }
        let history = try T.run("trove", ["alias", "history", "m/x", "prod"], env: env)
        #expect(history.0 == 0 && history.1.split(separator: "\n").count == 4, "\(history.1)")
        var s3 = try bucketClient(dir + "/s3-port-1", bucket: "data")
        try s3.createBucket()
        try s3.putIfAbsent(key: "dir/body.bin", bytes: body)
        daemon.stop()

        // The new config: packs and objects on a fresh SeaweedFS bucket, the catalog on a fresh
        // PostgreSQL database.
        let weed = try SeaweedFS.client(bucket: "migratepg")
        let pg = try PostgresServer.shared()
        let database = try pg.createDatabase()
        let cfg = try T.config(dir, client: weed, secret: weed.config.secretAccessKey)
        try
            (String(contentsOfFile: cfg, encoding: .utf8)
            + "\n[catalog]\nurl = \"postgres://postgres@127.0.0.1:\(pg.port)/\(database)\"\n").write(
                toFile: cfg, atomically: true, encoding: .utf8)
        try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: cfg)
        let first = try T.run("troved", ["migrate", "--root", root, "--config", cfg])
        #expect(first.0 == 0, "\(first.1)")
        #expect(first.1.contains("copied and verified") && first.1.contains("alias_history 4"), "\(first.1)")
        #expect(first.1.contains("versions 3") && first.1.contains("bucket_objects 1"), "\(first.1)")
        // Again: packs, objects and catalog are all there already.
        let again = try T.run("troved", ["migrate", "--root", root, "--config", cfg])
        #expect(again.0 == 0, "\(again.1)")
        #expect(
            again.1.contains("packs: 0 copied") && again.1.contains("already there, identical"), "\(again.1)")
        let fsck = try T.run("troved", ["fsck", "--root", root, "--config", cfg, "--deep"])
        #expect(fsck.0 == 0 && fsck.1.contains("clean"), "\(fsck.1)")

        // A troved on the new config with a root holding only the store's config: everything
        // comes from PostgreSQL and the bucket.
        let fresh = dir + "/fresh"
        try FileManager.default.createDirectory(atPath: fresh, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: root + "/trove.toml", toPath: fresh + "/trove.toml")
        daemon = try T.Daemon(
            root: fresh, config: cfg, scratch: dir,
            extra: ["--s3-listen", "127.0.0.1:0", "--s3-port-file", dir + "/s3-port-2"])
        defer { if daemon.process.isRunning { daemon.stop() } }
        env = ["TROVE_SERVER": daemon.address]
        for (ref, files) in [
            ("m/x:1", [("big.bin", big)]), ("m/x:2", [("small.bin", small)]),
            ("m/x:prod", [("big.bin", big)]),
            ("m/x:3", [("big.bin", big), ("small.bin", small)]),
        ] {
            let out = dir + "/out-\(UUID().uuidString)"
            let pull = try T.run("trove", ["pull", ref, out], env: env)
            #expect(pull.0 == 0, "\(pull.1)")
            for (name, content) in files {
                #expect(
                    try Data(contentsOf: URL(fileURLWithPath: out + "/" + name)) == Data(content),
                    "\(ref) \(name)")
            }
        }
        let moved = try T.run("trove", ["alias", "history", "m/x", "prod"], env: env)
        #expect(moved.0 == 0 && moved.1 == history.1, "\(moved.1)")
        s3 = try bucketClient(dir + "/s3-port-2", bucket: "data")
        #expect(try s3.get(key: "dir/body.bin") == body)
        // It writes on: a new alias move and version.
        #expect(try T.run("trove", ["alias", "set", "m/x", "prod", "2", "--expect", "1"], env: env).0 == 0)
        let push = try T.run("trove", ["push", dir + "/b", "m/x:4"], env: env)
        #expect(push.0 == 0, "\(push.1)")
        daemon.stop()

        // The PostgreSQL catalog has moved on: another migrate is refused (exit 1, the reason
        // named) and changes nothing; with --replace-catalog it copies the local catalog again.
        let refused = try T.run("troved", ["migrate", "--root", root, "--config", cfg])
        #expect(refused.0 == 1 && refused.1.contains("--replace-catalog"), "\(refused.1)")
        let catalog = PostgresCatalog(
            config: PostgresCatalogConfig(
                host: "127.0.0.1", port: pg.port, user: "postgres", database: database))
        let versions = try catalog.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM versions") }
        #expect(versions == 4)
        let replaced = try T.run("troved", ["migrate", "--root", root, "--config", cfg, "--replace-catalog"])
        #expect(replaced.0 == 0 && replaced.1.contains("copied and verified"), "\(replaced.1)")
        #expect(try catalog.read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM versions") } == 3)
        catalog.close()
    }
}
