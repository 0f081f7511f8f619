import NIOCore
import NIOEmbedded
import Testing
import TroveCore
import TroveProtocol

@testable import TroveServer

/// HELLO/AUTH, the handshake deadline and the authenticated-slot check, then the handler leaves.
@Suite("HandshakeHandler")
struct HandshakeHandlerTests {
    static let secret = "s3cret-for-tests-0123456789"
    static let key = AuthProof.key(secret: secret)

    struct Rig {
        let channel: EmbeddedChannel
        let recorder = Recorder()
        let codec = FrameCodecState()
        let registry: ConnectionRegistry

        init(tokens: [TokenSpec] = [], maxConnections: Int = 8, handshakeMillis: UInt32 = 1000) throws {
            registry = ConnectionRegistry(
                limits: .init(maxHandshakes: 8, maxConnections: maxConnections, maxPerToken: 1))
            var limits = SessionLimits.default
            limits.handshakeTimeoutMillis = handshakeMillis
            let hello = Message.HelloOK(
                server: "troved/test", storeID: "store", chunkMin: 1, chunkAvg: 2, chunkMax: 4,
                normalization: 1,
                preferredCodec: .zstd, codecs: [.raw], limits: limits, serverNonce: [], authRequired: false)
            let connection = ConnectionState(logger: quietLogger, codec: codec)
            let handler = HandshakeHandler(
                connection: connection, registry: registry, helloOK: hello, tokens: tokens)
            channel = EmbeddedChannel()
            #expect(registry.accept(channel).admitted)
            try channel.pipeline.syncOperations.addHandlers([handler, recorder])
            try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        }

        func hello() throws -> Message.HelloOK {
            try channel.writeInbound(frame(.hello(.init(client: "test", codecs: [.zstd])), id: 1))
            let out = try writtenFrames(channel)
            guard let ok = (try out.first?.message())?.as(Message.HelloOK.self) else {
                Issue.record("expected HELLO_OK, got \(out)")
                throw CancellationError()
            }
            return ok
        }

        var established: SessionEstablished? {
            recorder.events.lazy.compactMap { $0 as? SessionEstablished }.first
        }

        var handlerGone: Bool {
            (try? channel.pipeline.syncOperations.handler(type: HandshakeHandler.self)) == nil
        }
    }

    static let ci = TokenSpec(name: "ci", key: key, scope: .read, prefixes: ["models/"])

    @Test("open access: HELLO_OK, the session is established, the cap rises, the handler leaves")
    func openAccess() throws {
        let rig = try Rig()
        let ok = try rig.hello()
        #expect(!ok.authRequired)
        #expect(ok.serverNonce.count == ProtocolLimits.nonceLength)
        #expect(rig.established?.grant == .open)
        #expect(rig.established?.codecs == [.zstd, .raw])
        #expect(rig.codec.maxPayload == ProtocolLimits.defaultMaxPayload)
        #expect(rig.handlerGone)
        #expect(rig.registry.counts.authenticated == 1)
        // Later frames pass straight on.
        try rig.channel.writeInbound(frame(.ping(.init(nonce: 1)), id: 2))
        #expect(rig.recorder.frames.map(\.requestID) == [2])
    }

    @Test("tokens: AUTH with the right proof gets AUTH_OK and the token's grant")
    func authOK() throws {
        let rig = try Rig(tokens: [Self.ci])
        let ok = try rig.hello()
        #expect(ok.authRequired)
        #expect(rig.established == nil)
        #expect(rig.codec.maxPayload == ProtocolLimits.preAuthMaxPayload)
        let nonce = SecureRandom.bytes(32)
        let proof = AuthProof.client(
            key: Self.key, serverNonce: ok.serverNonce, clientNonce: nonce, name: "ci")
        try rig.channel.writeInbound(
            frame(.auth(.init(tokenName: "ci", clientNonce: nonce, proof: proof)), id: 2))
        guard let a = (try writtenFrames(rig.channel).first?.message())?.as(Message.AuthOK.self) else {
            Issue.record("expected AUTH_OK")
            return
        }
        #expect(
            a.serverProof
                == AuthProof.server(
                    key: Self.key, serverNonce: ok.serverNonce, clientNonce: nonce, name: "ci"))
        #expect(rig.established?.grant == Grant(tokenName: "ci", scope: .read, prefixes: ["models/"]))
        #expect(rig.handlerGone)
    }

    func expectClosed(_ rig: Rig, with code: ErrorCode) throws {
        guard let e = (try writtenFrames(rig.channel).last?.message())?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR \(code.name)")
            return
        }
        #expect(e.code == code, "\(e.message)")
        #expect(!rig.channel.isActive)
        #expect(rig.established == nil)
    }

    @Test("a wrong proof, a request before AUTH, or a first frame other than HELLO closes")
    func refusals() throws {
        let wrong = try Rig(tokens: [Self.ci])
        let ok = try wrong.hello()
        let nonce = SecureRandom.bytes(32)
        let bad = AuthProof.client(
            key: AuthProof.key(secret: "guess"), serverNonce: ok.serverNonce, clientNonce: nonce, name: "ci")
        try wrong.channel.writeInbound(
            frame(.auth(.init(tokenName: "ci", clientNonce: nonce, proof: bad)), id: 2))
        try expectClosed(wrong, with: .authFailed)

        let early = try Rig(tokens: [Self.ci])
        _ = try early.hello()
        try early.channel.writeInbound(frame(example(.stat), id: 2))
        try expectClosed(early, with: .authRequired)

        let first = try Rig()
        try first.channel.writeInbound(frame(example(.stat), id: 1))
        try expectClosed(first, with: .protocolViolation)
    }

    @Test("no authenticated slot left: busy instead of HELLO_OK")
    func busy() throws {
        let rig = try Rig(maxConnections: 0)
        try rig.channel.writeInbound(frame(.hello(.init(client: "test", codecs: [])), id: 1))
        try expectClosed(rig, with: .busy)
    }

    @Test("the handshake deadline is hard: it closes even a client that keeps sending")
    func deadline() throws {
        let rig = try Rig(tokens: [Self.ci], handshakeMillis: 1000)
        _ = try rig.hello()
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(999))
        #expect(rig.channel.isActive)
        rig.channel.embeddedEventLoop.advanceTime(by: .milliseconds(1))
        try expectClosed(rig, with: .timeout)
    }

    @Test("shutdown during the handshake closes with shutting-down")
    func drain() throws {
        let rig = try Rig(tokens: [Self.ci])
        rig.channel.pipeline.syncOperations.fireUserInboundEventTriggered(DrainRequested())
        try expectClosed(rig, with: .shuttingDown)
    }
}
