import Testing

@testable import TroveCore

@Test func crc32cSoftwareKnownValues() {
    #expect([UInt8]("123456789".utf8).withUnsafeBytes { CRC32C.software(0, $0) } == 0xE306_9283)
    #expect([UInt8](repeating: 0, count: 32).withUnsafeBytes { CRC32C.software(0, $0) } == 0x8A91_36AA)
}

@Test func crc32cHardwarePathIsUsedWhereTheCPUHasIt() {
    #if arch(x86_64)
        // Every x86-64 CPU since 2008 has SSE4.2: the fast path must be the one in use.
        #expect(CRC32C.hardware)
    #endif
}

/// `fast` equals `software` at every length 0…300, every start alignment 0…15, with
/// incremental updates, and on a large buffer.
func expectFastPathEqualsSoftware(
    seed: UInt64, _ fast: (UInt32, UnsafeRawBufferPointer) -> UInt32,
    _ software: (UInt32, UnsafeRawBufferPointer) -> UInt32
) {
    var rng = SplitMix64(seed: seed)
    let data = (0..<(1 << 20) + 64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    data.withUnsafeBytes { all in
        for start in 0..<16 {
            for length in 0...300 {
                let b = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                #expect(fast(0, b) == software(0, b))
                #expect(fast(0x1234_5678, b) == software(0x1234_5678, b))
            }
        }
        // Around the lane blocks of the hardware path (3 × 256 and 3 × 8192 bytes), every start mod 8.
        for length in [767, 768, 769, 775, 776, 1535, 1536, 24_575, 24_576, 24_577, 24_584, 25_343, 25_344, 50_000] {
            for start in 0..<8 {
                let b = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                #expect(fast(0, b) == software(0, b), "length \(length) at \(start)")
                #expect(fast(0xFFFF_FFFF, b) == software(0xFFFF_FFFF, b), "length \(length) at \(start)")
            }
        }
        let big = UnsafeRawBufferPointer(rebasing: all[3..<(1 << 20) + 3])
        let whole = software(0, big)
        #expect(fast(0, big) == whole)
        let a = fast(0, UnsafeRawBufferPointer(rebasing: big[0..<100_001]))
        #expect(fast(a, UnsafeRawBufferPointer(rebasing: big[100_001...])) == whole)
    }
}

/// The hardware path (when present) equals the table implementation.
@Test func crc32cFastPathEqualsSoftware() {
    expectFastPathEqualsSoftware(seed: 42, CRC32C.update, CRC32C.software)
}

/// The copy with the CRC taken on the way gives the CRC `software` gives, and the bytes: every
/// length and alignment of the update test, source and destination misaligned differently.
@Test func crc32cCopyEqualsSoftwareAndCopies() {
    var destination = [UInt8](repeating: 0, count: (1 << 20) + 64)
    expectFastPathEqualsSoftware(seed: 43, { crc, source in
        destination.withUnsafeMutableBytes { all in
            let out = UnsafeMutableRawBufferPointer(rebasing: all[5..<5 + source.count])
            out.initializeMemory(as: UInt8.self, repeating: 0xA5)
            all[5 + source.count] = 0x5A
            let got = CRC32C.copy(crc, from: source, to: out)
            #expect(out.elementsEqual(source), "\(source.count) bytes copied")
            #expect(all[5 + source.count] == 0x5A, "nothing written past \(source.count) bytes")
            return got
        }
    }, CRC32C.software)
}

/// Combining the CRCs of two parts equals the CRC of the whole, at every split of short buffers
/// and on large ones.
@Test func crc32cCombineEqualsTheWhole() {
    var rng = SplitMix64(seed: 11)
    let data = (0..<300_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    data.withUnsafeBytes { all in
        let short = UnsafeRawBufferPointer(rebasing: all[0..<90])
        for cut in 0...90 {
            let a = UnsafeRawBufferPointer(rebasing: short[0..<cut])
            let b = UnsafeRawBufferPointer(rebasing: short[cut...])
            #expect(CRC32C.combine(CRC32C.software(0, a), CRC32C.software(0, b), lengthB: b.count) == CRC32C.software(0, short))
        }
        for (cut, end) in [(1, 300_000), (65_536, 300_000), (123_457, 299_999), (299_999, 300_000)] {
            let whole = UnsafeRawBufferPointer(rebasing: all[0..<end])
            let b = UnsafeRawBufferPointer(rebasing: all[cut..<end])
            let combined = CRC32C.combine(CRC32C.update(0, UnsafeRawBufferPointer(rebasing: all[0..<cut])), CRC32C.update(0, b), lengthB: b.count)
            #expect(combined == CRC32C.software(0, whole), "cut \(cut)")
        }
    }
}

@Test func crc32KnownValues() {
    #expect([UInt8]("123456789".utf8).withUnsafeBytes { CRC32.software(0, $0) } == 0xCBF4_3926)
    #expect([UInt8]("123456789".utf8).withUnsafeBytes { CRC32.update(0, $0) } == 0xCBF4_3926)
    #if arch(x86_64)
        // PCLMULQDQ is on every x86-64 CPU since 2010: the fast path must be the one in use.
        #expect(CRC32.accelerated)
    #endif
}

/// The folding path equals the table implementation.
@Test func crc32FastPathEqualsSoftware() {
    expectFastPathEqualsSoftware(seed: 7, CRC32.update, CRC32.software)
}
