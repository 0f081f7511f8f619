import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// Where a pull checks chunk digests (on arrival, two at a time on the connections' event loops,
/// or fused with the blob digest on the pulling thread) and how often its writer thread is woken
/// must not change what lands on disk: every combination gives the source tree, over one
/// connection and over two; so do direct writes of large files, however many in flight.
@Suite("pull's hashing and writer settings")
struct PullHashingTests {
    @Test func everySettingWritesTheSameTree() throws {
        let dir = try TemporaryDirectory()
        let src = try PullWritersTests.corpus(dir)
        // Large files spanning many CHUNKS frames (and both connections), one with a repeated part.
        let big = ClientE2E.random(seed: 91, count: 12 << 20)
        try dir.write("src/big/a.bin", big)
        try dir.write("src/big/b.bin", Array(big[0..<(5 << 20)]) + ClientE2E.random(seed: 92, count: 3 << 20) + big)
        let server = try TestServer()
        let push = try server.trove(["push", src, "h:1"], environment: ["TROVE_NO_STAT_CACHE": "1"])
        #expect(push.status == 0, "\(push)")
        let source = try PullTests.snapshot(URL(fileURLWithPath: src))

        let address = try ServerAddress(parsing: server.address)
        var runs = 0
        for arrival in [true, false] {
            for wake in [0, 1 << 20] {
                for extra in [0, 1] {
                    let conn = try Connection.open(to: address, credentials: nil)
                    let others = try (0..<extra).map { _ in try Connection.open(to: address, credentials: nil) }
                    defer {
                        conn.close()
                        for c in others { c.close() }
                    }
                    let puller = Puller(connection: conn)
                    puller.extraConnections = others
                    puller.hashOnArrival = arrival
                    puller.writerWakeBytes = wake
                    let out = dir.path + "/out-\(arrival)-\(wake)-\(extra)"
                    let r = try puller.pull(ref: "h:1", into: out)
                    #expect(r.files == 411)
                    #expect(try PullTests.snapshot(URL(fileURLWithPath: out)) == source, "\(out)")
                    runs += 1
                }
            }
        }
        #expect(runs == 8)
        // The default: on arrival exactly where many digests take sixteen AVX-512 lanes.
        do {
            let conn = try Connection.open(to: address, credentials: nil)
            defer { conn.close() }
            #expect(Puller(connection: conn).hashOnArrival == SHA256Pair.manyOnSixteenLanes)
        }

        // Large files through the page cache, and with direct writes one, two and three in flight.
        for (direct, inFlight) in [(false, 2), (true, 1), (true, 2), (true, 3)] {
            let conn = try Connection.open(to: address, credentials: nil)
            defer { conn.close() }
            let puller = Puller(connection: conn)
            puller.directWrites = direct
            puller.directWritesInFlight = inFlight
            let out = dir.path + "/out-direct-\(direct)-\(inFlight)"
            let r = try puller.pull(ref: "h:1", into: out)
            #expect(r.files == 411)
            #expect(try PullTests.snapshot(URL(fileURLWithPath: out)) == source, "\(out)")
        }
    }
}
