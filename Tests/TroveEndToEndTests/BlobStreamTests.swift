import Foundation
import NIOCore
import Testing
import TroveCore
import TroveProtocol

@testable import TroveClient

/// Blob streams over the wire (PROTOCOL.md §9a) against a real troved: the CLI's push of large
/// files through them, the version negotiation that keeps version-1 peers working, and hostile
/// clients (pipelined appends out of order, a corrupt chunk, a stream never closed).
@Suite("blob streams end to end", .serialized)
struct BlobStreamE2ETests {
    /// A 6 MB file: random, a run of zeros (a repeated chunk), text.
    static func model(seed: UInt64) -> [UInt8] {
        ClientE2E.random(seed: seed, count: 3_000_000) + [UInt8](repeating: 0, count: 1_500_000)
            + TestInput.text.bytes(seed: seed, count: 1_500_000)
    }

    @Test func largeFilesAreStreamedWhileReadAndPullBackExactly() throws {
        let dir = try TemporaryDirectory()
        let v1 = Self.model(seed: 1)
        try dir.write("src/model.bin", v1)
        try dir.write("src/notes.txt", TestInput.text.bytes(seed: 2, count: 5000))
        let server = try TestServer()
        let conn = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { conn.close() }
        #expect(conn.protocolVersion == 4)
        let extra = try Connection.open(to: ServerAddress(parsing: server.address), credentials: nil)
        defer { extra.close() }
        let pusher = Pusher(connection: conn)
        pusher.uploadConnections = [extra]
        let r1 = try pusher.push(PushRequest(path: dir.path + "/src", name: "m", version: "1"))
        #expect(r1.filesStreamed == 1)
        #expect(r1.chunksSent == r1.chunks)

        // The same tree the two-pass push builds, in another store.
        let other = try TestServer()
        let (slow, js) = try ClientE2E.json(
            other, ["push", dir.path + "/src", "m:1"], environment: ["TROVE_PUSH_BLOB_STREAMS": "0"])
        #expect(slow.status == 0, "\(slow)")
        #expect(js["tree"] as? String == r1.tree.prefixed)

        // v2: a rewritten region and an insertion: the stream sends the new chunks and refers to
        // the stored ones, which troved reads back to hash the blob.
        var v2 = v1
        v2.replaceSubrange(1_000_000..<1_200_000, with: ClientE2E.random(seed: 9, count: 200_000))
        v2.insert(contentsOf: ClientE2E.random(seed: 10, count: 70_000), at: 4_000_000)
        try dir.write("src/model.bin", v2)
        let (p2, j2) = try ClientE2E.json(server, ["push", dir.path + "/src", "m:2"], environment: ["TROVE_NO_STAT_CACHE": "1"])
        #expect(p2.status == 0, "\(p2)")
        #expect(ClientE2E.int(j2["chunksSent"]) < r1.chunks / 2)
        for (version, content) in [("1", v1), ("2", v2)] {
            let out = dir.path + "/out\(version)"
            let pull = try server.trove(["pull", "m:\(version)", out])
            #expect(pull.status == 0, "\(pull)")
            #expect(try ClientE2E.read(out + "/model.bin") == content)
        }
        #expect(try server.trove(["scrub"]).status == 0)
    }

    /// A raw connection after HELLO and BEGIN_PUSH; returns the lease.
    /// `content` cut into pieces of `size` bytes (its length a multiple of `size`).
    static func pieces(of content: [UInt8], size: Int) -> [[UInt8]] {
        stride(from: 0, to: content.count, by: size).map { Array(content[$0..<$0 + size]) }
    }

    /// `raw` as a stream chunk, uncompressed, with its digest.
    static func payload(_ raw: [UInt8]) -> StreamChunk {
        .data(ChunkPayload(digest: SHA256.hash(raw), rawLength: UInt32(raw.count), codec: .raw, data: ByteBuffer(bytes: raw)))
    }

    func begin(_ c: RawConnection, preamble: [UInt8]? = nil) throws -> LeaseID {
        if let preamble {
            c.send(preamble)
            c.send(.hello(.init(client: "raw-test", codecs: [.raw])), requestID: 1)
            _ = try #require(c.readMessage()?.as(Message.HelloOK.self))
        } else {
            _ = try #require(c.hello())
        }
        c.send(.beginPush(.init(name: "raw")), requestID: 2)
        return try #require(c.readMessage()?.as(Message.PushBegun.self)).lease
    }

    @Test func aVersionOneConnectionDoesNotKnowBlobStreams() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        let lease = try begin(c, preamble: Array("TROVE".utf8) + [1, 1, 0])
        c.send(.blobOpen(.init(lease: lease, stream: 1)), requestID: 3)
        #expect(c.readMessage()?.as(Message.ErrorReply.self)?.code == .protocolViolation)
        #expect(c.isClosedByServer())
        // A version-2 connection may.
        let d = try RawConnection(server.address)
        let l2 = try begin(d)
        d.send(.blobOpen(.init(lease: l2, stream: 1)), requestID: 3)
        #expect(d.readMessage() == .blobOpened(.init(stream: 1)))
    }

    @Test func pipelinedAppendsInAnyOrderCommitAndCorruptionFailsTheStream() throws {
        let server = try TestServer()
        let c = try RawConnection(server.address)
        let lease = try begin(c)
        // 30 chunks of 32 KiB, sent as three pipelined appends, last first.
        let content = ClientE2E.random(seed: 4, count: 30 * 32_768)
        let chunks = BlobStreamE2ETests.pieces(of: content, size: 32_768)
        let payload = BlobStreamE2ETests.payload
        c.send(.blobOpen(.init(lease: lease, stream: 1)), requestID: 3)
        #expect(c.readMessage() == .blobOpened(.init(stream: 1)))
        for (i, start) in [20, 10, 0].enumerated() {
            c.send(
                .blobChunks(.init(lease: lease, stream: 1, position: UInt64(start), chunks: chunks[start..<start + 10].map(payload))),
                requestID: UInt32(4 + i))
        }
        for _ in 0..<3 { #expect(c.readMessage() == .blobChunksOK(.init(stored: 10, alreadyPresent: 0))) }
        let blob = SHA256.hash(content)
        c.send(.blobClose(.init(lease: lease, stream: 1, blob: blob, size: UInt64(content.count), chunks: 30)), requestID: 7)
        #expect(c.readMessage() == .blobClosed(.init(verified: true)))
        let recipe = Recipe(
            blobDigest: blob, size: UInt64(content.count),
            chunks: chunks.map { RecipeChunk(digest: SHA256.hash($0), length: UInt32($0.count)) })
        let tree = Tree(entries: [.file("model.bin", blob: blob, size: recipe.size)])
        let treeDigest = SHA256.hash(tree.canonicalBytes)
        let parts = [(ContentKind.recipe, blob, recipe.canonicalBytes), (.tree, treeDigest, tree.canonicalBytes)].map {
            ObjectPart(kind: $0.0, digest: $0.1, totalLength: UInt64($0.2.count), offset: 0, data: ByteBuffer(bytes: $0.2))
        }
        c.send(.putObjects(.init(lease: lease, parts: parts)), requestID: 8)
        #expect(c.readMessage() == .putObjectsOK(.init(completed: 2)))
        c.send(.commit(.init(lease: lease, tree: treeDigest)), requestID: 9)
        #expect(c.readMessage()?.as(Message.CommitOK.self)?.tree == treeDigest)

        // Another stream whose second chunk is not what its digest says: refused, the stream
        // fails, its close too, and nothing of it is committed.
        c.send(.blobOpen(.init(lease: lease, stream: 2)), requestID: 10)
        #expect(c.readMessage() == .blobOpened(.init(stream: 2)))
        let other = ClientE2E.random(seed: 5, count: 3 * 32_768)
        let good = payload(Array(other[0..<32_768]))
        let liar = StreamChunk.data(
            ChunkPayload(
                digest: SHA256.hash(Array(other[32_768..<65_536])), rawLength: 32_768, codec: .raw,
                data: ByteBuffer(bytes: Array(other[65_536...]))))
        c.send(.blobChunks(.init(lease: lease, stream: 2, position: 0, chunks: [good, liar])), requestID: 11)
        #expect(c.readMessage()?.as(Message.ErrorReply.self)?.code == .integrity)
        c.send(
            .blobClose(.init(lease: lease, stream: 2, blob: SHA256.hash(other), size: UInt64(other.count), chunks: 3)),
            requestID: 12)
        #expect(c.readMessage()?.as(Message.ErrorReply.self)?.code == .integrity)
        // A stream opened, fed and never closed: END_PUSH frees it; the server keeps serving.
        c.send(.blobOpen(.init(lease: lease, stream: 3)), requestID: 13)
        #expect(c.readMessage() == .blobOpened(.init(stream: 3)))
        c.send(.blobChunks(.init(lease: lease, stream: 3, position: 5, chunks: [good])), requestID: 14)
        #expect(c.readMessage() == .blobChunksOK(.init(stored: 1, alreadyPresent: 0)))
        c.send(.endPush(.init(lease: lease)), requestID: 15)
        #expect(c.readMessage() == .pushEnded(.init(released: true)))
        c.send(.blobChunks(.init(lease: lease, stream: 3, position: 0, chunks: [good])), requestID: 16)
        #expect(c.readMessage()?.as(Message.ErrorReply.self)?.code == .leaseExpired)
    }
}
