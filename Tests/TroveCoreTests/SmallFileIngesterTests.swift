import Foundation
import Testing

@testable import TroveCore

/// The one-buffer path for small files against the pipeline (`Ingest.file`) and the serial
/// reference: same chunks, same digests, same detected format.
@Suite("Small-file ingest")
struct SmallFileIngesterTests {
    static func write(_ bytes: [UInt8], suffix: String = ".bin") -> String {
        let path = NSTemporaryDirectory() + "trove-small-\(UInt64.random(in: 0...UInt64.max))\(suffix)"
        FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }

    @Test("equals Ingest.file and the reference", arguments: [0, 1, 1000, 16383, 16384, 16385, 70_000, 262_145, 1 << 20])
    func equalsPipeline(size: Int) throws {
        let p = ChunkerParameters.default
        let ingester = try SmallFileIngester(parameters: p)
        for (kind, input) in [("random", TestInput.random), ("text", TestInput.text), ("zeros", TestInput.zeros)] {
            let bytes = input.bytes(seed: UInt64(size) + 3, count: size)
            let path = Self.write(bytes)
            defer { unlink(path) }
            let got = try #require(try ingester.ingest(path: path), "\(kind) \(size)")
            #expect(got == (try Ingest.file(at: path, parameters: p)), "\(kind) \(size)")
            #expect(got == (try Ingest.serial(bytes: bytes, parameters: p)), "\(kind) \(size)")
        }
    }

    @Test("forced cuts of container formats are placed as the pipeline places them")
    func formats() throws {
        let ingester = try SmallFileIngester(parameters: .default)
        let layouts: [(String, [UInt8])] = [
            ("safetensors", Fixture.safetensors(Fixture.members(count: 12, seed: 7, sizes: 0...60_000)).bytes),
            ("tar", Fixture.tar(Fixture.members(count: 100, seed: 8, sizes: 0...700), paxEvery: 5).bytes),
            ("zip", Fixture.zip(Fixture.members(count: 50, seed: 5, sizes: 0...3000)).bytes),
        ]
        for (name, bytes) in layouts {
            #expect(bytes.count <= ingester.limit, "\(name) fixture too large for the test")
            let path = Self.write(bytes, suffix: "." + name)
            defer { unlink(path) }
            let got = try #require(try ingester.ingest(path: path, formats: .auto))
            #expect(got == (try Ingest.file(at: path, formats: .auto)), "\(name)")
            #expect(got.format != nil, "\(name): format not detected")
            #expect(try ingester.ingest(path: path) == (try Ingest.file(at: path)), "\(name), plain")
        }
    }

    @Test("a file over the limit is left to the pipeline")
    func overLimit() throws {
        let ingester = try SmallFileIngester(parameters: .default, limit: 4096)
        let path = Self.write(TestInput.random.bytes(seed: 1, count: 4097))
        defer { unlink(path) }
        #expect(try ingester.ingest(path: path) == nil)
        let atLimit = Self.write(TestInput.random.bytes(seed: 2, count: 4096))
        defer { unlink(atLimit) }
        #expect(try ingester.ingest(path: atLimit) == (try Ingest.file(at: atLimit)))
    }

    @Test("the scan's size saves a read; a file that grew or shrank since is read to its end")
    func expectedSize() throws {
        let ingester = try SmallFileIngester(parameters: .default)
        for size in [0, 1, 5000, 16384, 40_000] {
            let path = Self.write(TestInput.text.bytes(seed: UInt64(size), count: size))
            defer { unlink(path) }
            let want = try Ingest.file(at: path)
            for hint in Set([0, size, max(0, size - 1), size + 1, size / 2, 3 * size + 7]) {
                #expect(try ingester.ingest(path: path, expectedSize: hint) == want, "size \(size), hint \(hint)")
            }
        }
    }

    @Test("a missing file is a clear error")
    func missing() throws {
        let ingester = try SmallFileIngester(parameters: .default)
        #expect(throws: IngestError.self) { try ingester.ingest(path: "/nonexistent/trove-small-file") }
    }
}
