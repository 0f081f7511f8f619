import Foundation
import Testing
import TroveObjectStorage

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// `/readyz` of a troved whose packs and objects are in S3 follows the object store: 503 while
/// the SeaweedFS is stopped (SIGSTOP: it accepts connections and answers nothing), 200 again once
/// it goes on; `/healthz` stays 200 throughout. A SeaweedFS of its own, since it is stopped.
@Suite("readiness with S3 storage", .serialized)
struct ReadinessOnS3Tests {
    func get(_ address: String, _ path: String) async throws -> (Int, String) {
        let url = try #require(URL(string: "http://\(address)\(path)"))
        let (data, response) = try await URLSession.shared.data(from: url)
        return ((response as? HTTPURLResponse)?.statusCode ?? -1, String(decoding: data, as: UTF8.self))
    }

    /// Polls `/readyz` until it answers `status` (deadline: `seconds`); its last answer.
    func awaitReadyz(_ address: String, _ status: Int, seconds: Double) async throws -> (Int, String) {
        let deadline = Date().addingTimeInterval(seconds)
        var last = try await get(address, "/readyz")
        while last.0 != status && Date() < deadline {
            try await Task.sleep(nanoseconds: 200_000_000)
            last = try await get(address, "/readyz")
        }
        return last
    }

    @Test func readyzFollowsTheObjectStore() async throws {
        let weed = try SeaweedFS.dedicated()
        defer { weed.stop() }
        let troved = try TrovedOnS3Tests.WithMetrics(weed: weed, bucket: "ready")
        defer { troved.stop() }
        let address = troved.metrics

        let up = try await awaitReadyz(address, 200, seconds: 60)
        #expect(up.0 == 200, "\(up.1)")

        try weed.pause()
        let down = try await awaitReadyz(address, 503, seconds: 60)
        #expect(down.0 == 503, "\(down.1)")
        #expect(down.1.contains("did not answer") || down.1.contains("backend check failed"), "\(down.1)")
        let live = try await get(address, "/healthz")
        #expect(live.0 == 200, "\(live.1)")

        try weed.resume()
        let back = try await awaitReadyz(address, 200, seconds: 120)
        #expect(back.0 == 200, "\(back.1)")
    }
}
