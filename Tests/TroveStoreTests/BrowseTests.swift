import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// The web view's names index against the slow way (distinct names of every listed version).
@Suite("Names index")
struct BrowseTests {
    @Test("names in pages equal the distinct names of the listing, for every prefix and page size")
    func namesMatchTheListing() throws {
        let root = tempStorePath("names")
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 3)
        let t = try storeFile(store, rng.bytes(100))
        let all = ["a", "a/b", "a/b/c", "a/b-c", "a/bc", "a-x", "a0", "b", "b/z", "gone"]
        for (i, name) in all.enumerated() {
            for v in 0...(i % 3) { _ = try store.createVersion(name: name, version: "v\(v)", tree: t, creator: "t") }
        }
        try store.retireVersion(name: "gone", version: "v0", actor: "t")
        try store.retireVersion(name: "b/z", version: "v0", actor: "t")
        for prefix in ["", "a", "a/b", "a/", "b", "c", "gone"] {
            let slow = try store.allVersions(VersionQuery(prefix: prefix))
            var counts: [String: Int] = [:]
            for v in slow { counts[v.name, default: 0] += 1 }
            for size in [1, 2, 3, 50] {
                var got: [NameSummary] = []
                var after: String? = nil
                while true {
                    let page = try store.names(prefix: prefix, after: after, limit: size)
                    got += page
                    guard page.count == size, let last = page.last else { break }
                    after = last.name
                }
                #expect(got.map(\.name) == counts.keys.sorted(), "prefix '\(prefix)', pages of \(size)")
                #expect(got.allSatisfy { counts[$0.name] == $0.versions && !$0.moreVersions })
                for s in got {
                    #expect(s.latest == slow.filter { $0.name == s.name }.map(\.created).max())
                }
            }
        }
    }
}
