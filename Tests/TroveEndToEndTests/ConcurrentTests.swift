import Foundation
import Testing
import TroveCore

@Suite("trove concurrent and interrupted pushes")
struct ConcurrentTests {
    @Test func concurrentPushesOfTheSameContentAllSucceedAndStoreItOnce() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 81, count: 3_000_000)
        let path = try dir.write("same.bin", data)
        let clients = 4
        let results = Locked([Int32](repeating: -1, count: clients))
        DispatchQueue.concurrentPerform(iterations: clients) { i in
            let r = try? server.trove(["push", path, "same:v\(i)"])
            results.withValue { $0[i] = r?.status ?? -2 }
        }
        #expect(results.withValue { $0 } == Array(repeating: 0, count: clients))

        let (r, j) = try ClientE2E.json(server, ["stat"])
        #expect(r.status == 0, "\(r)")
        #expect(ClientE2E.int(j["uniqueBytes"]) == data.count)
        #expect(ClientE2E.int(j["logicalBytes"]) == clients * data.count)
        let chunks = try Ingest.serial(bytes: data).chunks.count
        #expect(ClientE2E.int(j["chunks"]) == chunks)
        for i in 0..<clients {
            let cat = try server.trove(["cat", "same:v\(i)"])
            #expect([UInt8](cat.stdoutData) == data)
        }
    }

    @Test func aClientKilledMidPushLeavesNoVersionAndARerunCompletes() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 82, count: 24_000_000)
        let path = try dir.write("big.bin", data)

        // Start a push and kill it (SIGKILL) as soon as the server has stored some of its chunks.
        let p = Process()
        p.executableURL = try CLI.binary("trove")
        p.arguments = ["push", path, "big:1", "--server", server.address]
        let state = dir.url.appendingPathComponent("state").path
        p.environment = ProcessInfo.processInfo.environment.merging(["XDG_STATE_HOME": state]) { $1 }
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        let deadline = Date().addingTimeInterval(60)
        var killedMidway = false
        while p.isRunning && Date() < deadline {
            if Self.packBytes(server.root) > 2_000_000 {
                kill(p.processIdentifier, SIGKILL)
                killedMidway = true
                break
            }
            usleep(2000)
        }
        p.waitUntilExit()
        if killedMidway && p.terminationReason == .uncaughtSignal {
            // No partial version.
            let pull = try server.trove(["show", "big:1"])
            #expect(pull.status == 3, "\(pull)")
            let ls = try server.trove(["ls"])
            #expect(ls.lines.isEmpty, "\(ls)")
        }

        // The re-run completes and sends only what the killed push had not stored.
        let (rerun, j) = try ClientE2E.json(
            server, ["push", path, "big:1"], environment: ["XDG_STATE_HOME": state])
        // A completed push forgets its lease.
        let leftover = (try? FileManager.default.contentsOfDirectory(atPath: state + "/trove/leases")) ?? []
        #expect(leftover.isEmpty, "\(leftover)")
        #expect(rerun.status == 0, "\(rerun)")
        if killedMidway {
            #expect(ClientE2E.int(j["rawBytesSent"]) < data.count)
            // The killed push's lease was remembered (under XDG_STATE_HOME) and resumed.
            #expect(j["resumedLease"] as? Bool == true, "\(rerun)")
        }
        let cat = try server.trove(["cat", "big:1"])
        #expect([UInt8](cat.stdoutData) == data)
    }

    /// Bytes in pack files under a store root (a proxy for "the server stored chunks").
    static func packBytes(_ root: URL) -> Int {
        let fm = FileManager.default
        guard
            let e = fm.enumerator(
                at: root.appendingPathComponent("packs"), includingPropertiesForKeys: [.fileSizeKey])
        else { return 0 }
        var total = 0
        for case let u as URL in e {
            total += (try? u.resourceValues(forKeys: [.fileSizeKey]).fileSize) ?? 0
        }
        return total
    }
}
