import Testing
@testable import TroveCore
@Test func digestHexRoundTrip() { let d = SHA256.hash(Array("abc".utf8)); #expect(d.hex == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"); #expect(Digest(hex: d.hex) == d) }
