import Foundation
import Testing

/// I/O faults in a real troved (debug build: `TROVE_FAULTS=OP:N:ERRNO`) while three `trove push`
/// processes and a `trove pull` run at once: every push that exited 0 pulls back byte-identical
/// after a restart without faults, a pull that exits 0 got the right bytes, and fsck is clean.
@Suite("fault injection end to end", .serialized)
struct FaultInjectionEndToEndTests {
    static let plans = ["write:4:ENOSPC", "fsync:3:EIO", "rename:2:EIO", "read:2:EIO"]

    @Test func acknowledgedPushesSurviveInjectedFaults() throws {
        var acknowledged = 0
        var failed = 0
        for (n, plan) in Self.plans.enumerated() {
            let dir = try TemporaryDirectory()
            let base = ClientE2E.random(seed: 8000 + UInt64(n), count: 1_500_000)
            let contents = (0..<3).map {
                ClientE2E.random(seed: 8100 + UInt64(n * 10 + $0), count: 1_200_000)
            }
            // Push the base before the faults (a first start), then restart with them armed.
            let server = try TestServer()
            #expect(try server.trove(["push", try dir.write("base.bin", base), "f/base:1"]).status == 0)
            server.stop()
            try server.start(environment: ["TROVE_FAULTS": plan])
            #expect(server.log().contains("fault injection armed"), "\(server.log())")
            let paths = try contents.enumerated().map { try dir.write("p\($0.offset).bin", $0.element) }
            let results = Locked([Int32](repeating: -1, count: 4))
            DispatchQueue.concurrentPerform(iterations: 4) { i in
                let r =
                    i < 3
                    ? try? server.trove(["push", paths[i], "f/p\(i):1"])
                    : try? server.trove(["pull", "f/base:1", dir.path + "/pulled"])
                results.withValue { $0[i] = r?.status ?? -2 }
            }
            let status = results.withValue { $0 }
            if status[3] == 0 {
                #expect(
                    try ClientE2E.read(dir.path + "/pulled/base.bin") == base,
                    "\(plan): pull served bad bytes")
            }
            server.stop(signal: SIGKILL)
            try server.start()
            for i in 0..<3 where status[i] == 0 {
                let out = dir.path + "/out\(i)"
                let r = try server.trove(["pull", "f/p\(i):1", out])
                #expect(r.status == 0, "\(plan): f/p\(i):1 was acknowledged: \(r)")
                #expect(try ClientE2E.read(out + "/p\(i).bin") == contents[i], "\(plan): p\(i) differs")
            }
            acknowledged += status[0..<3].filter { $0 == 0 }.count
            failed += status[0..<3].filter { $0 != 0 }.count
            // Writable again after the restart.
            #expect(
                try server.trove(["push", paths[0], "f/after:1"]).status == 0, "\(plan)\n\(server.log())")
            server.stop()
            let fsck = try CLI.troved(["fsck", "--root", server.root.path, "--deep"])
            #expect(fsck.status == 0, "\(plan): \(fsck)")
        }
        print(
            "fault loop end to end: \(Self.plans.count) plans, \(acknowledged) pushes acknowledged and verified, \(failed) failed"
        )
    }
}
