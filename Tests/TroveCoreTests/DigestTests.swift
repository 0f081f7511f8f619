import Testing

@testable import TroveCore

@Test func digestHexRoundTrip() {
    let d = SHA256.hash(Array("abc".utf8))
    #expect(d.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
    #expect(Digest(hex: d.hex) == d)
}

@Test func crc32cKnownValues() {
    // RFC 3720 B.4 test vectors and the standard check value.
    #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)
    #expect(CRC32C.checksum([UInt8](repeating: 0, count: 32)) == 0x8A91_36AA)
    #expect(CRC32C.checksum([UInt8](repeating: 0xFF, count: 32)) == 0x62A8_AB43)
    // Incremental equals one-shot at every split.
    let data = (0..<1000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ 7) }
    let whole = CRC32C.checksum(data)
    for split in [0, 1, 7, 8, 9, 500, 999, 1000] {
        let a = data[0..<split].withUnsafeBytes { CRC32C.update(0, $0) }
        let b = data[split...].withUnsafeBytes { CRC32C.update(a, $0) }
        #expect(b == whole)
    }
}

@Test func hmacSHA256MatchesRFC4231() {
    // RFC 4231 test case 2.
    let mac = HMACSHA256.mac(key: Array("Jefe".utf8), message: Array("what do ya want for nothing?".utf8))
    #expect(mac.hex == "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    #expect(HMACSHA256.equal(mac, mac))
    #expect(!HMACSHA256.equal(mac, SHA256.hash(Array("x".utf8))))
}
