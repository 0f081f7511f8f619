@testable import TroveCore

/// Builders for small containers with known layouts (stored ZIP/ZIP64, safetensors, ustar/pax tar).
enum Fixture {
    static func le(_ v: UInt64, _ width: Int) -> [UInt8] {
        (0..<width).map { UInt8(truncatingIfNeeded: v >> (8 * $0)) }
    }

    struct Layout {
        var bytes: [UInt8]
        /// The forced cuts the format's parser should find.
        var cuts: [UInt64]
    }

    /// A ZIP with stored members; `zip64` writes ZIP64 end records and extra fields.
    static func zip(_ members: [(name: String, data: [UInt8])], zip64: Bool = false, comment: [UInt8] = [])
        -> Layout
    {
        var out: [UInt8] = []
        var cuts: [UInt64] = []
        var central: [UInt8] = []
        for m in members {
            let name = Array(m.name.utf8)
            let header = out.count
            out += le(0x0403_4b50, 4) + le(20, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
            out +=
                le(UInt64(m.data.count), 4) + le(UInt64(m.data.count), 4) + le(UInt64(name.count), 2)
                + le(0, 2)
            out += name
            cuts += [UInt64(header), UInt64(out.count)]
            out += m.data
            let big: UInt64 = 0xFFFF_FFFF
            let extra =
                zip64
                ? le(1, 2) + le(24, 2) + le(UInt64(m.data.count), 8) + le(UInt64(m.data.count), 8)
                    + le(UInt64(header), 8) : []
            central += le(0x0201_4b50, 4) + le(45, 2) + le(45, 2) + le(0, 2) + le(0, 2) + le(0, 4) + le(0, 4)
            central += le(zip64 ? big : UInt64(m.data.count), 4) + le(zip64 ? big : UInt64(m.data.count), 4)
            central += le(UInt64(name.count), 2) + le(UInt64(extra.count), 2) + le(0, 2) + le(0, 2) + le(0, 2)
            central += le(0, 4) + le(zip64 ? big : UInt64(header), 4) + name + extra
        }
        let cdOffset = out.count
        cuts.append(UInt64(cdOffset))
        out += central
        let n = UInt64(members.count)
        if zip64 {
            let z = out.count
            out +=
                le(0x0606_4b50, 4) + le(44, 8) + le(45, 2) + le(45, 2) + le(0, 4) + le(0, 4) + le(n, 8)
                + le(n, 8)
            out += le(UInt64(central.count), 8) + le(UInt64(cdOffset), 8)
            out += le(0x0706_4b50, 4) + le(0, 4) + le(UInt64(z), 8) + le(1, 4)
            out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(0xFFFF, 2) + le(0xFFFF, 2)
            out += le(0xFFFF_FFFF, 4) + le(0xFFFF_FFFF, 4) + le(UInt64(comment.count), 2) + comment
        } else {
            out += le(0x0605_4b50, 4) + le(0, 2) + le(0, 2) + le(n, 2) + le(n, 2)
            out +=
                le(UInt64(central.count), 4) + le(UInt64(cdOffset), 4) + le(UInt64(comment.count), 2)
                + comment
        }
        return Layout(bytes: out, cuts: cuts)
    }

    /// A safetensors file; tensors are laid out in the given order.
    static func safetensors(_ tensors: [(name: String, data: [UInt8])]) -> Layout {
        var json = "{\"__metadata__\":{\"format\":\"pt\",\"note\":[1,2.5e3,true,null,{\"a\":\"\\u00e9\"}]}"
        var offset = 0
        for t in tensors {
            json += ",\"\(t.name)\":{\"dtype\":\"U8\",\"shape\":[\(t.data.count)],"
            json += "\"data_offsets\":[\(offset),\(offset + t.data.count)]}"
            offset += t.data.count
        }
        json += "}"
        while (json.utf8.count + 8) % 8 != 0 { json += " " }
        var out = le(UInt64(json.utf8.count), 8) + Array(json.utf8)
        let start = UInt64(out.count)
        var cuts = [start]
        for t in tensors {
            cuts.append(UInt64(out.count))
            out += t.data
        }
        _ = start
        return Layout(bytes: out, cuts: cuts)
    }

    /// A ustar header block.
    static func tarHeader(name: String, size: UInt64, type: UInt8 = UInt8(ascii: "0")) -> [UInt8] {
        var h = [UInt8](repeating: 0, count: 512)
        func put(_ at: Int, _ s: String) { for (k, c) in s.utf8.enumerated() { h[at + k] = c } }
        put(0, name)
        put(100, "0000644")
        put(108, "0000000")
        put(116, "0000000")
        put(124, String(size, radix: 8).leftPadded(11))
        put(136, "00000000000")
        h[156] = type
        put(257, "ustar")
        put(263, "00")
        for k in 148..<156 { h[k] = 0x20 }
        let sum = h.reduce(0) { $0 + Int($1) }
        put(148, String(sum, radix: 8).leftPadded(6))
        h[154] = 0
        h[155] = 0x20
        return h
    }

    static func padded(_ data: [UInt8]) -> [UInt8] {
        data + [UInt8](repeating: 0, count: (512 - data.count % 512) % 512)
    }

    /// A tar archive; members with `pax` get a pax extended header (with a path record) first.
    static func tar(_ members: [(name: String, data: [UInt8])], paxEvery: Int = 0) -> Layout {
        var out: [UInt8] = []
        var cuts: [UInt64] = []
        for (i, m) in members.enumerated() {
            cuts.append(UInt64(out.count))
            if paxEvery > 0 && i % paxEvery == 0 {
                let record = paxRecord("path", "long/\(m.name)")
                out += tarHeader(name: "PaxHeader", size: UInt64(record.count), type: UInt8(ascii: "x"))
                out += padded(record)
            }
            out += tarHeader(name: m.name, size: UInt64(m.data.count))
            if !m.data.isEmpty { cuts.append(UInt64(out.count)) }
            out += padded(m.data)
        }
        cuts.append(UInt64(out.count))
        out += [UInt8](repeating: 0, count: 1024)
        return Layout(bytes: out, cuts: cuts)
    }

    static func paxRecord(_ key: String, _ value: String) -> [UInt8] {
        let body = " \(key)=\(value)\n"
        var n = body.utf8.count + 1
        while String(n).utf8.count + body.utf8.count != n { n += 1 }
        return Array("\(n)\(body)".utf8)
    }

    /// Members of deterministic random bytes with sizes in `sizes`.
    static func members(count: Int, seed: UInt64, sizes: ClosedRange<Int>) -> [(name: String, data: [UInt8])]
    {
        var g = SplitMix64(seed: seed)
        return (0..<count).map { i in
            let span = UInt64(sizes.upperBound - sizes.lowerBound + 1)
            let n = sizes.lowerBound + Int(g.next() % span)
            return ("m\(i).bin", SplitMix64.bytes(seed: seed &* 1000 &+ UInt64(i), count: n))
        }
    }
}

extension String {
    func leftPadded(_ width: Int) -> String {
        String(repeating: "0", count: Swift.max(0, width - count)) + self
    }
}

/// A reader that records every request and notes any that reaches outside the input.
final class CheckingReader: RandomAccessReader {
    let inner: MemoryRandomAccess
    var size: UInt64 { inner.size }
    private(set) var outside = 0
    private(set) var bytesRequested = 0
    private(set) var reads = 0

    init(_ bytes: [UInt8]) { inner = MemoryRandomAccess(bytes) }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int {
        reads += 1
        bytesRequested += buffer.count
        if offset > size || UInt64(buffer.count) > size - offset { outside += 1 }
        return try inner.read(at: offset, into: buffer)
    }
}

/// Bytes of `b`'s chunks whose digests do not occur in `a`.
func newBytes(_ a: IngestResult, _ b: IngestResult) -> Int {
    let seen = Set(a.chunks.map(\.digest))
    return b.chunks.filter { !seen.contains($0.digest) }.map(\.length).reduce(0, +)
}
