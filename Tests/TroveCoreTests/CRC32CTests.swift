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

/// The hardware path (when present) equals the table implementation at every length 0…300,
/// every start alignment 0…15, with incremental updates, and on a large buffer.
@Test func crc32cFastPathEqualsSoftware() {
    var rng = SplitMix64(seed: 42)
    let data = (0..<(1 << 20) + 64).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
    data.withUnsafeBytes { all in
        for start in 0..<16 {
            for length in 0...300 {
                let b = UnsafeRawBufferPointer(rebasing: all[start..<start + length])
                #expect(CRC32C.update(0, b) == CRC32C.software(0, b))
                #expect(CRC32C.update(0x1234_5678, b) == CRC32C.software(0x1234_5678, b))
            }
        }
        let big = UnsafeRawBufferPointer(rebasing: all[3..<(1 << 20) + 3])
        let whole = CRC32C.software(0, big)
        #expect(CRC32C.update(0, big) == whole)
        let a = CRC32C.update(0, UnsafeRawBufferPointer(rebasing: big[0..<100_001]))
        #expect(CRC32C.update(a, UnsafeRawBufferPointer(rebasing: big[100_001...])) == whole)
    }
}
