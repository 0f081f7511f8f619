import Foundation
import Testing
import TroveCore

/// `trove chunk --formats`: real containers written by Python's zipfile and tarfile (and a
/// safetensors file laid out as the safetensors library writes it), version series where a few
/// members change, and the policy's effect on the `shared:` line.
@Suite("trove chunk --formats")
struct ChunkFormatsTests {
    /// Runs a Python script with `args`; fails the test if it fails.
    static func python(_ script: String, _ args: [String]) throws {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + args
        try p.run()
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "python3 failed")
    }

    /// Writes v1 and v2 of an archive of `count` members (deterministic random and text bytes);
    /// v2 changes member `changed` (new content, a different size). Returns the changed member's
    /// stored size in v2.
    static let archiveScript = """
        import sys, zipfile, tarfile, random, io
        kind, path1, path2, count, changed, compress = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), \
            int(sys.argv[5]), sys.argv[6] == "1"
        def members(version):
            out = []
            for i in range(count):
                r = random.Random(i if (version == 1 or i != changed) else 100000 + i)
                n = r.randint(2000, 30000) + (1234 if (version == 2 and i == changed) else 0)
                if i % 2 == 0:
                    data = bytes(r.getrandbits(8) for _ in range(n))
                else:
                    data = " ".join(r.choice(["tensor", "layer", "weight", "bias", "grad", "norm", "attn"]) + str(r.randint(0, 99)) for _ in range(n // 6)).encode()
                out.append(("pkg/m%04d.bin" % i, data))
            return out
        for version, path in ((1, path1), (2, path2)):
            if kind == "zip":
                with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED if compress else zipfile.ZIP_STORED) as z:
                    for name, data in members(version):
                        info = zipfile.ZipInfo(name, date_time=(2026, 11, 1, 0, 0, 0))
                        info.compress_type = z.compression
                        z.writestr(info, data)
                if version == 2:
                    with zipfile.ZipFile(path) as z:
                        print(z.getinfo("pkg/m%04d.bin" % changed).compress_size)
            else:
                with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as t:
                    for name, data in members(version):
                        info = tarfile.TarInfo(name)
                        info.size = len(data)
                        info.mtime = 1_700_000_000
                        t.addfile(info, io.BytesIO(data))
        """

    /// A safetensors file of `count` tensors; v2 replaces the tensors listed (same shapes).
    static let safetensorsScript = """
        import sys, json, struct, random
        path1, path2, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
        replaced = set(int(x) for x in sys.argv[4].split(","))
        def write(path, version):
            tensors, offset, blobs = {}, 0, []
            for i in range(count):
                r = random.Random(i)
                n = r.randint(10000, 120000) * 4
                seed = (500000 + i) if (version == 2 and i in replaced) else i
                data = random.Random(seed).randbytes(n)
                tensors["layers.%d.weight" % i] = {"dtype": "F32", "shape": [n // 4], "data_offsets": [offset, offset + n]}
                offset += n
                blobs.append(data)
            header = json.dumps({"__metadata__": {"format": "pt"}, **tensors}, separators=(",", ":")).encode()
            header += b" " * ((8 - len(header) % 8) % 8)
            with open(path, "wb") as f:
                f.write(struct.pack("<Q", len(header)) + header + b"".join(blobs))
            return sum(len(blobs[i]) for i in replaced)
        write(path1, 1)
        print(write(path2, 2))
        """

    /// Bytes of v2 not shared with v1, from `trove chunk --summary v1 v2`.
    static func newBytes(_ v1: String, _ v2: String, _ formats: String) throws -> (new: Int, lines: [String])
    {
        let r = try CLI.trove(["chunk", "--summary", "--formats", formats, v1, v2])
        #expect(r.status == 0, "\(r)")
        let last = r.lines.last ?? ""
        // shared: N of M bytes (P%)
        let parts = last.split(separator: " ")
        guard parts.count >= 4, let shared = Int(parts[1]), let total = Int(parts[3]) else {
            Issue.record("no shared line: \(r)")
            return (0, r.lines)
        }
        return (total - shared, r.lines)
    }

    static func run(_ script: String, _ args: [String]) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        p.arguments = ["python3", "-c", script] + args
        let pipe = Pipe()
        p.standardOutput = pipe
        try p.run()
        let out = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        p.waitUntilExit()
        #expect(p.terminationStatus == 0, "python3 failed")
        return out.trimmingCharacters(in: .whitespacesAndNewlines)
    }

    @Test(arguments: [false, true])
    func zipWithOneMemberChanged(_ deflate: Bool) throws {
        let dir = try TemporaryDirectory()
        let v1 = dir.url.appendingPathComponent("v1.zip").path
        let v2 = dir.url.appendingPathComponent("v2.zip").path
        let stored = try #require(
            Int(try Self.run(Self.archiveScript, ["zip", v1, v2, "200", "77", deflate ? "1" : "0"])))
        let aware = try Self.newBytes(v1, v2, "auto")
        let plain = try Self.newBytes(v1, v2, "none")
        #expect(aware.lines.first?.hasSuffix("chunks\tzip") == true, "\(aware.lines)")
        #expect(plain.lines.first?.hasSuffix(" chunks") == true)
        // The member, its local header, and the central directory (≈ 200 × 60 bytes).
        #expect(aware.new >= stored)
        #expect(aware.new <= stored + 100 + 200 * 70, "aware \(aware.new), member \(stored)")
        #expect(plain.new > 2 * aware.new, "plain \(plain.new), aware \(aware.new)")
    }

    @Test func tarWithOneMemberChanged() throws {
        let dir = try TemporaryDirectory()
        let v1 = dir.url.appendingPathComponent("v1.tar").path
        let v2 = dir.url.appendingPathComponent("v2.tar").path
        _ = try Self.run(Self.archiveScript, ["tar", v1, v2, "120", "40", "0"])
        let aware = try Self.newBytes(v1, v2, "auto")
        let plain = try Self.newBytes(v1, v2, "none")
        #expect(aware.lines.first?.hasSuffix("chunks\ttar") == true, "\(aware.lines)")
        // Member 40's data (its size is at most 30000 + 1234, padded) and its header block.
        #expect(aware.new <= 31_234 + 512 + 512, "aware \(aware.new)")
        #expect(plain.new > 2 * aware.new, "plain \(plain.new), aware \(aware.new)")
    }

    @Test func safetensorsWithTensorsReplaced() throws {
        let dir = try TemporaryDirectory()
        let v1 = dir.url.appendingPathComponent("v1.safetensors").path
        let v2 = dir.url.appendingPathComponent("v2.safetensors").path
        let replaced = try #require(Int(try Self.run(Self.safetensorsScript, [v1, v2, "40", "5,17"])))
        let aware = try Self.newBytes(v1, v2, "auto")
        let plain = try Self.newBytes(v1, v2, "none")
        #expect(aware.lines.first?.hasSuffix("chunks\tsafetensors") == true, "\(aware.lines)")
        #expect(aware.new == replaced)
        #expect(plain.new > aware.new)
    }

    @Test func formatsNoneAndPlainFilesMatchTheReference() throws {
        let dir = try TemporaryDirectory()
        let v1 = dir.url.appendingPathComponent("v1.zip").path
        let v2 = dir.url.appendingPathComponent("v2.zip").path
        _ = try Self.run(Self.archiveScript, ["zip", v1, v2, "20", "3", "1"])
        let zipBytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: v1)))
        let none = try CLI.trove(["chunk", "--formats", "none", v1])
        #expect(none.lines == (try ChunkCommandTests.expectedLines(v1, zipBytes)))
        let auto = try CLI.trove(["chunk", v1])
        let expected = try Ingest.serial(bytes: zipBytes, formats: .auto)
        #expect(auto.lines.count == expected.chunks.count + 1)
        #expect(
            auto.lines.last == "\(v1)\t\(expected.blobDigest.prefixed)\t\(expected.chunks.count) chunks\tzip")
        #expect(
            Array(auto.lines.dropLast())
                == expected.chunks.map { "\($0.offset)\t\($0.length)\t\($0.digest.hex)" })

        let text = TestInput.text.bytes(seed: 9, count: 900_000)
        let path = try dir.write("notes.txt", text)
        let plain = try CLI.trove(["chunk", "--formats", "auto", path])
        #expect(plain.lines == (try ChunkCommandTests.expectedLines(path, text)))

        let json = try CLI.trove(["chunk", "--json", "--summary", v1, path])
        let doc = try #require(try JSONSerialization.jsonObject(with: json.stdoutData) as? [String: Any])
        #expect(doc["formats"] as? String == "auto")
        let files = try #require(doc["files"] as? [[String: Any]])
        #expect(files.map { $0["format"] as? String } == ["zip", nil])
    }

    @Test func badFormatsValueExitsTwo() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("f", [1, 2, 3])
        let r = try CLI.trove(["chunk", "--formats", "rar", path])
        #expect(r.status == 2)
        #expect(r.stderr.contains("--formats"))
        #expect(r.stderr.contains("auto, none"))
    }
}
