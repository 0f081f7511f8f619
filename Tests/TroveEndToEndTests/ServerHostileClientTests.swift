import Foundation
import NIOCore
import Testing
import TroveCore
import TroveProtocol

/// A bad client loses its connection, never the server: each case below breaks the protocol,
/// expects an ERROR (where the protocol says one is sent) and a closed connection, and then checks
/// that troved still serves a well-behaved client.
@Suite("troved against hostile clients", .serialized)
struct ServerHostileClientTests {
    func expectStillServing(_ server: TestServer) throws {
        let c = try RawConnection(server.address)
        let ok = c.hello()
        #expect(ok != nil, "troved stopped answering HELLO:\n\(server.log())")
        c.send(.ping(.init(nonce: 7)), requestID: 2)
        #expect(c.readMessage() == .pong(.init(nonce: 7)))
    }

    func expectError(_ c: RawConnection, _ code: ErrorCode) {
        guard let e = c.readMessage()?.as(Message.ErrorReply.self) else {
            Issue.record("expected ERROR \(code.name)")
            return
        }
        #expect(e.code == code, "\(e.message)")
    }

    @Test func wrongMagicIsDropped() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        c.send(Array("GET / HTTP/1.1\r\n\r\n".utf8))
        #expect(c.isClosedByServer())
        try expectStillServing(server)
    }

    @Test func oversizedFrameBeforeAuthIsRefusedBeforeAllocation() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        c.sendPreamble()
        // A header announcing a 1 GiB HELLO: refused from the 10 header bytes alone.
        c.send([0x40, 0, 0, 0, MessageType.hello.rawValue, 0, 0, 0, 0, 1])
        expectError(c, .protocolViolation)
        #expect(c.isClosedByServer())
        try expectStillServing(server)
    }

    @Test func badChecksumUnknownTypeAndGarbagePayload() throws {
        let server = try TestServer()
        for bytes: [UInt8] in [
            [0, 0, 0, 0, 0x7E, 0, 0, 0, 0, 1, 0, 0, 0, 0],  // unknown type
            [0, 0, 0, 2, MessageType.hello.rawValue, 0, 0, 0, 0, 1, 9, 9, 1, 2, 3, 4],  // bad CRC
        ] {
            let c = try RawConnection(server.address)
            c.sendPreamble()
            c.send(bytes)
            expectError(c, .protocolViolation)
            #expect(c.isClosedByServer())
        }
        // A well-framed HELLO whose payload is garbage (count larger than the payload).
        var b = ByteBuffer()
        Frame(type: .hello, requestID: 1, payload: ByteBuffer(bytes: [0xFF, 0xFF, 0xFF, 0xFF, 1])).write(
            into: &b)
        let c = try RawConnection(server.address)
        c.sendPreamble()
        c.send(Array(b.readableBytesView))
        expectError(c, .protocolViolation)
        #expect(c.isClosedByServer())
        try expectStillServing(server)
    }

    @Test func requestBeforeHelloAndRepeatedHello() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        c.sendPreamble()
        c.send(.stat(.init()), requestID: 1)
        expectError(c, .protocolViolation)
        #expect(c.isClosedByServer())

        let d = try RawConnection(server.address)
        #expect(d.hello() != nil)
        d.send(.hello(.init(client: "again", codecs: [])), requestID: 2)
        expectError(d, .protocolViolation)
        #expect(d.isClosedByServer())
        try expectStillServing(server)
    }

    @Test func tokensRequiredWrongProofAndMissingAuth() throws {
        let secret = "s3cret-for-tests-0123456789"
        let key = AuthProof.key(secret: secret)
        let server = try TestServer(config: "[tokens.ci]\nsha256 = \"\(key.hex)\"\nscope = \"read\"\n")

        // A request without AUTH.
        let a = try RawConnection(server.address)
        let helloA = try #require(a.hello())
        #expect(helloA.authRequired)
        a.send(.stat(.init()), requestID: 2)
        expectError(a, .authRequired)
        #expect(a.isClosedByServer())

        // A wrong proof.
        let b = try RawConnection(server.address)
        let helloB = try #require(b.hello())
        let nonce = SecureRandom.bytes(32)
        let wrong = AuthProof.client(
            key: AuthProof.key(secret: "guess"), serverNonce: helloB.serverNonce, clientNonce: nonce,
            name: "ci")
        b.send(.auth(.init(tokenName: "ci", clientNonce: nonce, proof: wrong)), requestID: 2)
        expectError(b, .authFailed)
        #expect(b.isClosedByServer())

        // The right proof: AUTH_OK with a server proof the client can check; read scope only.
        let c = try RawConnection(server.address)
        let helloC = try #require(c.hello())
        let proof = AuthProof.client(
            key: key, serverNonce: helloC.serverNonce, clientNonce: nonce, name: "ci")
        c.send(.auth(.init(tokenName: "ci", clientNonce: nonce, proof: proof)), requestID: 2)
        guard let ok = c.readMessage()?.as(Message.AuthOK.self) else {
            Issue.record("expected AUTH_OK:\n\(server.log())")
            return
        }
        #expect(ok.scope == .read)
        #expect(
            ok.serverProof
                == AuthProof.server(key: key, serverNonce: helloC.serverNonce, clientNonce: nonce, name: "ci")
        )
        c.send(.beginPush(.init(name: "models/x")), requestID: 3)
        expectError(c, .permissionDenied)
        c.send(.stat(.init()), requestID: 4)
        guard c.readMessage()?.as(Message.Stats.self) != nil else {
            Issue.record("expected STATS after a refused request")
            return
        }
    }

    @Test func handshakeTimeoutClosesSilentClients() throws {
        let server = try TestServer(config: "[limits]\nhandshake_timeout_ms = 300\n")
        let c = try RawConnection(server.address)
        c.sendPreamble()
        expectError(c, .timeout)
        #expect(c.isClosedByServer())
        try expectStillServing(server)
    }
}
