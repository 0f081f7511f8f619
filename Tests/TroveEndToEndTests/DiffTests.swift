import Foundation
import Testing
import TroveClient
import TroveCore

@Suite("trove diff")
struct DiffTests {
    @Test func reportsAddedRemovedChangedWithSharedBytesAndTotals() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        var big = ClientE2E.random(seed: 901, count: 2_000_000)
        try dir.write("a/big.bin", big)
        try dir.write("a/same.txt", Array("same".utf8))
        try dir.write("a/gone.txt", Array("gone".utf8))
        try dir.write("a/grow.txt", Array("short".utf8))
        // B: big.bin edited in the middle (most chunks shared), gone removed, new added, grow grown.
        for i in 1_000_000..<1_000_100 { big[i] ^= 0xFF }
        try dir.write("b/big.bin", big)
        try dir.write("b/same.txt", Array("same".utf8))
        try dir.write("b/new.txt", Array("new!".utf8))
        try dir.write("b/grow.txt", Array("much longer".utf8))
        #expect(try server.trove(["push", dir.path + "/a", "d:1"]).status == 0)
        #expect(try server.trove(["push", dir.path + "/b", "d:2"]).status == 0)

        let (r, j) = try ClientE2E.json(server, ["diff", "d:1", "d:2"])
        #expect(r.status == 0, "\(r)")
        let totals = try #require(j["totals"] as? [String: Any])
        #expect(ClientE2E.int(totals["added"]) == 1)
        #expect(ClientE2E.int(totals["removed"]) == 1)
        #expect(ClientE2E.int(totals["changed"]) == 2)
        #expect(ClientE2E.int(totals["unchanged"]) == 1)
        #expect(ClientE2E.int(totals["bytesBefore"]) == 2_000_000 + 4 + 4 + 5)
        #expect(ClientE2E.int(totals["bytesAfter"]) == 2_000_000 + 4 + 4 + 11)
        let changed = try #require(j["changed"] as? [[String: Any]])
        #expect(changed.map { $0["path"] as? String } == ["big.bin", "grow.txt"])
        let shared = ClientE2E.int(changed[0]["sharedBytes"])
        #expect(shared > 1_500_000 && shared < 2_000_000, "shared \(shared)")
        #expect(ClientE2E.int(changed[0]["sizeChange"]) == 0)
        #expect(ClientE2E.int(changed[1]["sizeChange"]) == 6)
        #expect(ClientE2E.int(changed[1]["sharedBytes"]) == 0)
        #expect((j["added"] as? [[String: Any]])?.first?["path"] as? String == "new.txt")
        #expect((j["removed"] as? [[String: Any]])?.first?["path"] as? String == "gone.txt")

        let text = try server.trove(["diff", "d:1", "d:2"])
        #expect(text.lines.contains("A  new.txt  (4 bytes)"), "\(text)")
        #expect(text.lines.contains("D  gone.txt  (4 bytes)"), "\(text)")
        #expect(text.lines.contains("M  grow.txt  5 -> 11 bytes (+6), 0 bytes shared"), "\(text)")
        #expect(text.lines.last?.hasPrefix("1 added, 1 removed, 2 changed, 1 unchanged") == true, "\(text)")

        let same = try server.trove(["diff", "d:1", "d:1"])
        #expect(same.lines.last?.hasPrefix("0 added, 0 removed, 0 changed, 4 unchanged") == true, "\(same)")
        #expect(try server.trove(["diff", "d:1", "d:3"]).status == 3)
        #expect(try server.trove(["diff", "d:1", "d"]).status == 2)
    }

    /// The merge walk agrees with an obvious dictionary comparison on random trees.
    @Test func mergeWalkMatchesDictionaryComparison() throws {
        var rng = SplitMix64(seed: 42)
        for _ in 0..<50 {
            func randomTree() -> Tree {
                var entries: [String: TreeEntry] = [:]
                for _ in 0..<Int(rng.next() % 40) {
                    let path = "f\(rng.next() % 60)"
                    let blob = SHA256.hash(Array("blob\(rng.next() % 4)".utf8))
                    entries[path] = TreeEntry(
                        path: path, kind: .file, mode: rng.next() % 5 == 0 ? 0o755 : 0o644,
                        size: rng.next() % 3,
                        blob: blob, target: nil)
                }
                return Tree(entries: entries.values.sorted { $0.path < $1.path })
            }
            let a = randomTree()
            let b = randomTree()
            let d = try TreeDiff.compare(a, b) { (blobs: [Digest]) throws(ClientError) -> [Digest: Recipe] in
                [:]
            }
            let ma = Dictionary(uniqueKeysWithValues: a.entries.map { ($0.path, $0) })
            let mb = Dictionary(uniqueKeysWithValues: b.entries.map { ($0.path, $0) })
            #expect(Set(d.added.map(\.path)) == Set(mb.keys).subtracting(ma.keys))
            #expect(Set(d.removed.map(\.path)) == Set(ma.keys).subtracting(mb.keys))
            let both = Set(ma.keys).intersection(mb.keys)
            #expect(Set(d.unchanged.map(\.path)) == Set(both.filter { ma[$0] == mb[$0] }))
            #expect(Set(d.changed.map(\.path)) == Set(both.filter { ma[$0] != mb[$0] }))
        }
    }

    @Test func sharedBytesCountsChunksOfTheNewFileFoundInTheOld() {
        func c(_ s: String, _ n: UInt32) -> RecipeChunk {
            RecipeChunk(digest: SHA256.hash(Array(s.utf8)), length: n)
        }
        let old = Recipe(
            blobDigest: SHA256.hash([1]), size: 30, chunks: [c("x", 10), c("y", 10), c("z", 10)])
        let new = Recipe(
            blobDigest: SHA256.hash([2]), size: 35, chunks: [c("x", 10), c("w", 15), c("z", 10)])
        #expect(TreeDiff.sharedBytes(old, new) == 20)
        #expect(TreeDiff.sharedBytes(new, new) == 35)
    }

    @Test func comparesMetadataBeforeFilesAndAlone() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let f = try dir.write("m.bin", ClientE2E.random(seed: 931, count: 10_000))
        let m1 = try dir.write("m1.json", Array(#"{"auc": 0.912, "epochs": 12, "old": true, "git": "abc123"}"#.utf8))
        let m2 = try dir.write("m2.json", Array(#"{"auc": 0.931, "epochs": 15, "lr": 0.001, "git": "def456"}"#.utf8))
        #expect(try server.trove(["push", f, "m:1", "--meta-file", m1]).status == 0)
        #expect(try server.trove(["push", f, "m:2", "--meta-file", m2]).status == 0)

        let text = try server.trove(["diff", "m:1", "m:2"])
        #expect(text.status == 0, "\(text)")
        #expect(
            Array(text.lines.prefix(8)) == [
                "metadata", "A  lr = 0.001", "D  old = true", "M  auc 0.912 → 0.931 (+0.019, +2.1 %)",
                "M  epochs 12 → 15 (+3, +25.0 %)", "M  git abc123 → def456",
                "metadata: 1 added, 1 removed, 3 changed, 0 unchanged", "files",
            ], "\(text)")
        #expect(text.lines.last?.hasPrefix("0 added, 0 removed, 0 changed, 1 unchanged") == true, "\(text)")

        let only = try server.trove(["diff", "m:1", "m:2", "--meta-only"])
        #expect(only.status == 0 && only.lines.count == 7 && !only.stdout.contains("files"), "\(only)")

        let (r, j) = try ClientE2E.json(server, ["diff", "m:1", "m:2"])
        #expect(r.status == 0, "\(r)")
        let meta = try #require(j["metadata"] as? [String: Any])
        let changed = try #require(meta["changed"] as? [[String: Any]])
        #expect(changed.map { $0["key"] as? String } == ["auc", "epochs", "git"])
        #expect((changed[0]["before"] as? NSNumber)?.doubleValue == 0.912)
        #expect((changed[1]["delta"] as? NSNumber)?.intValue == 3)
        #expect(abs(((changed[0]["relative"] as? NSNumber)?.doubleValue ?? 0) - 0.019 / 0.912) < 1e-9)
        #expect((meta["added"] as? [[String: Any]])?.first?["key"] as? String == "lr")
        #expect(ClientE2E.int((j["totals"] as? [String: Any])?["unchanged"]) == 1)
        let (ro, jo) = try ClientE2E.json(server, ["diff", "m:1", "m:2", "--meta-only"])
        #expect(ro.status == 0 && jo["totals"] == nil && jo["metadata"] != nil, "\(ro)")
        #expect(try server.trove(["diff", "m:1", "m:9", "--meta-only"]).status == 3)
    }
}
