import Testing
import TroveCore

@Suite("MD5 and SHA-1 (EVP)")
struct MessageDigestTests {
    func hex(_ b: [UInt8]) -> String { b.map { String(format: "%02x", $0) }.joined() }

    @Test("known answers (RFC 1321, FIPS 180)")
    func vectors() {
        #expect(hex(MessageDigest.hash(.md5, [UInt8]())) == "d41d8cd98f00b204e9800998ecf8427e")
        #expect(hex(MessageDigest.hash(.md5, Array("abc".utf8))) == "900150983cd24fb0d6963f7d28e17f72")
        #expect(hex(MessageDigest.hash(.sha1, Array("abc".utf8))) == "a9993e364706816aba3e25717850c26c9cd0d89d")
    }

    @Test("streaming in pieces equals one shot; finalize resets")
    func streaming() {
        var rng = SplitMix64(seed: 3)
        let data = (0..<100_000).map { _ in UInt8(truncatingIfNeeded: rng.next()) }
        let d = MessageDigest(.md5)
        var i = 0
        while i < data.count {
            let n = min(7919, data.count - i)
            d.update(data[i..<i + n])
            i += n
        }
        #expect(d.finalize() == MessageDigest.hash(.md5, data))
        #expect(d.finalize() == MessageDigest.hash(.md5, [UInt8]()))
    }
}
