import CTroveSHA256
import Testing

@testable import TroveCore

/// The interleaved SHA-NI streams (CTroveSHA256) and their OpenSSL fallback against OpenSSL's
/// SHA-256, at every length around the block size, every split and pairing of two streams.
@Suite("SHA-256, two streams")
struct SHA256PairTests {
    static let data = TestInput.random.bytes(seed: 11, count: 300_000)

    @Test(arguments: [true, false])
    func streamsEqualOpenSSLAtEveryLengthAndSplit(interleaved: Bool) {
        // The SHA-NI path needs the CPU extension; without it `interleaved` runs the portable
        // C code, which must agree too.
        let a = SHA256Stream(interleaved: interleaved)
        let b = SHA256Stream(interleaved: interleaved)
        let d = Self.data
        for length in 0...300 {
            let splits = Set([0, 1, length / 3, 63, 64, 65, length].filter { $0 <= length })
            for split in splits {
                // a: bytes [3, 3+length) in two updates, fed alongside b's [500, 500+2·length).
                d.withUnsafeBytes { raw in
                    let x = UnsafeRawBufferPointer(rebasing: raw[3..<3 + split])
                    let y = UnsafeRawBufferPointer(rebasing: raw[3 + split..<3 + length])
                    let p = UnsafeRawBufferPointer(rebasing: raw[500..<500 + length])
                    let q = UnsafeRawBufferPointer(rebasing: raw[500 + length..<500 + 2 * length])
                    a.update(x, b, p)
                    a.update(y, b, q)
                }
                #expect(a.finalize() == SHA256.hash(d[3..<3 + length]), "length \(length) split \(split)")
                #expect(b.finalize() == SHA256.hash(d[500..<500 + 2 * length]), "length \(length) split \(split)")
            }
        }
    }

    @Test(arguments: [true, false])
    func chunkDigestsFusedWithTheBlobDigest(interleaved: Bool) {
        let pair = SHA256Pair(interleaved: interleaved)
        var offset = 0
        var lengths = [0, 1, 63, 64, 65, 127, 4096, 65_537]
        var g = SplitMix64(seed: 4)
        while lengths.reduce(0, +) < 250_000 { lengths.append(Int(g.next() % 20_000)) }
        for n in lengths {
            let chunk = Self.data[offset..<offset + n]
            let digest = chunk.withUnsafeBytes { pair.digestAndAppend($0) }
            #expect(digest == SHA256.hash(chunk), "chunk at \(offset), \(n) bytes")
            offset += n
        }
        Self.data[offset...].withUnsafeBytes { pair.append($0) }
        #expect(pair.finalizeRunning() == SHA256.hash(Self.data))
        // Two independent buffers at once; the running digest starts over empty.
        let (x, y) = Self.data[..<1000].withUnsafeBytes { a in
            Self.data[7..<200_007].withUnsafeBytes { b in pair.hash(a, b) }
        }
        #expect(x == SHA256.hash(Self.data[..<1000]))
        #expect(y == SHA256.hash(Self.data[7..<200_007]))
        #expect(pair.finalizeRunning() == SHA256.hash([UInt8]()))
    }

    @Test func knownVectorsThroughTheStream() {
        let s = SHA256Stream()
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        million.withUnsafeBytes { s.update($0) }
        #expect(s.finalize().hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        let fips = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        fips.withUnsafeBytes { s.update($0) }
        #expect(s.finalize().hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }
}

extension SHA256PairTests {
    /// The fallback for CPUs without the SHA extensions.
    @Test func portableCompressionEqualsOpenSSL() {
        for length in Array(0...200) + [1000, 4095, 65_536, 100_003] {
            var out = [UInt8](repeating: 0, count: 32)
            Self.data.withUnsafeBytes { raw in trove_sha256_portable(raw.baseAddress, length, &out) }
            #expect(Digest(bytes: out) == SHA256.hash(Self.data[..<length]), "length \(length)")
        }
    }
}

extension SHA256PairTests {
    /// Two lanes over many buffers: every count up to 9 and long runs of random lengths (zero,
    /// around the block size, far longer than the others), each digest against OpenSSL's.
    @Test(arguments: [true, false])
    func digestsOfManyBuffersOnTwoLanes(interleaved: Bool) {
        let pair = SHA256Pair(interleaved: interleaved)
        var g = SplitMix64(seed: 12)
        var cases: [[Int]] = (0...9).map { n in (0..<n).map { _ in Int(g.next() % 3000) } }
        cases.append([0, 0, 0])
        cases.append([0, 1, 63, 64, 65, 0, 127, 128, 129, 0])
        cases.append([120_000, 1, 2, 3, 64, 5000, 0, 70_000])
        cases.append((0..<200).map { _ in Int(g.next() % 2 == 0 ? g.next() % 100 : g.next() % 5000) })
        // Equal lengths (ties in the longest-first order), and more buffers than are sorted (256).
        cases.append(Array(repeating: 4096, count: 7) + [4095, 4097, 0, 4096])
        cases.append((0..<300).map { _ in Int(g.next() % 3000) })
        for lengths in cases {
            var ranges: [Range<Int>] = []
            for n in lengths {
                let start = Int(g.next() % UInt64(Self.data.count - n + 1))
                ranges.append(start..<start + n)
            }
            let got = Self.data.withUnsafeBytes { raw in
                pair.digests(of: ranges.map { UnsafeRawBufferPointer(rebasing: raw[$0]) })
            }
            #expect(got == ranges.map { SHA256.hash(Self.data[$0]) }, "lengths \(lengths)")
            // With each buffer's CRC-32C taken in the same pass: the same digests, and the CRCs of
            // the table-free reference.
            var crcs = [UInt32](repeating: 0xDEAD_BEEF, count: ranges.count)
            let withCRCs = Self.data.withUnsafeBytes { raw in
                crcs.withUnsafeMutableBufferPointer { c in
                    pair.digests(of: ranges.map { UnsafeRawBufferPointer(rebasing: raw[$0]) }, crcs: c.baseAddress!)
                }
            }
            #expect(withCRCs == got, "lengths \(lengths)")
            #expect(crcs == ranges.map { Self.bitwiseCRC32C(Self.data[$0]) }, "lengths \(lengths)")
        }
    }

    /// CRC-32C one bit at a time (nothing shared with the code under test).
    static func bitwiseCRC32C(_ bytes: ArraySlice<UInt8>) -> UInt32 {
        var r: UInt32 = 0xFFFF_FFFF
        for b in bytes {
            r ^= UInt32(b)
            for _ in 0..<8 { r = (r >> 1) ^ (0x82F6_3B78 & (0 &- (r & 1))) }
        }
        return ~r
    }
}

extension SHA256PairTests {
    /// The sixteen AVX-512 lanes (`trove_sha256_many_lanes(16, …)`, whatever the count) and the
    /// default choice against OpenSSL and the bitwise CRC-32C: few buffers (most lanes idle), many
    /// (lanes refilled as they free), lengths around the block size and far apart.
    @Test(
        .enabled(if: trove_sha256_sixteen_lanes_available() != 0, "the CPU has no AVX-512"),
        arguments: [16, 0, 2])
    func digestsOfManyBuffersOnSixteenLanes(lanes: Int32) {
        var g = SplitMix64(seed: 16)
        var cases: [[Int]] = (0...20).map { n in (0..<n).map { _ in Int(g.next() % 3000) } }
        cases.append([0, 1, 63, 64, 65, 0, 127, 128, 129, 0, 191, 192, 193, 255, 256, 257, 1, 0])
        cases.append([120_000, 1, 2, 3, 64, 5000, 0, 70_000] + Array(repeating: 65, count: 17))
        cases.append((0..<200).map { _ in Int(g.next() % 2 == 0 ? g.next() % 100 : g.next() % 90_000) })
        cases.append(Array(repeating: 4096, count: 33))
        cases.append((0..<300).map { _ in Int(g.next() % 3000) })
        for lengths in cases {
            let ranges = lengths.map { n in
                let start = Int(g.next() % UInt64(Self.data.count - n + 1))
                return start..<start + n
            }
            for withCRCs in [false, true] {
                var out = [UInt8](repeating: 0, count: 32 * ranges.count)
                var crcs = [UInt32](repeating: 0xDEAD_BEEF, count: ranges.count)
                Self.data.withUnsafeBytes { raw in
                    let starts: [UnsafeRawPointer?] = ranges.map { UnsafeRawPointer(raw.baseAddress! + $0.lowerBound) }
                    let counts = ranges.map(\.count)
                    crcs.withUnsafeMutableBufferPointer { c in
                        trove_sha256_many_lanes(
                            lanes, ranges.count, starts, counts, &out, withCRCs ? c.baseAddress : nil)
                    }
                }
                let got = (0..<ranges.count).map { i in Digest(bytes: Array(out[32 * i..<32 * i + 32])) }
                #expect(got == ranges.map { SHA256.hash(Self.data[$0]) }, "lanes \(lanes) lengths \(lengths)")
                if withCRCs {
                    #expect(crcs == ranges.map { Self.bitwiseCRC32C(Self.data[$0]) }, "lanes \(lanes) lengths \(lengths)")
                }
            }
        }
    }
}
