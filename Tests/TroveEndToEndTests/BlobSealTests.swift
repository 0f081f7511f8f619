import Foundation
import NIOCore
import Testing
import TroveCore
import TroveProtocol

@testable import TroveClient

/// Sealed blob streams over the wire (PROTOCOL.md §9a, `BLOB_SEAL`, protocol version 3) against a
/// real troved: a push whose large files the client does not hash whole (troved returns the
/// digest), the negotiation that keeps version-2 peers working, and a raw client that seals.
@Suite("sealed blob streams end to end", .serialized)
struct BlobSealE2ETests {
    func push(_ server: TestServer, _ path: String, version: String) throws -> PushResult {
        let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { conn.close() }
        #expect(conn.protocolVersion == 4)
        let extra = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { extra.close() }
        let pusher = Pusher(connection: conn)
        pusher.uploadConnections = [extra]
        pusher.sealMinimumSize = 0
        return try pusher.push(PushRequest(path: path, name: "m", version: version))
    }

    @Test func sealedFilesGetTheServersDigestAndPullBackExactly() throws {
        let dir = try TemporaryDirectory()
        let v1 = BlobStreamE2ETests.model(seed: 21)
        try dir.write("src/model.bin", v1)
        let server = try TestServer()
        let r1 = try push(server, dir.path + "/src/model.bin", version: "1")
        #expect(r1.filesStreamed == 1)
        #expect(r1.blob == SHA256.hash(v1))

        // The same tree as the two-pass push, which hashes the file on the client.
        let other = try TestServer()
        let (slow, js) = try ClientE2E.json(
            other, ["push", dir.path + "/src/model.bin", "m:1"], environment: ["TROVE_PUSH_BLOB_STREAMS": "0"])
        #expect(slow.status == 0, "\(slow)")
        #expect(js["tree"] as? String == r1.tree.prefixed)

        // The same bytes again: every chunk is held, the stream carries references only.
        try dir.write("again/copy.bin", v1)
        let r2 = try push(server, dir.path + "/again/copy.bin", version: "2")
        #expect(r2.blob == SHA256.hash(v1))
        #expect(r2.chunksSent == 0)

        // Shifted: new chunks and references.
        var v3 = v1
        v3.insert(contentsOf: ClientE2E.random(seed: 22, count: 70_000), at: 2_500_000)
        try dir.write("src/model.bin", v3)
        let r3 = try push(server, dir.path + "/src/model.bin", version: "3")
        #expect(r3.blob == SHA256.hash(v3))
        #expect(r3.chunksSent < r1.chunks / 2)
        for (version, name, content) in [("1", "model.bin", v1), ("2", "copy.bin", v1), ("3", "model.bin", v3)] {
            let out = dir.path + "/out\(version)"
            let pull = try server.trove(["pull", "m:\(version)", out])
            #expect(pull.status == 0, "\(pull)")
            #expect(try ClientE2E.read(out + "/" + name) == content)
        }
        #expect(try server.trove(["scrub"]).status == 0)
    }

    func begin(_ c: RawConnection, preamble: [UInt8]? = nil) throws -> LeaseID {
        try BlobStreamE2ETests().begin(c, preamble: preamble)
    }

    @Test func aRawClientSealsPipelinedAppendsAndAVersionTwoConnectionCannot() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        let lease = try begin(c)
        let content = ClientE2E.random(seed: 23, count: 12 * 32_768)
        let chunks = BlobStreamE2ETests.pieces(of: content, size: 32_768)
        let payload = BlobStreamE2ETests.payload
        c.send(.blobOpen(.init(lease: lease, stream: 1)), requestID: 3)
        #expect(c.readMessage() == .blobOpened(.init(stream: 1)))
        for (i, start) in [8, 4, 0].enumerated() {
            c.send(
                .blobChunks(.init(lease: lease, stream: 1, position: UInt64(start), chunks: chunks[start..<start + 4].map(payload))),
                requestID: UInt32(4 + i))
        }
        for _ in 0..<3 { #expect(c.readMessage() == .blobChunksOK(.init(stored: 4, alreadyPresent: 0))) }
        c.send(.blobSeal(.init(lease: lease, stream: 1, size: UInt64(content.count), chunks: 12)), requestID: 7)
        #expect(c.readMessage() == .blobSealed(.init(blob: SHA256.hash(content))))
        // A second seal of the same stream: it is gone.
        c.send(.blobSeal(.init(lease: lease, stream: 1, size: UInt64(content.count), chunks: 12)), requestID: 8)
        #expect(c.readMessage()?.as(Message.ErrorReply.self)?.code == .badRequest)

        // Version 2 does not have BLOB_SEAL: a protocol violation.
        let d = try RawConnection(server.address)
        let l2 = try begin(d, preamble: Array("TROVE".utf8) + [1, 2, 0])
        d.send(.blobOpen(.init(lease: l2, stream: 1)), requestID: 3)
        #expect(d.readMessage() == .blobOpened(.init(stream: 1)))
        d.send(.blobSeal(.init(lease: l2, stream: 1, size: 0, chunks: 0)), requestID: 4)
        #expect(d.readMessage()?.as(Message.ErrorReply.self)?.code == .protocolViolation)
        #expect(d.isClosedByServer())
    }
}
