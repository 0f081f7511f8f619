import Foundation
import Testing
import TroveClient
import TroveCore
import TroveProtocol

/// The client's typed request path against a real troved: `Connection.connect` (async),
/// `call(request) -> Reply`, pipelined `send`, multi-frame replies merged into one value.
@Suite("Client connection")
struct ConnectionTests {
    @Test("async connect, typed replies, pipelined sends answered in order")
    func typedCalls() async throws {
        // The connection below must outlive a slow run of the whole suite: no idle timeout.
        let server = try TestServer(config: "[limits]\nidle_timeout_ms = 86400000\n")
        let src = try TemporaryDirectory()
        try src.write("f.bin", ClientE2E.random(seed: 11, count: 10_000))
        #expect(try server.trove(["push", src.path + "/f.bin", "conn/a:1"]).status == 0)
        #expect(try server.trove(["push", src.path + "/f.bin", "conn/a:2"]).status == 0)

        let c = try await Connection.connect(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { c.close() }
        let stats = try await c.send(Message.Stat()).get()
        #expect(stats.storeID == c.hello.storeID)
        #expect(stats.versionCount == 2)

        // Several requests in flight; each future gets its own typed reply.
        let pings = (1...5).map { c.send(Message.Ping(nonce: UInt64($0))) }
        let log = c.send(Message.Log(name: "conn/a", includeRetired: false, limit: 0))
        let ref = c.send(Message.GetRef(ref: "conn/a:1"))
        for (i, p) in pings.enumerated() { #expect(try p.wait().nonce == UInt64(i + 1)) }
        #expect(try log.wait().versions.map(\.version) == ["2", "1"])
        #expect(try ref.wait().version?.version == "1")

        // A server-side refusal surfaces as the typed error, naming the request.
        do {
            _ = try c.call(Message.GetRef(ref: "conn/a:9"))
            Issue.record("GET_REF of a missing version succeeded")
        } catch {
            #expect(error.serverCode == .notFound)
            #expect(error.message(debug: true).contains("GET_REF"))
        }
        // The connection is still usable afterwards.
        #expect(try c.call(Message.Ping(nonce: 99)).nonce == 99)
    }
}
