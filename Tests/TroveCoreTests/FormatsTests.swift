import Testing

@testable import TroveCore

@Suite("Format-aware boundaries")
struct FormatsTests {
    static let p = ChunkerParameters.default

    @Test func policyTextRoundTrips() throws {
        #expect(try FormatPolicy(parsing: "auto") == .auto)
        #expect(try FormatPolicy(parsing: "none") == .none)
        #expect(try FormatPolicy(parsing: "tar,zip").formats == [.zip, .tar])
        #expect(try FormatPolicy(parsing: "tar,zip").description == "zip,tar")
        #expect(try FormatPolicy(parsing: "zip,safetensors,tar").description == "auto")
        #expect(FormatPolicy.none.description == "none")
        for bad in ["", "ZIP", "zip,", "rar", "auto,zip"] {
            #expect(throws: FormatPolicyError.self) { try FormatPolicy(parsing: bad) }
        }
    }

    @Test func zipCutsAreMemberHeadersDataAndCentralDirectory() throws {
        for zip64 in [false, true] {
            let layout = Fixture.zip(
                Fixture.members(count: 12, seed: 1, sizes: 0...9000), zip64: zip64,
                comment: Array("a comment PK".utf8))
            let reader = CheckingReader(layout.bytes)
            let plan = try BoundaryPlanner.plan(reader, policy: .auto)
            #expect(plan.format == .zip)
            #expect(plan.cuts == BoundaryPlanner.normalize(layout.cuts, size: UInt64(layout.bytes.count)))
            #expect(reader.outside == 0)
        }
    }

    /// The end-record scan jumps between "P" bytes: comments full of them and of end-record
    /// signatures whose lengths do not fit still leave the real record found.
    @Test func zipEndRecordIsFoundAmongDecoys() throws {
        let decoy: [UInt8] = [0x50, 0x4B, 0x05, 0x06] + [UInt8](repeating: 0x50, count: 18)
        for comment in [
            [UInt8](repeating: 0x50, count: 3000), decoy + decoy, Array("PPPK".utf8) + decoy + [0x50],
            [UInt8](repeating: 0x50, count: 65_535),
        ] {
            let layout = Fixture.zip(Fixture.members(count: 4, seed: 9, sizes: 0...3000), comment: comment)
            let plan = try BoundaryPlanner.plan(MemoryRandomAccess(layout.bytes), policy: .auto)
            #expect(plan.format == .zip, "comment of \(comment.count) bytes")
            #expect(plan.cuts == BoundaryPlanner.normalize(layout.cuts, size: UInt64(layout.bytes.count)))
        }
    }

    @Test func safetensorsCutsAreHeaderEndAndTensorStarts() throws {
        let layout = Fixture.safetensors(Fixture.members(count: 9, seed: 2, sizes: 0...50_000))
        let plan = try BoundaryPlanner.plan(CheckingReader(layout.bytes), policy: .auto)
        #expect(plan.format == .safetensors)
        #expect(plan.cuts == BoundaryPlanner.normalize(layout.cuts, size: UInt64(layout.bytes.count)))
    }

    @Test func tarCutsAreMemberAndDataStartsAndTheEndMarker() throws {
        let layout = Fixture.tar(Fixture.members(count: 10, seed: 3, sizes: 0...20_000), paxEvery: 3)
        let plan = try BoundaryPlanner.plan(CheckingReader(layout.bytes), policy: .auto)
        #expect(plan.format == .tar)
        #expect(plan.cuts == BoundaryPlanner.normalize(layout.cuts, size: UInt64(layout.bytes.count)))
    }

    @Test func policyEnablesOnlyItsFormats() throws {
        let zip = Fixture.zip(Fixture.members(count: 3, seed: 4, sizes: 100...200)).bytes
        #expect(
            try BoundaryPlanner.plan(MemoryRandomAccess(zip), policy: FormatPolicy(parsing: "tar")) == .plain)
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(zip), policy: .none) == .plain)
        #expect(
            try BoundaryPlanner.plan(MemoryRandomAccess(zip), policy: FormatPolicy(parsing: "zip")).format
                == .zip)
    }

    static let containers: [(String, [UInt8])] = [
        ("zip, small members", Fixture.zip(Fixture.members(count: 300, seed: 5, sizes: 0...3000)).bytes),
        (
            "zip64, mixed",
            Fixture.zip(Fixture.members(count: 20, seed: 6, sizes: 0...300_000), zip64: true).bytes
        ),
        ("safetensors", Fixture.safetensors(Fixture.members(count: 40, seed: 7, sizes: 0...200_000)).bytes),
        (
            "tar, tiny members",
            Fixture.tar(Fixture.members(count: 400, seed: 8, sizes: 0...700), paxEvery: 5).bytes
        ),
        (
            "tar, large members",
            Fixture.tar(Fixture.members(count: 12, seed: 9, sizes: 100_000...700_000)).bytes
        ),
    ]

    /// The pipeline with forced cuts (any threads, buffer size, read size) equals the serial
    /// reference, which runs the slow FastCDC on each segment; chunk boundaries include every cut.
    @Test("pipeline with forced cuts equals the reference", arguments: 0..<5)
    func pipelineEqualsReference(_ index: Int) throws {
        let (name, bytes) = Self.containers[index]
        let expected = try Ingest.serial(bytes: bytes, formats: .auto)
        #expect(expected.format != nil, "\(name)")
        let plan = try BoundaryPlanner.plan(MemoryRandomAccess(bytes), policy: .auto)
        let starts = Set(expected.chunks.map(\.offset))
        #expect(plan.cuts.allSatisfy { starts.contains($0) }, "\(name)")
        #expect(expected.chunks.allSatisfy { $0.length <= Self.p.max })
        let configs: [(threads: Int, buffer: Int?, read: Int)] = [
            (1, nil, .max), (2, nil, .max), (2, Self.p.max, 4093), (3, Self.p.max + 1, 100_000),
            (4, 1 << 20, .max),
        ]
        for c in configs {
            let got = try Ingest.bytes(
                bytes, threads: c.threads, bufferSize: c.buffer, maxRead: c.read, formats: .auto)
            #expect(got == expected, "\(name): threads \(c.threads) buffer \(String(describing: c.buffer))")
        }
        #expect(try bytes.withUnsafeBytes { try Ingest.inPlace($0, formats: .auto) } == expected, "\(name): in place")
        let none = try Ingest.bytes(bytes, formats: .none)
        #expect(none == (try Ingest.serial(bytes: bytes)))
        #expect(none.format == nil)
    }

    @Test func fileIngestDetectsWithPread() throws {
        let bytes = Self.containers[2].1
        let path = "/tmp/trove-formats-\(UInt32.random(in: 0...UInt32.max)).safetensors"
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC, 0o600)
        #expect(fd >= 0)
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        defer { unlink(path) }
        let got = try Ingest.file(at: path, formats: .auto)
        #expect(got == (try Ingest.serial(bytes: bytes, formats: .auto)))
        #expect(got.format == .safetensors)
        #expect(try Ingest.file(at: path) == (try Ingest.serial(bytes: bytes)))
    }

    /// Plain inputs are untouched by the policy: same chunks as plain FastCDC.
    @Test(
        "plain inputs are unchanged by the policy", arguments: [TestInput.random, .text, .zeros, .periodic])
    func plainInputsUnchanged(_ kind: TestInput) throws {
        let bytes = kind.bytes(seed: 21, count: 2_000_003)
        let auto = try Ingest.bytes(bytes, formats: .auto)
        #expect(auto == (try Ingest.bytes(bytes, formats: .none)))
        #expect(auto.format == nil)
    }

    // MARK: dedup across versions

    @Test func zipWithOneMemberChangedCostsAboutThatMember() throws {
        var members = Fixture.members(count: 200, seed: 30, sizes: 1000...12_000)
        let v1 = Fixture.zip(members).bytes
        members[117].data = SplitMix64.bytes(seed: 999, count: members[117].data.count + 777)
        let v2 = Fixture.zip(members).bytes
        let aware = newBytes(try Ingest.bytes(v1, formats: .auto), try Ingest.bytes(v2, formats: .auto))
        let plain = newBytes(try Ingest.bytes(v1), try Ingest.bytes(v2))
        let centralDirectory = 200 * (46 + 8)
        #expect(aware <= members[117].data.count + 30 + 8 + centralDirectory)
        #expect(aware >= members[117].data.count)
        #expect(plain > 3 * aware, "plain \(plain), aware \(aware)")
    }

    @Test func safetensorsWithTensorsReplacedCostsThoseTensors() throws {
        var tensors = Fixture.members(count: 60, seed: 31, sizes: 20_000...300_000)
        let v1 = Fixture.safetensors(tensors).bytes
        var replaced = 0
        for i in [3, 31, 58] {
            tensors[i].data = SplitMix64.bytes(seed: 500 + UInt64(i), count: tensors[i].data.count)
            replaced += tensors[i].data.count
        }
        let v2 = Fixture.safetensors(tensors).bytes
        let aware = newBytes(try Ingest.bytes(v1, formats: .auto), try Ingest.bytes(v2, formats: .auto))
        let plain = newBytes(try Ingest.bytes(v1), try Ingest.bytes(v2))
        #expect(aware == replaced)  // same shapes: the header is unchanged
        #expect(plain > aware)
    }

    @Test func tarWithOneMemberChangedCostsAboutThatMember() throws {
        var members = Fixture.members(count: 150, seed: 32, sizes: 500...10_000)
        let v1 = Fixture.tar(members, paxEvery: 4).bytes
        members[61].data = SplitMix64.bytes(seed: 777, count: members[61].data.count - 300)
        let v2 = Fixture.tar(members, paxEvery: 4).bytes
        let aware = newBytes(try Ingest.bytes(v1, formats: .auto), try Ingest.bytes(v2, formats: .auto))
        let plain = newBytes(try Ingest.bytes(v1), try Ingest.bytes(v2))
        #expect(aware <= members[61].data.count + 512 + 512)  // data (padded) + its header
        #expect(plain > 3 * aware, "plain \(plain), aware \(aware)")
    }
}

#if canImport(Glibc)
    import Glibc
#endif
