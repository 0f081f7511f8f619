import Foundation
import Testing
import TroveObjectStorage
import TrovePostgres
import TroveStore
import TroveTestServers

#if canImport(Glibc)
    import Glibc
#endif

/// Issue 16: an instance killed with SIGKILL in the middle of a push loses no acknowledged data,
/// and the client's re-run against another instance resumes. Two troved instances share one
/// PostgreSQL catalog and one SeaweedFS bucket. While A receives a multi-file push, the test holds
/// an exclusive lock on the `versions` table (so the push cannot finish however fast it runs),
/// waits until the catalog lists some of its chunks (acknowledged: a chunk is indexed only after
/// its pack is in the bucket), and kills A. A's root is then removed: nothing acknowledged may
/// live only there. A GC on B (no grace period) keeps every one of those chunks, held by the dead
/// push's lease in the shared catalog; the same `trove push` run against B sends only the chunks
/// the store lacks; B pulls the data set back byte for byte; `troved fsck --deep` is clean.
@Suite("an instance killed mid-push (PostgreSQL + S3)", .serialized)
struct InstanceLossTests {
    typealias Daemon = TrovedOnS3Tests.Daemon

    /// Four incompressible files of 6 MiB each (no chunk repeats), in `dir`.
    static func dataSet(_ dir: String) throws -> [String: Data] {
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        var out: [String: Data] = [:]
        for f in 0..<4 {
            var state = UInt64(0x9E37_79B9_7F4A_7C15) &* UInt64(f + 1)
            var bytes = [UInt8](repeating: 0, count: 6 << 20)
            bytes.withUnsafeMutableBytes { raw in
                let words = raw.bindMemory(to: UInt64.self)
                for i in words.indices {
                    // xorshift64*: deterministic, incompressible.
                    state ^= state >> 12
                    state ^= state << 25
                    state ^= state >> 27
                    words[i] = state &* 0x2545_F491_4F6C_DD1D
                }
            }
            let name = "shard-\(f).bin"
            out[name] = Data(bytes)
            try out[name]!.write(to: URL(fileURLWithPath: dir + "/" + name))
        }
        return out
    }

    /// Starts a built executable with its output in `log`; the running process.
    static func start(_ name: String, _ args: [String], env: [String: String], log: String) throws -> Process {
        let p = Process()
        p.executableURL = TrovedOnS3Tests.binDirectory.appendingPathComponent(name)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(env) { $1 }
        FileManager.default.createFile(atPath: log, contents: nil)
        let h = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        p.standardOutput = h
        p.standardError = h
        p.standardInput = FileHandle.nullDevice
        try p.run()
        return p
    }

    /// The hex digests of every chunk the catalog indexes.
    static func indexedChunks(_ catalog: PostgresCatalog) throws -> Set<String> {
        try catalog.read { tx in
            Set(try tx.fetchRows(sql: "SELECT encode(digest, 'hex') AS d FROM chunks", arguments: []).map { $0["d"] as String })
        }
    }

    /// The integer and boolean (0/1) members of the JSON object a command's `--json` printed.
    static func json(_ text: String) throws -> [String: Int64] {
        let start = try #require(text.firstIndex(of: "{"), "no JSON in: \(text)")
        let end = try #require(text.lastIndex(of: "}"), "no JSON in: \(text)")
        let object = try #require(
            try JSONSerialization.jsonObject(with: Data(text[start...end].utf8)) as? [String: Any], "\(text)")
        return object.compactMapValues { v in
            if let b = v as? Bool { return b ? 1 : 0 }
            return (v as? NSNumber)?.int64Value
        }
    }

    @Test func killAMidPushThenGCOnBKeepsItsChunksAndThePushResumesOnB() throws {
        let dir = NSTemporaryDirectory() + "trove-loss-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (cfg, pg) = try TwoInstanceTests().sharedConfig(dir)
        let a = try Daemon(root: dir + "/rootA", config: cfg, scratch: dir)
        defer { if a.process.isRunning { a.stop() } }
        let b = try Daemon(root: dir + "/rootB", config: cfg, scratch: dir)
        defer { if b.process.isRunning { b.stop() } }
        // The client's lease file and stat cache stay in the scratch directory.
        let env = ["XDG_STATE_HOME": dir + "/state", "TROVE_NO_STAT_CACHE": "1"]
        let onA = env.merging(["TROVE_SERVER": a.address]) { $1 }
        let onB = env.merging(["TROVE_SERVER": b.address]) { $1 }
        let files = try Self.dataSet(dir + "/src")
        let catalog = PostgresCatalog(config: pg)
        defer { catalog.close() }

        // No version can be created while this session holds the lock; chunks still flow.
        let server = try PostgresServer.shared()
        let blocker = try HeldPostgresSession(
            port: server.port, database: pg.database, sql: "BEGIN; LOCK TABLE versions IN EXCLUSIVE MODE;")
        defer { blocker.end() }
        let held = """
            SELECT COUNT(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
            WHERE c.relname = 'versions' AND l.mode = 'ExclusiveLock' AND l.granted
            """
        var locked = 0
        for _ in 0..<600 where locked == 0 && blocker.isRunning {
            locked = try catalog.read { tx in try Int.fetchOne(tx, sql: held) ?? 0 }
            if locked == 0 { usleep(50_000) }
        }
        try #require(locked == 1, "the test's psql session did not take the lock on versions")

        // Push through A; once the catalog indexes some of its chunks, kill A.
        let pushLog = dir + "/push-a.log"
        let push = try Self.start("trove", ["push", dir + "/src", "data/shards:1"], env: onA, log: pushLog)
        var acknowledged = 0
        let deadline = Date().addingTimeInterval(120)
        while acknowledged < 8 && push.isRunning && Date() < deadline {
            acknowledged = try catalog.read { tx in try Int.fetchOne(tx, sql: "SELECT COUNT(*) FROM chunks") ?? 0 }
            if acknowledged < 8 { usleep(20_000) }
        }
        try #require(
            acknowledged >= 8,
            "A acknowledged \(acknowledged) chunks; push: \((try? String(contentsOfFile: pushLog, encoding: .utf8)) ?? "")")
        #expect(kill(a.process.processIdentifier, SIGKILL) == 0)
        a.process.waitUntilExit()
        push.waitUntilExit()
        let pushOutput = (try? String(contentsOfFile: pushLog, encoding: .utf8)) ?? ""
        #expect(push.terminationStatus != 0, "the push to A ended with \(push.terminationStatus): \(pushOutput)")
        blocker.end()

        // What the catalog indexes now is all A acknowledged (and maybe a little more that it
        // committed but never confirmed); A's disk is gone with A.
        let indexed = try Self.indexedChunks(catalog)
        #expect(indexed.count >= acknowledged)
        let versions = try catalog.read { tx in try Int.fetchOne(tx, sql: "SELECT COUNT(*) FROM versions") ?? -1 }
        #expect(versions == 0)
        try FileManager.default.removeItem(atPath: dir + "/rootA")

        // GC on B with no grace period: the dead push's lease (in the shared catalog) keeps its chunks.
        let gc = try TrovedOnS3Tests.run("trove", ["gc", "--grace", "0", "--json"], env: onB)
        #expect(gc.0 == 0, "\(gc.1)")
        let report = try Self.json(gc.1)
        #expect(report["liveLeases"] == 1, "\(gc.1)")
        #expect(report["chunksFreed"] == 0, "\(gc.1)")
        let afterGC = try Self.indexedChunks(catalog)
        #expect(indexed.isSubset(of: afterGC), "GC on B dropped \(indexed.subtracting(afterGC).count) chunks of A's push")

        // The same push against B: only what the store lacks goes over the wire.
        let again = try TrovedOnS3Tests.run("trove", ["push", "--json", dir + "/src", "data/shards:1"], env: onB)
        #expect(again.0 == 0, "\(again.1)")
        let r = try Self.json(again.1)
        let chunks = try #require(r["chunks"], "\(again.1)")
        let sent = try #require(r["chunksSent"], "\(again.1)")
        #expect(sent + Int64(indexed.count) <= chunks, "sent \(sent) of \(chunks) chunks; \(indexed.count) were stored")
        #expect((r["bytesAlreadyOnServer"] ?? 0) > 0, "\(again.1)")
        #expect(r["created"] == 1, "\(again.1)")

        // B gives the data set back byte for byte: A's chunks come from the bucket, B has no copy.
        let pull = try TrovedOnS3Tests.run("trove", ["pull", "data/shards:1", dir + "/out"], env: onB)
        #expect(pull.0 == 0, "\(pull.1)")
        for (name, data) in files {
            #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/out/" + name)) == data, "\(name)")
        }

        b.stop()
        let fsck = try TrovedOnS3Tests.run("troved", ["fsck", "--root", dir + "/rootB", "--config", cfg, "--deep"])
        #expect(fsck.0 == 0 && fsck.1.contains("clean"), "\(fsck.1)")
    }
}
