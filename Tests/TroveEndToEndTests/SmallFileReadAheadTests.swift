import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// The push's second reading thread gives what `SmallFileIngester` on the pushing thread gives.
@Suite("small files read ahead")
struct SmallFileReadAheadTests {
    @Test func resultsAndBytesEqualTheIngesterOnTheCallingThreadInOrder() throws {
        let dir = try TemporaryDirectory()
        // Enough files to fill the queue's bound several times (≈ 48 MiB).
        var files: [(index: Int, path: String, size: Int)] = []
        for i in 0..<60 {
            let size = i % 10 == 9 ? 900_000 : 1000 + i * 97
            let kind: TestInput = i % 2 == 0 ? .text : .random
            let path = try dir.write("f\(i)", kind.bytes(seed: UInt64(i), count: size))
            files.append((i * 2, path, size))
        }
        let params = ChunkerParameters(min: 2048, avg: 8192, max: 32768)
        let ahead = SmallFileReadAhead(files: files, parameters: params, formats: .none)
        defer { ahead.stop() }
        let here = try SmallFileIngester(parameters: params)
        for f in files {
            let (got, bytes) = try ahead.take(f.index)
            let want = try here.ingest(path: f.path, expectedSize: f.size)
            #expect(got == want)
            #expect(bytes == Array(here.content))
        }
    }

    @Test func aMissingFileFailsInItsTurnAndStopEndsTheReaderEarly() throws {
        let dir = try TemporaryDirectory()
        let a = try dir.write("a", TestInput.text.bytes(seed: 1, count: 5000))
        let files = [(0, a, 5000), (1, dir.path + "/gone", 10), (2, a, 5000)]
        let ahead = SmallFileReadAhead(files: files, parameters: .default, formats: .none)
        #expect(try ahead.take(0).result?.size == 5000)
        #expect(throws: IngestError.self) { try ahead.take(1) }
        ahead.stop()
        // Stopped with files left to read (its queue full): returns without reading them.
        var many: [(index: Int, path: String, size: Int)] = []
        for i in 0..<2000 { many.append((i, a, 5000)) }
        let early = SmallFileReadAhead(files: many, parameters: .default, formats: .none)
        _ = try early.take(0)
        early.stop()
    }
}
