import Foundation
import Testing
import TroveObjectStorage
import TrovePostgres
import TroveTestServers

/// Two troved instances serving one store (issue 16): one PostgreSQL catalog (`[catalog] url`)
/// and one SeaweedFS bucket (`[storage] packs = "s3"`), each with a root of its own. A version
/// pushed through A pulls from B; an alias compare-and-swap holds across them (the second of two
/// moves from the same expectation exits 4); one GC at a time across them (B's GC answers busy
/// while the catalog-wide lock is held elsewhere, and A keeps accepting pushes); fsck is clean.
@Suite("two troved instances, one store (PostgreSQL + S3)", .serialized)
struct TwoInstanceTests {
    typealias Daemon = TrovedOnS3Tests.Daemon

    /// A config for both instances: packs and objects in a fresh bucket, the catalog in a fresh
    /// database of the shared PostgreSQL.
    func sharedConfig(_ dir: String) throws -> (path: String, catalog: PostgresCatalogConfig) {
        let client = try SeaweedFS.client(bucket: "two")
        let server = try PostgresServer.shared()
        let pg = PostgresCatalogConfig(
            host: "127.0.0.1", port: server.port, user: "postgres", database: try server.createDatabase())
        try client.config.secretAccessKey.write(toFile: dir + "/secret", atomically: true, encoding: .utf8)
        let text = """
            [storage]
            packs = "s3"
            [storage.s3]
            endpoint = "\(client.config.endpoint)"
            bucket = "\(client.config.bucket)"
            access_key_id = "\(client.config.accessKeyID)"
            secret_access_key_file = "\(dir)/secret"
            [catalog]
            url = "postgres://\(pg.user)@\(pg.host):\(pg.port)/\(pg.database)"
            """
        try text.write(toFile: dir + "/troved.toml", atomically: true, encoding: .utf8)
        for f in ["troved.toml", "secret"] {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: dir + "/" + f)
        }
        return (dir + "/troved.toml", pg)
    }

    func files(_ dir: String, seed: Int, size: Int) throws -> [UInt8] {
        var content = [UInt8]()
        content.reserveCapacity(size)
        for i in 0..<size { content.append(UInt8(truncatingIfNeeded: (i &+ seed) &* 2_654_435_761 >> 13)) }
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data(content).write(to: URL(fileURLWithPath: dir + "/model.bin"))
        return content
    }

    @Test func pushToAPullFromBAliasRaceGCOneAtATimeFsck() throws {
        let dir = NSTemporaryDirectory() + "trove-two-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cfg, pg) = try sharedConfig(dir)
        let a = try Daemon(root: dir + "/rootA", config: cfg, scratch: dir)
        defer { if a.process.isRunning { a.stop() } }
        let b = try Daemon(root: dir + "/rootB", config: cfg, scratch: dir)
        defer { if b.process.isRunning { b.stop() } }
        let onA = ["TROVE_SERVER": a.address], onB = ["TROVE_SERVER": b.address]
        let run = TrovedOnS3Tests.run

        // Push through A, pull through B at once.
        let v1 = try files(dir + "/src1", seed: 1, size: 2 << 20)
        let push = try run("trove", ["push", dir + "/src1", "models/two:1"], onA)
        #expect(push.0 == 0, "\(push.1)")
        let pull = try run("trove", ["pull", "models/two:1", dir + "/out1"], onB)
        #expect(pull.0 == 0, "\(pull.1)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out1/model.bin")) == Data(v1))

        // Immutability across instances: the same version with other content through B is refused.
        _ = try files(dir + "/src2", seed: 2, size: 1 << 20)
        let clash = try run("trove", ["push", dir + "/src2", "models/two:1"], onB)
        #expect(clash.0 == 4, "\(clash.1)")
        let push2 = try run("trove", ["push", dir + "/src2", "models/two:2"], onB)
        #expect(push2.0 == 0, "\(push2.1)")

        // An alias moved from the same expectation through both: the first wins, the second exits 4.
        #expect(try run("trove", ["alias", "set", "models/two", "prod", "1"], onA).0 == 0)
        let winner = try run("trove", ["alias", "set", "models/two", "prod", "2", "--expect", "1"], onA)
        #expect(winner.0 == 0, "\(winner.1)")
        let loser = try run("trove", ["alias", "set", "models/two", "prod", "1", "--expect", "1"], onB)
        #expect(loser.0 == 4, "\(loser.1)")
        let prod = try run("trove", ["pull", "models/two:prod", dir + "/out2"], onB)
        #expect(prod.0 == 0, "\(prod.1)")

        // One GC at a time across instances: while another holder has the catalog-wide lock, B's
        // GC answers busy and A still accepts a push; once it is free, B's GC runs.
        let other = PostgresCatalog(config: pg)
        let held = try #require(try other.tryGlobalLock(0x54_52_4f_56_45_47_43))
        let busy = try run("trove", ["gc"], onB)
        #expect(busy.0 == 1 && busy.1.contains("busy"), "\(busy.1)")
        _ = try files(dir + "/src3", seed: 3, size: 1 << 20)
        let during = try run("trove", ["push", dir + "/src3", "models/two:3"], onA)
        #expect(during.0 == 0, "\(during.1)")
        held.release()
        let gc = try run("trove", ["gc"], onB)
        #expect(gc.0 == 0, "\(gc.1)")
        let after = try run("trove", ["pull", "models/two:3", dir + "/out3"], onB)
        #expect(after.0 == 0, "\(after.1)")

        // fsck of the shared store, through either root.
        a.stop()
        b.stop()
        let fsck = try run("troved", ["fsck", "--root", dir + "/rootA", "--config", cfg, "--deep"], [:])
        #expect(fsck.0 == 0 && fsck.1.contains("clean"), "\(fsck.1)")
    }
}
