import Foundation
import Testing
import TroveCore

@Suite("trove cat")
struct CatTests {
    @Test func wholeFileAndRangesMatchTheSource() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 31, count: 2_500_000)
        try dir.write("src/big.bin", data)
        try dir.write("src/small.txt", Array("hello, trove\n".utf8))
        #expect(try server.trove(["push", dir.url.appendingPathComponent("src").path, "c:1"]).status == 0)

        let whole = try server.trove(["cat", "c:1", "big.bin"])
        #expect(whole.status == 0, "\(whole.stderr)")
        #expect([UInt8](whole.stdoutData) == data)
        #expect(try server.trove(["cat", "c:1", "small.txt"]).stdout == "hello, trove\n")

        // Inclusive START-END, chunk-crossing ranges, single bytes, START- to the end, END clipped.
        let cases: [(String, Range<Int>)] = [
            ("0-0", 0..<1), ("0-1023", 0..<1024), ("65530-200000", 65530..<200_001),
            ("1000000-1999999", 1_000_000..<2_000_000), ("2499999-2499999", 2_499_999..<2_500_000),
            ("2400000-", 2_400_000..<2_500_000), ("2000000-9999999", 2_000_000..<2_500_000),
        ]
        for (text, expected) in cases {
            let r = try server.trove(["cat", "c:1", "big.bin", "--range", text])
            #expect(r.status == 0, "\(text): \(r.stderr)")
            #expect([UInt8](r.stdoutData) == Array(data[expected]), "range \(text)")
        }

        let past = try server.trove(["cat", "c:1", "big.bin", "--range", "2500000-"])
        #expect(past.status == 2, "\(past)")
        let malformed = try server.trove(["cat", "c:1", "big.bin", "--range", "10-5"])
        #expect(malformed.status == 2, "\(malformed)")
        let ambiguous = try server.trove(["cat", "c:1"])
        #expect(ambiguous.status == 2, "\(ambiguous)")
        let missing = try server.trove(["cat", "c:1", "nope.bin"])
        #expect(missing.status == 3, "\(missing)")
    }

    @Test func singleFileVersionNeedsNoPath() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 32, count: 300_000)
        let path = try dir.write("only.bin", data)
        #expect(try server.trove(["push", path, "one:1"]).status == 0)
        let r = try server.trove(["cat", "one:1"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect([UInt8](r.stdoutData) == data)
        let tail = try server.trove(["cat", "one:1", "--range", "299990-"])
        #expect([UInt8](tail.stdoutData) == Array(data[299_990...]))
    }
}
