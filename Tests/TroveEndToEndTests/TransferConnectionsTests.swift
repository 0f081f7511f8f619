import Foundation
import Testing

/// Push opens a second connection and pull three more (troved builds one frame at a time per
/// connection), on a troved with open access too: with no token the client once opened none, and
/// every transfer ran on one connection (docs/CLIENT.md).
@Suite("transfer connections")
struct TransferConnectionsTests {
    @Test func pushUsesTwoConnectionsAndPullFourOnAServerWithoutTokens() throws {
        let server = try TestServer(extraArguments: ["--log-level", "debug"])
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 702, count: 300_000))
        // troved logs this line once per connection it admits without a token, just after its
        // HELLO_OK: wait (up to 20 s) for the line of a connection the client opened but never used.
        func admitted(atLeast n: Int) -> Int {
            var seen = 0
            for _ in 0..<400 {
                seen = server.log().components(separatedBy: "open access (loopback, no tokens configured)").count - 1
                if seen >= n { break }
                Thread.sleep(forTimeInterval: 0.05)
            }
            return seen
        }
        let push = try server.trove(["push", f, "models/conn:1"])
        #expect(push.status == 0, "\(push)")
        #expect(admitted(atLeast: 2) == 2, "\(server.log())")
        let dest = dir.url.appendingPathComponent("out")
        let pull = try server.trove(["pull", "models/conn:1", dest.path])
        #expect(pull.status == 0, "\(pull)")
        #expect(admitted(atLeast: 6) == 6, "\(server.log())")
    }
}
