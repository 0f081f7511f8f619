import Foundation
import Testing

@testable import TroveCore

/// One case of `Vectors/fastcdc2020.json` (cut points from an independent FastCDC 2020).
struct VectorCase: CustomTestStringConvertible, Sendable {
    let kind: TestInput
    let seed: UInt64
    let length: Int
    let parameters: ChunkerParameters
    let inputSHA256: String
    let chunks: [(offset: Int, length: Int, sha256: String)]

    var testDescription: String { "\(kind.rawValue) seed \(seed) len \(length) [\(parameters)]" }

    func input() -> [UInt8] { kind.bytes(seed: seed, count: length) }

    /// Loads every case from the checked-in vector file (never regenerated).
    static let all: [VectorCase] = {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
            .appendingPathComponent("Vectors/fastcdc2020.json")
        let data = try! Data(contentsOf: url)
        let root = try! JSONSerialization.jsonObject(with: data) as! [String: Any]
        return (root["cases"] as! [[String: Any]]).map { c in
            let input = c["input"] as! [String: Any]
            let p = c["params"] as! [String: Any]
            return VectorCase(
                kind: TestInput(rawValue: input["kind"] as! String)!,
                seed: (input["seed"] as! NSNumber).uint64Value,
                length: input["length"] as! Int,
                parameters: ChunkerParameters(
                    min: p["min"] as! Int, avg: p["avg"] as! Int, max: p["max"] as! Int,
                    normalization: p["normalization"] as! Int),
                inputSHA256: c["input_sha256"] as! String,
                chunks: (c["chunks"] as! [[Any]]).map { ($0[0] as! Int, $0[1] as! Int, $0[2] as! String) })
        }
    }()
}

@Suite("FastCDC 2020 test vectors")
struct ChunkerVectorTests {
    @Test func vectorFileHasEveryKind() {
        #expect(VectorCase.all.count == 9)
        #expect(Set(VectorCase.all.map(\.kind)) == Set(TestInput.allCases))
    }

    @Test("input generator matches the vector's input digest", arguments: VectorCase.all)
    func inputDigest(_ v: VectorCase) {
        #expect(SHA256.hash(v.input()).hex == v.inputSHA256)
    }

    @Test("one-shot fast chunker reproduces the vector", arguments: VectorCase.all)
    func oneShot(_ v: VectorCase) throws {
        let data = v.input()
        let lengths = try FastCDC(v.parameters).lengths(of: data)
        #expect(lengths == v.chunks.map(\.length))
        var offset = 0
        for (i, n) in lengths.enumerated() where i < v.chunks.count {
            #expect(offset == v.chunks[i].offset)
            #expect(SHA256.hash(data[offset..<offset + n]).hex == v.chunks[i].sha256)
            offset += n
        }
    }

    @Test("reference chunker reproduces the vector", arguments: VectorCase.all)
    func reference(_ v: VectorCase) throws {
        let lengths = try ReferenceFastCDC.lengths(of: v.input(), parameters: v.parameters)
        #expect(lengths == v.chunks.map(\.length))
    }

    @Test("streaming chunker reproduces the vector at every buffer size", arguments: VectorCase.all)
    func streaming(_ v: VectorCase) throws {
        let data = v.input()
        let max = v.parameters.max
        for bufferSize in [max, max + 1, max + 4095, 2 * max + 7, 4 << 20] {
            for maxRead in [Int.max, 65_537] {
                let chunker = try StreamingChunker(
                    source: MemoryByteSource(data, maxRead: maxRead), parameters: v.parameters,
                    bufferSize: bufferSize)
                var got: [(Int, Int, String)] = []
                while let c = try chunker.next() {
                    got.append((Int(c.offset), c.bytes.count, SHA256.hash(c.bytes).hex))
                }
                #expect(got.count == v.chunks.count, "buffer \(bufferSize), read \(maxRead)")
                for (g, e) in zip(got, v.chunks) {
                    #expect(g.0 == e.offset && g.1 == e.length && g.2 == e.sha256, "buffer \(bufferSize)")
                }
            }
        }
    }

    @Test("ingest pipeline reproduces the vector", arguments: VectorCase.all)
    func pipeline(_ v: VectorCase) throws {
        let data = v.input()
        for (threads, bufferSize) in [
            (1, v.parameters.max), (2, v.parameters.max + 3), (2, nil), (3, 1 << 20),
        ] {
            if let b = bufferSize, b < v.parameters.max { continue }
            let r = try Ingest.bytes(data, parameters: v.parameters, threads: threads, bufferSize: bufferSize)
            #expect(r.blobDigest.hex == v.inputSHA256)
            #expect(r.size == UInt64(v.length))
            #expect(r.chunks.map { Int($0.offset) } == v.chunks.map(\.offset), "threads \(threads)")
            #expect(r.chunks.map(\.length) == v.chunks.map(\.length), "threads \(threads)")
            #expect(r.chunks.map(\.digest.hex) == v.chunks.map(\.sha256), "threads \(threads)")
        }
    }
}
