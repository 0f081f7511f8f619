import Foundation
import Testing
import TroveCore
import TroveProtocol

/// troved's connection limits against a real daemon: the idle timeout, and a handshake flood
/// that must not lock a real client out.
@Suite("troved connection limits", .serialized)
struct ServerLimitsTests {
    @Test func idleTimeoutClosesAQuietSession() throws {
        let server = try TestServer(config: "[limits]\nidle_timeout_ms = 1000\n")
        let c = try RawConnection(server.address)
        #expect(c.hello() != nil)
        guard let e = c.readMessage()?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR timeout:\n\(server.log())")
            return
        }
        #expect(e.code == .timeout, "\(e.message)")
        #expect(c.isClosedByServer())
    }

    @Test func socketsThatNeverAuthenticateDoNotLockOutAClient() throws {
        let server = try TestServer(
            config: """
                [server]
                max_connections = 16
                max_handshakes = 8
                [limits]
                handshake_timeout_ms = 600000
                """)
        // More silent sockets than both budgets together, held open for the whole test.
        let idle = try (0..<40).map { _ in try RawConnection(server.address) }
        // Older than a second: each new handshake may close the oldest pending one.
        Thread.sleep(forTimeInterval: 1.5)
        let r = try server.trove(["stat"])
        #expect(r.status == 0, "a client locked out by idle sockets: \(r)\n\(server.log().suffix(2000))")
        let c = try RawConnection(server.address)
        #expect(c.hello() != nil)
        withExtendedLifetime(idle) {}
    }
}
