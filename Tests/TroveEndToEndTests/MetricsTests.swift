import Foundation
import Testing

#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif

/// The metrics listener against a real troved: the values move as a push, a pull, a GC and a
/// scrub say they should.
@Suite("Metrics")
struct MetricsTests {
    /// A troved with its metrics listener on an ephemeral loopback port.
    final class Monitored {
        let server: TestServer
        let metricsAddress: String
        private let scratch: TemporaryDirectory

        init() throws {
            scratch = try TemporaryDirectory("trove-metrics")
            let portFile = scratch.url.appendingPathComponent("metrics-port").path
            server = try TestServer(extraArguments: ["--metrics-listen", "127.0.0.1:0", "--metrics-port-file", portFile])
            var address = ""
            let deadline = Date().addingTimeInterval(60)
            while address.isEmpty && Date() < deadline {
                if let text = try? String(contentsOfFile: portFile, encoding: .utf8), text.hasSuffix("\n") {
                    address = text.trimmingCharacters(in: .whitespacesAndNewlines)
                } else {
                    usleep(10_000)
                }
            }
            guard !address.isEmpty else {
                throw CLIError(description: "the metrics listener did not start:\n\(server.log())")
            }
            metricsAddress = address
        }

        /// GET `path`: the status and the body.
        func get(_ path: String) async throws -> (status: Int, body: String) {
            let url = try #require(URL(string: "http://\(metricsAddress)\(path)"))
            let (data, response) = try await URLSession.shared.data(from: url)
            let status = (response as? HTTPURLResponse)?.statusCode ?? -1
            return (status, String(decoding: data, as: UTF8.self))
        }

        /// The samples of a scrape.
        func scrape() async throws -> Samples {
            let (status, body) = try await get("/metrics")
            #expect(status == 200, "\(body)")
            return Samples(body)
        }
    }

    /// Prometheus text exposition: series (`name{labels}`) → value.
    struct Samples {
        var values: [String: Double] = [:]

        init(_ text: String) {
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                guard let space = line.lastIndex(of: " "), let v = Double(line[line.index(after: space)...]) else {
                    continue
                }
                values[String(line[..<space])] = v
            }
        }

        /// The sum over the series of `name` that carry every label in `labels` (0 when none).
        subscript(_ name: String, _ labels: [String: String] = [:]) -> Double {
            values.filter { key, _ in
                (key == name || key.hasPrefix(name + "{"))
                    && labels.allSatisfy { key.contains("\($0.key)=\"\($0.value)\"") }
            }.values.reduce(0, +)
        }
    }

    @Test("after a push, a second push of the same data, a pull, a GC and a scrub the metrics moved as expected")
    func metricsFollowTheWork() async throws {
        let m = try Monitored()
        #expect(try await m.get("/healthz").status == 200)
        let ready = try await m.get("/readyz")
        #expect(ready.status == 200, "\(ready)")
        #expect(try await m.get("/nothing").status == 404)

        let start = try await m.scrape()
        #expect(start["trove_read_only"] == 0)
        #expect(start["trove_store_versions"] == 0)

        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 91, count: 2_000_000)
        try dir.write("in/a.bin", data)
        let input = dir.url.appendingPathComponent("in").path
        #expect(try m.server.trove(["push", input, "metrics/a:1"]).status == 0)
        let pushed = try await m.scrape()
        // A file over 1 MiB goes through a blob stream (PROTOCOL.md §9a), not PUT_CHUNKS.
        #expect(pushed["trove_requests_total", ["type": "BLOB_CHUNKS", "result": "ok"]] >= 1)
        #expect(pushed["trove_requests_total", ["type": "BLOB_CLOSE", "result": "ok"]] == 1)
        #expect(pushed["trove_requests_total", ["type": "COMMIT", "result": "ok"]] == 1)
        #expect(pushed["trove_request_duration_seconds_count", ["type": "BLOB_CHUNKS"]] >= 1)
        #expect(pushed["trove_chunks_total", ["result": "new"]] >= 1)
        #expect(pushed["trove_bytes_received_total"] >= 2_000_000)
        #expect(pushed["trove_store_versions"] == 1)
        #expect(pushed["trove_store_chunks"] >= 1)
        #expect(pushed["trove_store_stored_chunk_bytes"] >= 1_900_000)
        #expect(pushed["trove_disk_free_bytes"] > 0)
        #expect(pushed["trove_requests_in_flight"] == 0)

        // Nearly the same bytes (a new file, so a new recipe): the client asks which chunks troved
        // has and sends only the changed tail.
        try dir.write("in2/copy.bin", data + Array("tail".utf8))
        try dir.write("in2/note.txt", Array("another tree".utf8))
        let second = try m.server.trove(["push", "--no-cache", dir.url.appendingPathComponent("in2").path, "metrics/b:1"])
        #expect(second.status == 0, "\(second)")
        let again = try await m.scrape()
        let newChunks = again["trove_chunks_total", ["result": "new"]] - pushed["trove_chunks_total", ["result": "new"]]
        #expect(again["trove_chunks_total", ["result": "deduplicated"]] >= pushed["trove_chunks_total", ["result": "new"]] - 2)
        #expect(newChunks >= 1 && newChunks <= 3, "\(newChunks)")
        #expect(again["trove_dedup_ratio"] >= 1.9)
        #expect(again["trove_store_versions"] == 2)

        let out = dir.url.appendingPathComponent("out")
        #expect(try m.server.trove(["pull", "metrics/a:1", out.path]).status == 0)
        let pulled = try await m.scrape()
        #expect(pulled["trove_requests_total", ["type": "GET_CHUNKS", "result": "ok"]] >= 1)
        #expect(pulled["trove_bytes_sent_total"] - again["trove_bytes_sent_total"] >= 1_900_000)
        #expect(try m.server.trove(["show", "metrics/none:1"]).status == 3)
        let missed = try await m.scrape()
        #expect(missed["trove_requests_total", ["type": "GET_REF", "result": "not-found"]] >= 1)

        #expect(pulled["trove_gc_last_run_timestamp_seconds"] == 0)
        #expect(try m.server.trove(["rm", "metrics/b:1"]).status == 0)
        #expect(try m.server.trove(["gc", "--grace", "0s"]).status == 0)
        let collected = try await m.scrape()
        #expect(collected["trove_gc_last_run_timestamp_seconds"] > 0)
        #expect(collected["trove_gc_last_success"] == 1)
        #expect(collected["trove_gc_last_duration_seconds"] >= 0)
        #expect(collected["trove_store_versions"] == 1)

        #expect(pulled["trove_scrub_last_run_timestamp_seconds"] == 0)
        #expect(try m.server.trove(["scrub"]).status == 0)
        let scrubbed = try await m.scrape()
        #expect(scrubbed["trove_scrub_last_run_timestamp_seconds"] > 0)
        #expect(scrubbed["trove_scrub_last_clean"] == 1)
        #expect(scrubbed["trove_scrub_last_findings"] == 0)
    }
}
