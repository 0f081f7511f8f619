import Testing

@testable import TroveCore

@Suite("TOML subset parser")
struct TOMLTests {
    @Test func parsesTheSubset() throws {
        let text = """
            # comment
            title = "Trove"   # trailing comment
            port = 7070
            neg = -1_000
            ratio = 0.75
            big = 1e3
            on = true
            off = false
            lit = 'C:\\path'
            esc = "a\\"b\\\\c\\n\\u00e9"
            list = ["a", 'b',
              "c",  # inside
            ]
            empty = []

            [server]
            listen = "127.0.0.1:7070"
            [server.limits]
            "max-frame" = 8388608
            """
        let t = try TOML.parse(text)
        #expect(t["title"] == .string("Trove"))
        #expect(t["port"] == .integer(7070))
        #expect(t["neg"] == .integer(-1000))
        #expect(t["ratio"] == .float(0.75))
        #expect(t["big"] == .float(1000))
        #expect(t["on"] == .bool(true) && t["off"] == .bool(false))
        #expect(t["lit"] == .string("C:\\path"))
        #expect(t["esc"] == .string("a\"b\\c\né"))
        #expect(t["list"] == .stringArray(["a", "b", "c"]))
        #expect(t["empty"] == .stringArray([]))
        #expect(t["server"]?["listen"]?.string == "127.0.0.1:7070")
        #expect(t["server"]?["limits"]?["max-frame"]?.integer == 8_388_608)
    }

    @Test func hostileInputGivesLineNumbers() {
        let cases: [(String, Int)] = [
            ("a = 1\na = 2", 2),
            ("[t]\n[t]", 2),
            ("x = \"unterminated", 1),
            ("\n\nx = 99999999999999999999", 3),
            ("x = 1 2", 1),
            ("x = [1, 2]", 1),
            ("x = { a = 1 }", 1),
            ("= 1", 1),
            ("x", 1),
            ("[a\nx=1", 1),
            ("x = tru", 1),
            ("x = 1__0", 1),
            ("x = 01", 1),
            ("x = \"\\q\"", 1),
            ("a = 1\n[a]", 2),
            ("x = \"ctl\u{1}\"", 1),
            ("x = nan", 1),
            ("x = [\"a\"", 1),
        ]
        for (text, line) in cases {
            #expect(throws: TOMLError.self, "\(text)") { try TOML.parse(text) }
            do {
                _ = try TOML.parse(text)
            } catch {
                #expect(error.line == line, "\(text): \(error)")
            }
        }
    }

    @Test func randomBytesNeverTrap() {
        var s: UInt64 = 7
        let alphabet = Array("ab=[]\"'#\n 1.e-_\\u{}tf,".utf8)
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int(s % 40) {
                s = s &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                bytes.append(alphabet[Int(s >> 33) % alphabet.count])
            }
            s = s &+ 1
            _ = try? TOML.parse(String(decoding: bytes, as: UTF8.self))
        }
    }
}
