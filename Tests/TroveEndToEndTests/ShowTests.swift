import Foundation
import Testing

@Suite("trove show")
struct ShowTests {
    @Test func showsEntriesSizesAndDetails() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        try dir.write("src/a.bin", ClientE2E.random(seed: 51, count: 123_456))
        try dir.write("src/sub/b.txt", Array("bee".utf8))
        try FileManager.default.createSymbolicLink(
            atPath: dir.url.appendingPathComponent("src/link").path, withDestinationPath: "a.bin")
        let src = dir.url.appendingPathComponent("src").path
        #expect(try server.trove(["push", src, "s/x:1", "--message", "hello", "--meta", "k=v"]).status == 0)

        let text = try server.trove(["show", "s/x:1"])
        #expect(text.status == 0, "\(text)")
        #expect(text.stdout.contains("s/x:1"))
        #expect(text.stdout.contains("message  hello"))
        #expect(text.stdout.contains("k = v"))
        #expect(text.stdout.contains("123456  a.bin"))
        #expect(
            text.stdout.contains("link -> a.bin")
                || text.stdout.contains("link") && text.stdout.contains("-> a.bin"))

        let (r, j) = try ClientE2E.json(server, ["show", "s/x:1"])
        #expect(r.status == 0)
        #expect(ClientE2E.int(j["files"]) == 2)
        #expect(ClientE2E.int(j["totalSize"]) == 123_459)
        let entries = try #require(j["entries"] as? [[String: Any]])
        #expect(entries.map { $0["path"] as? String } == ["a.bin", "link", "sub/b.txt"])
        #expect(entries[1]["target"] as? String == "a.bin")
        #expect(ClientE2E.int(entries[0]["size"]) == 123_456)

        let missing = try server.trove(["show", "s/x:2"])
        #expect(missing.status == 3, "\(missing)")
    }
}
