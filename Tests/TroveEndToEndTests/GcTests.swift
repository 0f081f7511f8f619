import Foundation
import Testing
import TroveCore
import TroveProtocol

@Suite("trove gc")
struct GcEndToEndTests {
    @Test func retireThenGCFreesDiskSpaceAndKeepsLiveVersionsIntact() throws {
        let server = try TestServer(config: AdminE2E.smallPacks)
        let dir = try TemporaryDirectory()
        let v1 = ClientE2E.random(seed: 601, count: 3_000_000)
        let v2 = ClientE2E.random(seed: 602, count: 2_000_000)
        let p1 = try dir.write("v1.bin", v1)
        let p2 = try dir.write("v2.bin", v2)
        #expect(try server.trove(["push", p1, "data/set:1"]).status == 0)
        #expect(try server.trove(["push", p2, "data/set:2"]).status == 0)

        // Nothing is unreachable yet; with the default grace nothing recent is touched anyway.
        let (first, j0) = try ClientE2E.json(server, ["gc", "--grace", "0s"])
        #expect(first.status == 0, "\(first)")
        #expect(ClientE2E.int(j0["chunksFreed"]) == 0)

        #expect(try server.trove(["rm", "data/set:1"]).status == 0)
        let before = AdminE2E.packBytes(server)
        let (dry, jd) = try ClientE2E.json(server, ["gc", "--dry-run", "--grace", "0s"])
        #expect(dry.status == 0, "\(dry)")
        #expect(jd["dryRun"] as? Bool == true)
        #expect(ClientE2E.int(jd["chunkBytesFreed"]) >= 2_900_000)
        #expect(AdminE2E.packBytes(server) == before)

        let (run, j) = try ClientE2E.json(server, ["gc", "--grace", "0s"])
        #expect(run.status == 0, "\(run)")
        #expect(ClientE2E.int(j["chunksFreed"]) == ClientE2E.int(jd["chunksFreed"]))
        #expect(ClientE2E.int(j["diskBytesFreed"]) > 2_000_000)
        let after = AdminE2E.packBytes(server)
        #expect(after < before - 2_000_000, "packs \(before) → \(after)")

        let out = dir.path + "/out.bin"
        #expect(try server.trove(["pull", "data/set:2", out]).status == 0)
        #expect(try ClientE2E.read(out + "/v2.bin") == v2)

        // A human summary too; and a second run converges.
        let text = try server.trove(["gc", "--grace", "0s"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("freed 0 chunks"), "\(text)")

        // The store is consistent (offline fsck after stopping the daemon).
        server.stop()
        let fsck = try CLI.troved(["fsck", "--root", server.root.path, "--deep"])
        #expect(fsck.status == 0, "\(fsck)")
    }

    @Test func defaultGraceKeepsRecentDataAndBadDurationsAreUsageErrors() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let p = try dir.write("a.bin", ClientE2E.random(seed: 603, count: 500_000))
        #expect(try server.trove(["push", p, "x:1"]).status == 0)
        #expect(try server.trove(["rm", "x:1"]).status == 0)
        let (r, j) = try ClientE2E.json(server, ["gc"])
        #expect(r.status == 0, "\(r)")
        #expect(ClientE2E.int(j["chunksFreed"]) == 0)
        #expect(ClientE2E.int(j["graceSeconds"]) == 86_400)
        #expect(try server.trove(["gc", "--grace", "soon"]).status == 2)
    }

    /// The report names the push leases that pin data, and until when.
    @Test func reportNamesThePushLeasesThatPinData() throws {
        let server = try TestServer()
        let held = try RawConnection(server.address)
        #expect(held.hello() != nil)
        held.send(.beginPush(.init(name: "models/in-flight")), requestID: 2)
        guard held.readMessage()?.as(Message.PushBegun.self) != nil else {
            Issue.record("BEGIN_PUSH was not answered with PUSH_BEGUN")
            return
        }
        let (r, j) = try ClientE2E.json(server, ["gc", "--grace", "0s"])
        #expect(r.status == 0, "\(r)")
        let leases = try #require(j["leases"] as? [[String: Any]], "\(j)")
        #expect(leases.count == 1 && leases[0]["name"] as? String == "models/in-flight", "\(j)")
        #expect(ClientE2E.int(leases[0]["expires"]) > ClientE2E.int(leases[0]["created"]), "\(j)")
        let text = try server.trove(["gc", "--grace", "0s"])
        #expect(text.stdout.contains("because of 1 push lease in progress"), "\(text)")
        #expect(text.stdout.contains("push lease for models/in-flight: began "), "\(text)")
        #expect(text.stdout.contains("pins data until "), "\(text)")
    }
}
