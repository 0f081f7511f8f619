import Foundation
import Testing

@Suite("trove ls")
struct LsTests {
    @Test func listsVersionsUnderAPrefixComponentWise() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("f.bin", ClientE2E.random(seed: 41, count: 1000))
        for ref in ["models/churn:1", "models/churn:2", "models/other:1", "modelsx/y:1", "datasets/d:1"] {
            #expect(try server.trove(["push", f, ref]).status == 0)
        }
        let all = try server.trove(["ls"])
        #expect(all.status == 0, "\(all)")
        #expect(all.lines.count == 5, "\(all)")

        let models = try server.trove(["ls", "models"])
        let refs = Set(models.lines.map { String($0.split(separator: "\t")[0]) })
        #expect(refs == ["models/churn:1", "models/churn:2", "models/other:1"], "\(models)")

        let r = try server.trove(["ls", "models/churn", "--json"])
        #expect(r.status == 0)
        let list = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [[String: Any]])
        #expect(Set(list.compactMap { $0["version"] as? String }) == ["1", "2"])
        #expect(list.allSatisfy { ($0["tree"] as? String)?.hasPrefix("sha256:") == true })

        let none = try server.trove(["ls", "nothing"])
        #expect(none.status == 0)
        #expect(none.lines.isEmpty)
    }
}
