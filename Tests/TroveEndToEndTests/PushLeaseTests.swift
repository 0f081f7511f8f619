import Foundation
import Testing
import TroveClient
import TroveProtocol

/// Push leases on the server: a push that fails for good ends its lease; one that can go on
/// keeps it, and it resumes on a new connection.
@Suite("Push leases")
struct PushLeaseTests {
    func errorCode(_ body: () throws -> Void) -> ErrorCode? {
        do {
            try body()
            return nil
        } catch ClientError.server(let code, _, _) {
            return code
        } catch {
            return nil
        }
    }

    @Test("a version conflict ends the lease; a dropped connection does not")
    func conflictEndsLease() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let a = try dir.write("a.bin", ClientE2E.random(seed: 901, count: 3_000))
        let b = try dir.write("b.bin", ClientE2E.random(seed: 902, count: 3_000))
        #expect(try server.trove(["push", a, "m/x:1"]).status == 0)
        #expect(try server.trove(["push", b, "m/x:2"]).status == 0)
        let address = try ServerAddress(parsing: server.address)

        // Begin a push, drop the connection, resume it on a new one.
        let lease: LeaseID = try {
            let c = try Connection.open(to: address, credentials: nil)
            defer { c.close() }
            return try c.call(Message.BeginPush(name: "m/x")).lease
        }()
        let c = try Connection.open(to: address, credentials: nil)
        defer { c.close() }
        let resumed = try c.call(Message.BeginPush(name: "m/x", resume: lease))
        #expect(resumed.resumed && resumed.lease == lease)
        _ = try c.call(Message.Has(lease: lease, kind: .chunk, digests: []))

        // Version 1 exists with another tree: the push cannot succeed, and its lease ends.
        let other = try Remote(connection: c).resolve("m/x:2").tree
        let conflict = errorCode {
            _ = try c.call(
                Message.CreateVersion(
                    lease: lease, name: "m/x", version: "1", tree: other, message: "", metadata: [], parents: []))
        }
        #expect(conflict == .conflict)
        let after = errorCode { _ = try c.call(Message.Has(lease: lease, kind: .chunk, digests: [])) }
        #expect(after == .leaseExpired)
        #expect(try c.call(Message.EndPush(lease: lease)).released == false)
    }
}
