import Testing

@testable import TroveCore

/// Hostile and malformed containers: each must give exactly the plain-FastCDC result, without
/// reading outside the input.
@Suite("Format-aware boundaries: hostile containers")
struct FormatsHostileTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let name: String
        let bytes: [UInt8]
        var testDescription: String { name }
    }

    static func patch(_ b: [UInt8], _ at: Int, _ values: [UInt8]) -> [UInt8] {
        var b = b
        for (k, v) in values.enumerated() { b[at + k] = v }
        return b
    }

    static let le = Fixture.le

    static var cases: [Case] {
        var out: [Case] = []
        // ZIP: 5 members of 5000 bytes named m0.bin...; local headers every 5000 + 36 bytes.
        let zip = Fixture.zip(Fixture.members(count: 5, seed: 40, sizes: 5000...5000)).bytes
        let eocd = zip.count - 22
        let cd = Int(Fixture.Layout(bytes: zip, cuts: []).bytes[eocd + 16]) | Int(zip[eocd + 17]) << 8
        let entry2 = cd + 2 * (46 + 6)
        out += [
            Case(name: "zip: last byte missing", bytes: Array(zip.dropLast())),
            Case(name: "zip: first half only", bytes: Array(zip.prefix(zip.count / 2))),
            Case(name: "zip: extra trailing byte", bytes: zip + [0]),
            Case(
                name: "zip: central directory offset past the end",
                bytes: patch(zip, eocd + 16, le(UInt64(zip.count + 100), 4))),
            Case(
                name: "zip: central directory size too large",
                bytes: patch(zip, eocd + 12, le(0x7FFF_FFFF, 4))),
            Case(name: "zip: absurd entry count", bytes: patch(zip, eocd + 8, le(9000, 2) + le(9000, 2))),
            Case(
                name: "zip: 0xFFFF entries without ZIP64",
                bytes: patch(zip, eocd + 8, le(0xFFFF, 2) + le(0xFFFF, 2))),
            Case(name: "zip: multi-disk", bytes: patch(zip, eocd + 4, le(1, 2))),
            Case(
                name: "zip: member offset outside the file",
                bytes: patch(zip, entry2 + 42, le(0xFFFF_FFF0, 4))),
            Case(name: "zip: two entries at one offset (overlap)", bytes: patch(zip, entry2 + 42, le(0, 4))),
            Case(name: "zip: member offset not at a local header", bytes: patch(zip, entry2 + 42, le(7, 4))),
            Case(
                name: "zip: stored size runs into the directory",
                bytes: patch(zip, entry2 + 20, le(5000 * 4, 4))),
            Case(
                name: "zip: name length runs past the directory",
                bytes: patch(zip, entry2 + 28, le(0xFFFF, 2))),
            Case(name: "zip: bad central signature", bytes: patch(zip, entry2, [0x50, 0x4b, 9, 9])),
            Case(name: "zip: local header name length overruns", bytes: patch(zip, 26, le(0xFFFF, 2))),
            Case(name: "zip: member on disk 3", bytes: patch(zip, entry2 + 34, le(3, 2))),
        ]
        let z64 = Fixture.zip(Fixture.members(count: 3, seed: 41, sizes: 3000...3000), zip64: true).bytes
        let locator = z64.count - 22 - 20
        let z64Entry0 = 3 * (30 + 6 + 3000)
        out += [
            Case(name: "zip64: locator points past the end", bytes: patch(z64, locator + 8, le(1 << 40, 8))),
            Case(name: "zip64: locator points at garbage", bytes: patch(z64, locator + 8, le(100, 8))),
            Case(
                name: "zip64: absurd entry count",
                bytes: patch(z64, locator - 56 + 24, le(1 << 60, 8) + le(1 << 60, 8))),
            Case(name: "zip64: extra field too short", bytes: patch(z64, z64Entry0 + 46 + 6 + 2, le(8, 2))),
            Case(
                name: "zip64: huge offset in extra",
                bytes: patch(z64, z64Entry0 + 46 + 6 + 4 + 16, le(UInt64.max - 5, 8))),
        ]
        // safetensors
        let st = Fixture.safetensors(Fixture.members(count: 4, seed: 42, sizes: 4000...4000)).bytes
        let n = Int(st[0]) | Int(st[1]) << 8
        let header = String(decoding: st[8..<8 + n], as: UTF8.self)
        func withHeader(_ h: String, data: Int = 16_000) -> [UInt8] {
            Fixture.le(UInt64(h.utf8.count), 8) + Array(h.utf8) + Array(st.suffix(data))
        }
        func tensors(_ body: String, data: Int = 16_000) -> [UInt8] {
            withHeader("{" + body + "}", data: data)
        }
        out += [
            Case(name: "safetensors: header length 2^63", bytes: patch(st, 0, le(1 << 63, 8))),
            Case(
                name: "safetensors: header length past the end",
                bytes: patch(st, 0, le(UInt64(st.count), 8))),
            Case(name: "safetensors: header length 0", bytes: patch(st, 0, le(0, 8))),
            Case(name: "safetensors: truncated data", bytes: Array(st.dropLast(10))),
            Case(name: "safetensors: extra data", bytes: st + [1, 2, 3]),
            Case(name: "safetensors: truncated JSON", bytes: withHeader(String(header.prefix(n - 30)))),
            Case(name: "safetensors: garbage after JSON", bytes: withHeader(header + "x")),
            Case(
                name: "safetensors: overlapping tensors",
                bytes: tensors("\"a\":{\"data_offsets\":[0,9000]},\"b\":{\"data_offsets\":[8000,16000]}")),
            Case(
                name: "safetensors: hole",
                bytes: tensors("\"a\":{\"data_offsets\":[0,7000]},\"b\":{\"data_offsets\":[8000,16000]}")),
            Case(name: "safetensors: end before begin", bytes: tensors("\"a\":{\"data_offsets\":[16000,0]}")),
            Case(name: "safetensors: past the end", bytes: tensors("\"a\":{\"data_offsets\":[0,99999999]}")),
            Case(
                name: "safetensors: offset overflows 64 bits",
                bytes: tensors("\"a\":{\"data_offsets\":[0,99999999999999999999999]}")),
            Case(name: "safetensors: negative offset", bytes: tensors("\"a\":{\"data_offsets\":[-1,16000]}")),
            Case(
                name: "safetensors: fractional offset", bytes: tensors("\"a\":{\"data_offsets\":[0,16000.0]}")
            ),
            Case(name: "safetensors: missing offsets", bytes: tensors("\"a\":{\"dtype\":\"U8\"}")),
            Case(
                name: "safetensors: offsets twice",
                bytes: tensors("\"a\":{\"data_offsets\":[0,16000],\"data_offsets\":[0,16000]}")),
            Case(
                name: "safetensors: duplicate tensor",
                bytes: tensors(
                    "\"a\":{\"data_offsets\":[0,16000]},\"a\":{\"data_offsets\":[0,16000]}")),
            Case(
                name: "safetensors: deep nesting",
                bytes: tensors("\"__metadata__\":{\"x\":" + String(repeating: "[", count: 100_000) + "}")),
            Case(name: "safetensors: bad escape", bytes: tensors("\"a\\q\":{\"data_offsets\":[0,16000]}")),
            Case(
                name: "safetensors: lone surrogate",
                bytes: tensors("\"\\ud800\":{\"data_offsets\":[0,16000]}")),
            Case(
                name: "safetensors: metadata not an object",
                bytes: tensors("\"__metadata__\":[],\"a\":{\"data_offsets\":[0,16000]}")),
        ]
        // tar: members of 3000 bytes: header at 0, 3584, 7168, ...
        let tar = Fixture.tar(Fixture.members(count: 4, seed: 43, sizes: 3000...3000)).bytes
        let second = 512 + 3072
        func retar(_ b: [UInt8], at: Int) -> [UInt8] {  // recompute the checksum of the header at `at`
            var b = b
            for k in 148..<156 { b[at + k] = 0x20 }
            let sum = b[at..<at + 512].reduce(0) { $0 + Int($1) }
            let s = Array(String(sum, radix: 8).leftPadded(6).utf8) + [0, 0x20]
            return patch(b, at + 148, s)
        }
        func sized(_ value: [UInt8]) -> [UInt8] { retar(patch(tar, second + 124, value), at: second) }
        var pax = Fixture.tarHeader(name: "p", size: 20, type: UInt8(ascii: "x"))
        out += [
            Case(
                name: "tar: bad checksum on the second member",
                bytes: patch(tar, second + 148, Array("0000001".utf8))),
            Case(name: "tar: size past the end", bytes: sized(Array("77777777777".utf8))),
            Case(
                name: "tar: negative base-256 size",
                bytes: sized([0xFF] + [UInt8](repeating: 0xFF, count: 11))),
            Case(name: "tar: huge base-256 size", bytes: sized([0x80] + [UInt8](repeating: 0xFF, count: 11))),
            Case(name: "tar: bad octal digit", bytes: sized(Array("0000000009".utf8))),
            Case(name: "tar: partial trailing block", bytes: Array(tar.prefix(4 * 3584)) + [1, 2, 3]),
            Case(name: "tar: truncated member", bytes: Array(tar.prefix(3 * 3584 + 1024))),
            Case(
                name: "tar: no magic", bytes: retar(patch(tar, second + 257, Array("xstar".utf8)), at: second)
            ),
            Case(
                name: "tar: GNU sparse",
                bytes: retar(patch(tar, second + 156, [UInt8(ascii: "S")]), at: second)),
            Case(name: "tar: starts with a zero block", bytes: [UInt8](repeating: 0, count: 512) + tar),
        ]
        pax = Fixture.tarHeader(name: "p", size: 24, type: UInt8(ascii: "x"))
        let badRecord = Array("99 size=100\n".utf8) + [UInt8](repeating: 0x41, count: 12)
        let hugeSize = Array("30 size=99999999999999999\n".utf8)
        let sparse = Array("24 GNU.sparse.size=100\n".utf8)
        out += [
            Case(name: "tar: malformed pax record", bytes: pax + Fixture.padded(badRecord) + tar),
            Case(
                name: "tar: pax size past the end",
                bytes: Fixture.tarHeader(name: "p", size: UInt64(hugeSize.count), type: UInt8(ascii: "x"))
                    + Fixture.padded(hugeSize) + tar),
            Case(
                name: "tar: pax sparse",
                bytes: Fixture.tarHeader(name: "p", size: UInt64(sparse.count), type: UInt8(ascii: "x"))
                    + Fixture.padded(sparse) + tar),
            Case(
                name: "tar: pax header without a member",
                bytes: Array(tar.prefix(4 * 3584))
                    + Fixture.tarHeader(name: "p", size: 0, type: UInt8(ascii: "x"))
                    + [UInt8](repeating: 0, count: 1024)),
        ]
        return out
    }

    @Test("hostile container falls back to plain FastCDC", arguments: cases)
    func fallsBack(_ c: Case) throws {
        let reader = CheckingReader(c.bytes)
        let plan = try BoundaryPlanner.plan(reader, policy: .auto)
        #expect(plan == .plain)
        #expect(reader.outside == 0)
        #expect(try c.bytes.withUnsafeBytes { b throws(IngestError) in try BoundaryPlanner.plan(bytes: b, policy: .auto) } == plan)
        let got = try Ingest.bytes(c.bytes, formats: .auto)
        #expect(got == (try Ingest.serial(bytes: c.bytes)))
        #expect(got.format == nil)
    }

    @Test func unmodifiedFixturesAreAccepted() throws {
        // The table above is only meaningful if the unmodified containers are detected.
        let zip = Fixture.zip(Fixture.members(count: 5, seed: 40, sizes: 5000...5000)).bytes
        let z64 = Fixture.zip(Fixture.members(count: 3, seed: 41, sizes: 3000...3000), zip64: true).bytes
        let st = Fixture.safetensors(Fixture.members(count: 4, seed: 42, sizes: 4000...4000)).bytes
        let tar = Fixture.tar(Fixture.members(count: 4, seed: 43, sizes: 3000...3000)).bytes
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(zip), policy: .auto).format == .zip)
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(z64), policy: .auto).format == .zip)
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(st), policy: .auto).format == .safetensors)
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(tar), policy: .auto).format == .tar)
        let n = Int(st[0]) | Int(st[1]) << 8
        let json = Array("{\"a\":{\"data_offsets\":[0,16000]}}".utf8)
        let valid = Fixture.le(UInt64(json.count), 8) + json + Array(st.suffix(16_000))
        #expect(n > 0)
        #expect(try BoundaryPlanner.plan(MemoryRandomAccess(valid), policy: .auto).format == .safetensors)
    }

    /// The in-memory fast path (``BoundaryPlanner/plan(bytes:policy:)``) against the parsers on
    /// every input: the unmodified containers (found), each cut short or with its signature
    /// bytes changed, plain text and random bytes of every small size, and zip end records
    /// placed and commented every way the signature test looks at.
    @Test func theInMemoryPlanEqualsTheParsersPlan() throws {
        var inputs: [[UInt8]] = [
            Fixture.zip(Fixture.members(count: 5, seed: 40, sizes: 5000...5000)).bytes,
            Fixture.zip(Fixture.members(count: 3, seed: 41, sizes: 3000...3000), zip64: true).bytes,
            Fixture.zip(Fixture.members(count: 2, seed: 46, sizes: 100...900), comment: Array("note".utf8)).bytes,
            Fixture.safetensors(Fixture.members(count: 4, seed: 42, sizes: 4000...4000)).bytes,
            Fixture.tar(Fixture.members(count: 4, seed: 43, sizes: 3000...3000)).bytes,
            Fixture.tar(Fixture.members(count: 3, seed: 47, sizes: 0...700), paxEvery: 2).bytes,
        ]
        for b in inputs {
            for cut in [1, 9, 10, 21, 22, 23, 257, 262, 511, 512, 513, b.count / 2, b.count - 22, b.count - 1] where cut < b.count {
                inputs.append(Array(b.prefix(cut)))
                inputs.append(Array(b.suffix(cut)))
            }
            for at in [0, 1, 7, 8, 257, 261, b.count - 22, b.count - 19, b.count - 2, b.count - 1] where at >= 0 && at < b.count {
                var m = b
                m[at] ^= 0x20
                inputs.append(m)
            }
        }
        for n in [0, 1, 9, 10, 21, 22, 100, 511, 512, 513, 4096, 16_384, 70_000] {
            inputs.append(TestInput.text.bytes(seed: UInt64(n), count: n))
            inputs.append(TestInput.random.bytes(seed: UInt64(n), count: n))
        }
        // End records with a comment that ends the input, ends short of it, or runs past it.
        let eocd: [UInt8] = [0x50, 0x4B, 5, 6] + [UInt8](repeating: 0, count: 16)
        for comment in [0, 3, 40] {
            for lie in [-1, 0, 1] where comment + lie >= 0 {
                let body = TestInput.random.bytes(seed: 9, count: 300) + eocd + Fixture.le(UInt64(comment + lie), 2)
                inputs.append(body + [UInt8](repeating: 0x50, count: comment))
            }
        }
        var found = 0
        for (i, b) in inputs.enumerated() {
            for policy in [FormatPolicy.auto, .none, FormatPolicy(formats: [.safetensors]), FormatPolicy(formats: [.tar, .zip])] {
                let slow = try BoundaryPlanner.plan(MemoryRandomAccess(b), policy: policy)
                let fast = try b.withUnsafeBytes { m throws(IngestError) in try BoundaryPlanner.plan(bytes: m, policy: policy) }
                #expect(fast == slow, "input \(i) (\(b.count) bytes), policy \(policy)")
                if slow.format != nil { found += 1 }
            }
        }
        #expect(found >= 12)  // each unmodified container under at least two policies
    }

    /// Detection reads headers only: for a container of large members, far less than the input.
    @Test func detectionReadsLittle() throws {
        let zip = Fixture.zip(Fixture.members(count: 20, seed: 44, sizes: 200_000...400_000)).bytes
        let reader = CheckingReader(zip)
        #expect(try BoundaryPlanner.plan(reader, policy: FormatPolicy(parsing: "zip")).format == .zip)
        #expect(reader.bytesRequested < 200_000)
        let tar = Fixture.tar(Fixture.members(count: 20, seed: 45, sizes: 200_000...400_000)).bytes
        let tarReader = CheckingReader(tar)
        #expect(try BoundaryPlanner.plan(tarReader, policy: FormatPolicy(parsing: "tar")).format == .tar)
        #expect(tarReader.bytesRequested < 21 * (16 << 10))
    }
}

@Suite("Format-aware boundaries: mutated containers")
struct FormatsMutationTests {
    /// Deterministic random mutations (byte flips, small/large values written over header fields,
    /// truncations) of small valid containers: detection never reads outside the input, any plan
    /// it returns is sorted and inside the input, and the pipeline equals the reference.
    @Test(arguments: ["zip", "zip64", "safetensors", "tar"])
    func mutationsNeverBreakTheContract(_ kind: String) throws {
        let members = Fixture.members(count: 6, seed: 50, sizes: 0...3000)
        let base: [UInt8]
        switch kind {
        case "zip": base = Fixture.zip(members).bytes
        case "zip64": base = Fixture.zip(members, zip64: true).bytes
        case "safetensors": base = Fixture.safetensors(members).bytes
        default: base = Fixture.tar(members, paxEvery: 2).bytes
        }
        var g = SplitMix64(seed: 77)
        var detected = 0
        for round in 0..<400 {
            var b = base
            for _ in 0..<(1 + Int(g.next() % 3)) {
                let at = Int(g.next() % UInt64(b.count))
                switch g.next() % 4 {
                case 0: b[at] ^= UInt8(truncatingIfNeeded: g.next() | 1)
                case 1: for k in 0..<Swift.min(8, b.count - at) { b[at + k] = 0xFF }
                case 2:
                    for k in 0..<Swift.min(4, b.count - at) {
                        b[at + k] = UInt8(truncatingIfNeeded: g.next() % 3)
                    }
                default: b.removeLast(Int(g.next() % 64))
                }
            }
            let reader = CheckingReader(b)
            let plan = try BoundaryPlanner.plan(reader, policy: .auto)
            #expect(reader.outside == 0, "round \(round)")
            // The in-memory fast path skips only parsers that refuse at once: the same plan.
            for policy in [FormatPolicy.auto, FormatPolicy(formats: [.zip]), FormatPolicy(formats: [.tar])] {
                let slow = try BoundaryPlanner.plan(MemoryRandomAccess(b), policy: policy)
                let fast = try b.withUnsafeBytes { m throws(IngestError) in try BoundaryPlanner.plan(bytes: m, policy: policy) }
                #expect(fast == slow, "round \(round)")
            }
            #expect(zip(plan.cuts, plan.cuts.dropFirst()).allSatisfy { $0 < $1 })
            #expect(plan.cuts.allSatisfy { $0 > 0 && $0 < UInt64(b.count) })
            if plan.format != nil { detected += 1 }
            if round % 10 == 0 {
                let p = ChunkerParameters(min: 256, avg: 1024, max: 4096)
                let got = try Ingest.bytes(b, parameters: p, bufferSize: 4096, formats: .auto)
                #expect(got == (try Ingest.serial(bytes: b, parameters: p, formats: .auto)), "round \(round)")
            }
        }
        // Some mutations land in member data and leave the container valid.
        #expect(detected > 0)
    }
}
