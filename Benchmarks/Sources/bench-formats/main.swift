// bench-formats: format-aware chunk boundaries (docs/FORMATS.md).
//
//   bench-formats throughput DIR [--size BYTES] [--runs N]
//       Writes (once) DIR/random.bin, DIR/model.safetensors and DIR/archive.zip of about SIZE
//       bytes (default 1 GiB), then measures the full ingest pass (2 threads) with --formats
//       none and auto, interleaved, median of N (default 5), and detection alone.
//       Prints NAME<TAB>OFF_GBPS<TAB>ON_GBPS<TAB>ON/OFF<TAB>DETECT_MS.
//   bench-formats dedup
//       Version series in memory: a zip with 1 of 200 members changed, a safetensors file with 5 %
//       of tensors changed, a tar with 1 of 200 members changed. Prints, per series and policy, the
//       bytes of v2 not found in v1 and the mean chunk size.
import Foundation
import TroveCore

func fail(_ message: String) -> Never {
    FileHandle.standardError.write(Data("bench-formats: \(message)\n".utf8))
    exit(2)
}

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// CPU time of the whole process (all threads), in seconds.
func cpuTime() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

func median(_ values: [Double]) -> Double {
    let s = values.sorted()
    return s.count % 2 == 1 ? s[s.count / 2] : (s[s.count / 2 - 1] + s[s.count / 2]) / 2
}

func le(_ v: UInt64, _ width: Int) -> [UInt8] { (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) } }

/// Members: even ones random bytes, odd ones word text (compressible, like code and configs).
func members(count: Int, seed: UInt64, sizes: ClosedRange<Int>) -> [(name: String, data: [UInt8])] {
    var g = SplitMix64(seed: seed)
    return (0..<count).map { i in
        let n = sizes.lowerBound + Int(g.next() % UInt64(sizes.upperBound - sizes.lowerBound + 1))
        let kind: TestInput = i % 2 == 0 ? .random : .text
        return (
            String(format: "pkg/module_%04d.bin", i), kind.bytes(seed: seed &* 7919 &+ UInt64(i), count: n)
        )
    }
}

/// A stored (uncompressed) ZIP, as `zip -0` or Python's ZIP_STORED writes it.
func zipArchive(_ members: [(name: String, data: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    var central: [UInt8] = []
    for m in members {
        let name = Array(m.name.utf8)
        let header = out.count
        let crc = CRC32Plain.checksum(m.data)
        out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(crc), 4)
        out +=
            le(UInt64(m.data.count), 4) + le(UInt64(m.data.count), 4) + le(UInt64(name.count), 2) + le(0, 2)
        out += name + m.data
        central +=
            le(0x0201_4b50, 4) + le(20, 2) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(crc), 4)
        central += le(UInt64(m.data.count), 4) + le(UInt64(m.data.count), 4) + le(UInt64(name.count), 2)
        central += le(0, 2) + le(0, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(UInt64(header), 4) + name
    }
    let cd = out.count
    out += central
    let n = UInt64(members.count)
    out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(n, 2) + le(n, 2) + le(UInt64(central.count), 4)
    out += le(UInt64(cd), 4) + le(0, 2)
    return out
}

/// CRC-32 (IEEE) for ZIP headers, bit by bit (only used to write inputs).
enum CRC32Plain {
    static let table: [UInt32] = (0..<256).map { i in
        var c = UInt32(i)
        for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
        return c
    }
    static func checksum(_ data: [UInt8]) -> UInt32 {
        var c: UInt32 = 0xFFFF_FFFF
        for b in data { c = table[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
        return c ^ 0xFFFF_FFFF
    }
}

func safetensors(_ tensors: [(name: String, data: [UInt8])]) -> [UInt8] {
    var json = "{\"__metadata__\":{\"format\":\"pt\"}"
    var offset = 0
    for t in tensors {
        json += ",\"\(t.name)\":{\"dtype\":\"BF16\",\"shape\":[\(t.data.count / 2)],"
        json += "\"data_offsets\":[\(offset),\(offset + t.data.count)]}"
        offset += t.data.count
    }
    json += "}"
    while json.utf8.count % 8 != 0 { json += " " }
    var out = le(UInt64(json.utf8.count), 8) + Array(json.utf8)
    for t in tensors { out += t.data }
    return out
}

func tarHeader(name: String, size: Int) -> [UInt8] {
    var h = [UInt8](repeating: 0, count: 512)
    func put(_ at: Int, _ s: String) { for (k, c) in s.utf8.enumerated() { h[at + k] = c } }
    func octal(_ v: Int, _ w: Int) -> String {
        let s = String(v, radix: 8)
        return String(repeating: "0", count: max(0, w - s.count)) + s
    }
    put(0, name)
    put(100, "0000644")
    put(108, "0001750")
    put(116, "0001750")
    put(124, octal(size, 11))
    put(136, octal(1_700_000_000, 11))
    h[156] = UInt8(ascii: "0")
    put(257, "ustar")
    put(263, "00")
    for k in 148..<156 { h[k] = 0x20 }
    put(148, octal(h.reduce(0) { $0 + Int($1) }, 6))
    h[154] = 0
    return h
}

func tarArchive(_ members: [(name: String, data: [UInt8])]) -> [UInt8] {
    var out: [UInt8] = []
    for m in members {
        out += tarHeader(name: m.name, size: m.data.count) + m.data
        out += [UInt8](repeating: 0, count: (512 - m.data.count % 512) % 512)
    }
    out += [UInt8](repeating: 0, count: 1024)
    while out.count % 10240 != 0 { out.append(0) }
    return out
}

func write(_ bytes: [UInt8], to path: String) {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
        fail("cannot write \(path)")
    }
}

/// Bytes of `b` whose chunks are not in `a`, and the mean chunk size of `b`.
func dedup(_ a: [UInt8], _ b: [UInt8], _ p: ChunkerParameters, _ policy: FormatPolicy) throws -> (Int, Int) {
    let ra = try Ingest.bytes(a, parameters: p, formats: policy)
    let rb = try Ingest.bytes(b, parameters: p, formats: policy)
    let seen = Set(ra.chunks.map(\.digest))
    let fresh = rb.chunks.filter { !seen.contains($0.digest) }.map(\.length).reduce(0, +)
    return (fresh, b.count / max(1, rb.chunks.count))
}

func runDedup() throws {
    let p = ChunkerParameters.default
    let small = ChunkerParameters(min: 4 << 10, avg: 16 << 10, max: 64 << 10)
    print("series\tchanged_bytes\tpolicy\tparams\tnew_bytes\tnew/changed\tmean_chunk")
    func row(_ name: String, _ v1: [UInt8], _ v2: [UInt8], changed: Int) throws {
        for (policy, params, label) in [
            (FormatPolicy.auto, p, "16K/64K/256K"), (FormatPolicy.none, p, "16K/64K/256K"),
            (FormatPolicy.none, small, "4K/16K/64K"),
        ] {
            let (fresh, mean) = try dedup(v1, v2, params, policy)
            print(
                "\(name)\t\(changed)\t\(policy)\t\(label)\t\(fresh)\t"
                    + String(format: "%.2f", Double(fresh) / Double(changed)) + "\t\(mean)")
        }
    }
    // ZIP: 200 members of 2-200 KiB (about 20 MB), member 137 changed (new bytes, +3 KiB).
    var zm = members(count: 200, seed: 1, sizes: 2048...204_800)
    let zip1 = zipArchive(zm)
    zm[137].data = TestInput.random.bytes(seed: 424_242, count: zm[137].data.count + 3000)
    try row("zip 1/200 members", zip1, zipArchive(zm), changed: zm[137].data.count)
    // The same with small members only (wheel-like: 1-16 KiB).
    var wm = members(count: 200, seed: 2, sizes: 1024...16_384)
    let wheel1 = zipArchive(wm)
    wm[91].data = TestInput.text.bytes(seed: 4242, count: wm[91].data.count + 300)
    try row("zip 1/200 small members", wheel1, zipArchive(wm), changed: wm[91].data.count)
    // safetensors: 200 tensors of 64 KiB-2 MiB (about 200 MB), 10 (5 %) replaced, same shapes.
    var tm = members(count: 200, seed: 3, sizes: 65_536...2_097_152).map {
        (name: $0.name, data: TestInput.random.bytes(seed: UInt64($0.data.count), count: $0.data.count & ~1))
    }
    let st1 = safetensors(tm)
    var changed = 0
    for i in stride(from: 7, to: 200, by: 20) {
        tm[i].data = TestInput.random.bytes(seed: 900_000 + UInt64(i), count: tm[i].data.count)
        changed += tm[i].data.count
    }
    try row("safetensors 5% tensors", st1, safetensors(tm), changed: changed)
    // tar: 200 members of 2-200 KiB, member 50 changed.
    var am = members(count: 200, seed: 4, sizes: 2048...204_800)
    let tar1 = tarArchive(am)
    am[50].data = TestInput.random.bytes(seed: 5050, count: am[50].data.count - 1000)
    try row("tar 1/200 members", tar1, tarArchive(am), changed: am[50].data.count)
}

func runThroughput(dir: String, size: Int, runs: Int) throws {
    let fm = FileManager.default
    try fm.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let random = dir + "/random.bin"
    let model = dir + "/model.safetensors"
    let zip = dir + "/archive.zip"
    if !fm.fileExists(atPath: random) { write(TestInput.random.bytes(seed: 1, count: size), to: random) }
    if !fm.fileExists(atPath: model) {
        let n = 400
        let tensors = (0..<n).map { i in
            ("model.layers.\(i).weight", TestInput.random.bytes(seed: UInt64(i), count: size / n))
        }
        write(safetensors(tensors), to: model)
    }
    if !fm.fileExists(atPath: zip) {
        write(zipArchive(members(count: 4000, seed: 9, sizes: 1024...(2 * size / 4000 - 1024))), to: zip)
    }
    print("input\toff_GBps\ton_GBps\ton/off\tcpu_on/off\tdetect_ms\tchunks_off\tchunks_on\tformat")
    for path in [random, model, zip] {
        var off: [Double] = []
        var on: [Double] = []
        var detect: [Double] = []
        var cpuOff: [Double] = []
        var cpuOn: [Double] = []
        var chunksOff = 0
        var chunksOn = 0
        var format = "-"
        _ = try Ingest.file(at: path)  // warm the page cache
        for _ in 0..<runs {
            var t0 = now()
            var c0 = cpuTime()
            let a = try Ingest.file(at: path, threads: 2, formats: .none)
            off.append(Double(a.size) / (now() - t0) / 1e9)
            cpuOff.append(Double(a.size) / (cpuTime() - c0) / 1e9)
            t0 = now()
            c0 = cpuTime()
            let b = try Ingest.file(at: path, threads: 2, formats: .auto)
            on.append(Double(b.size) / (now() - t0) / 1e9)
            cpuOn.append(Double(b.size) / (cpuTime() - c0) / 1e9)
            let source = try FileByteSource(path: path)
            t0 = now()
            _ = try BoundaryPlanner.plan(
                FileRandomAccess(descriptor: source.descriptor, path: path), policy: .auto)
            detect.append((now() - t0) * 1000)
            chunksOff = a.chunks.count
            chunksOn = b.chunks.count
            format = b.format?.rawValue ?? "-"
            precondition(a.blobDigest == b.blobDigest)
        }
        let name = (path as NSString).lastPathComponent
        print(
            name
                + String(
                    format: "\t%.3f\t%.3f\t%.3f\t%.3f\t%.2f", median(off), median(on),
                    median(on) / median(off), median(cpuOn) / median(cpuOff), median(detect))
                + "\t\(chunksOff)\t\(chunksOn)\t\(format)")
        fflush(nil)
    }
}

let args = Array(CommandLine.arguments.dropFirst())
guard let command = args.first else {
    fail("usage: bench-formats throughput DIR [--size N] [--runs N] | dedup")
}
switch command {
case "dedup":
    try runDedup()
case "throughput":
    guard args.count >= 2 else { fail("usage: bench-formats throughput DIR [--size N] [--runs N]") }
    var size = 1 << 30
    var runs = 5
    var i = 2
    while i + 1 < args.count {
        switch args[i] {
        case "--size":
            guard let v = try? ByteSize.parse(args[i + 1]) else { fail("bad --size") }
            size = v
        case "--runs":
            guard let v = Int(args[i + 1]) else { fail("bad --runs") }
            runs = v
        default: fail("unknown option \(args[i])")
        }
        i += 2
    }
    try runThroughput(dir: args[1], size: size, runs: runs)
default:
    fail("unknown command \(command)")
}
