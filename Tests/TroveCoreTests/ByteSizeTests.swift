import Testing

@testable import TroveCore

@Suite("Byte sizes")
struct ByteSizeTests {
    @Test func parsesSuffixes() throws {
        let cases: [(String, Int)] = [
            ("0", 0), ("4096", 4096), ("16K", 16384), ("16k", 16384), ("64KiB", 65536), ("64KB", 65536),
            ("1M", 1 << 20), ("1MiB", 1 << 20), ("2G", 2 << 30), ("2GiB", 2 << 30), ("1T", 1 << 40),
            ("100B", 100), (" 8 K ", 8192),
        ]
        for (text, value) in cases { #expect(try ByteSize.parse(text) == value, "\(text)") }
    }

    @Test func refusesGarbage() {
        for text in [
            "", "K", "-1", "1.5M", "12Q", "1 2", "0x10", "99999999999999999999", "9000000000T", "16KiBB",
        ] {
            #expect(throws: ByteSize.ParseError(text: text)) { try ByteSize.parse(text) }
        }
        #expect(ByteSize.ParseError(text: "x").description.contains("16K"))
    }
}
