import Foundation
import Testing
import TroveClient
import TroveProtocol

/// `trove lease ls|rm` (admin): list the live push leases, end one; GC's summary says what they pin.
@Suite("trove lease")
struct LeaseCommandTests {
    @Test func listsAndEndsALeaseThatAPushLeftBehind() throws {
        let server = try TestServer()
        let address = try ServerAddress(parsing: server.address)
        // A push that began and went away: its lease stays live.
        let lease: LeaseID = try {
            let c = try Connection.open(to: address, credentials: nil)
            defer { c.close() }
            return try c.call(Message.BeginPush(name: "lost/push")).lease
        }()

        let ls = try server.trove(["lease", "ls"])
        #expect(ls.status == 0, "\(ls)")
        let row = try #require(ls.lines.first { $0.hasPrefix(lease.description) }, "\(ls)")
        #expect(row.split(separator: "\t").count == 4 && row.contains("\tlost/push\t"), "\(row)")
        let (lsj, j) = try ClientE2E.json(server, ["lease", "ls"])
        #expect(lsj.status == 0, "\(lsj)")
        let leases = try #require(j["leases"] as? [[String: Any]], "\(lsj)")
        #expect(
            leases.contains {
                $0["id"] as? String == lease.description && $0["name"] as? String == "lost/push"
            })
        #expect(j["truncated"] as? Bool == false)

        let gc = try server.trove(["gc", "--dry-run", "--grace", "0s"])
        #expect(gc.status == 0, "\(gc)")
        #expect(gc.stdout.contains("push lease for lost/push") && gc.stdout.contains("stored"), "\(gc)")

        let rm = try server.trove(["lease", "rm", lease.description])
        #expect(rm.status == 0, "\(rm)")
        #expect(rm.stdout.contains("ended push lease \(lease)"), "\(rm)")
        #expect(!(try server.trove(["lease", "ls"]).stdout.contains(lease.description)))
        #expect(server.log().contains("push lease ended by an admin"))

        // The push that held it must begin again.
        let c = try Connection.open(to: address, credentials: nil)
        defer { c.close() }
        #expect(throws: ClientError.self) {
            _ = try c.call(Message.Has(lease: lease, kind: .chunk, digests: []))
        }

        let again = try server.trove(["lease", "rm", lease.description])
        #expect(again.status == 3, "\(again)")
        let bad = try server.trove(["lease", "rm", "not-a-lease"])
        #expect(bad.status == 2, "\(bad)")
    }
}

extension LeaseCommandTests {
    @Test func leaseCommandsNeedAdminScope() throws {
        let server = try TestServer(config: AuthTests.config)
        let ls = try server.trove(["lease", "ls"], environment: AuthTests.token("writer"))
        #expect(ls.status == 6, "\(ls)")
        let rm = try server.trove(
            ["lease", "rm", String(repeating: "ab", count: 16)], environment: AuthTests.token("writer"))
        #expect(rm.status == 6, "\(rm)")
    }
}
