import NIOCore
import NIOEmbedded
import Testing

@testable import TroveServer

/// Handshakes and authenticated connections are counted in separate budgets; a full handshake
/// budget closes the oldest pending handshake or the newcomer.
@Suite("ConnectionRegistry")
struct ConnectionRegistryTests {
    @Test(
        "a full handshake budget: the oldest handshake (over a second old) makes room, else the newcomer is refused"
    )
    func handshakeBudget() {
        let registry = ConnectionRegistry(limits: .init(maxHandshakes: 2, maxConnections: 1, maxPerToken: 1))
        let t0 = NIODeadline.now()
        let a = EmbeddedChannel()
        let b = EmbeddedChannel()
        let c = EmbeddedChannel()
        #expect(registry.accept(a, now: t0).admitted)
        #expect(registry.accept(b, now: t0 + .milliseconds(10)).admitted)
        let young = registry.accept(c, now: t0 + .milliseconds(500))
        #expect(!young.admitted && young.evict == nil, "nobody pending long enough: closed at accept")
        #expect(registry.counts.refusedAtAccept == 1)
        let old = registry.accept(c, now: t0 + .seconds(2))
        #expect(old.admitted)
        #expect(old.evict === a, "the oldest handshake is closed to make room")
        #expect(registry.counts.handshakes == 2)
        #expect(
            registry.authenticate(a, token: nil) != .admitted, "an evicted connection cannot authenticate")
        registry.remove(a)
        #expect(registry.counts.handshakes == 2)
    }

    @Test("authenticated slots are separate from the handshake budget, per server and per token")
    func authenticatedSlots() {
        let registry = ConnectionRegistry(limits: .init(maxHandshakes: 4, maxConnections: 2, maxPerToken: 1))
        let channels = (0..<4).map { _ in EmbeddedChannel() }
        for ch in channels { #expect(registry.accept(ch).admitted) }
        #expect(registry.authenticate(channels[0], token: "ci") == .admitted)
        guard case .refused(let why) = registry.authenticate(channels[1], token: "ci") else {
            Issue.record("a second connection of token ci must be refused")
            return
        }
        #expect(why.contains("token 'ci'"))
        #expect(registry.authenticate(channels[2], token: nil) == .admitted)
        guard case .refused(let full) = registry.authenticate(channels[3], token: nil) else {
            Issue.record("a third authenticated connection must be refused")
            return
        }
        #expect(full.contains("too many connections"))
        #expect(registry.counts.authenticated == 2)
        #expect(registry.counts.handshakes == 2)
        // A slot freed by a closed connection is available again.
        registry.remove(channels[0])
        #expect(registry.authenticate(channels[1], token: "ci") == .admitted)
    }
}
