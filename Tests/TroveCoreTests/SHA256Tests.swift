import Testing

@testable import TroveCore

@Suite("SHA-256")
struct SHA256Tests {
    @Test func knownVectors() {
        #expect(
            SHA256.hash([UInt8]()).hex == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(
            SHA256.hash(Array("abc".utf8)).hex
                == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        let fips = Array("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq".utf8)
        #expect(SHA256.hash(fips).hex == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
        let million = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        #expect(
            SHA256.hash(million).hex == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
    }

    @Test func incrementalEqualsOneShotAndContextsAreReusable() {
        let data = TestInput.random.bytes(seed: 3, count: 200_000)
        let whole = SHA256.hash(data)
        let h = SHA256()
        for split in [0, 1, 63, 64, 65, 100_000, 200_000] {
            data[..<split].withUnsafeBytes { h.update($0) }
            data[split...].withUnsafeBytes { h.update($0) }
            #expect(h.finalize() == whole, "split \(split)")
        }
        // finalize resets: the same context then hashes something else correctly.
        #expect(data.withUnsafeBytes { h.hash($0) } == whole)
        #expect(h.hash(UnsafeRawBufferPointer(start: nil, count: 0)) == SHA256.hash([UInt8]()))
    }
}
