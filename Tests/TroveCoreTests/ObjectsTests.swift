import Testing

@testable import TroveCore

@Suite("Objects: recipes and trees")
struct ObjectsTests {
    let d1 = SHA256.hash(Array("one".utf8))
    let d2 = SHA256.hash(Array("two".utf8))

    @Test func recipeRoundTripAndGoldenBytes() throws {
        let r = Recipe(
            blobDigest: d1, size: 5, chunks: [.init(digest: d2, length: 2), .init(digest: d1, length: 3)])
        let bytes = r.canonicalBytes
        #expect(bytes.count == Recipe.headerSize + 2 * 36)
        #expect(Array(bytes[0..<5]) == Array("TRCP".utf8) + [1])
        #expect(Array(bytes[37..<45]) == [0, 0, 0, 0, 0, 0, 0, 5])  // size, big-endian
        #expect(try Recipe(canonical: bytes) == r)
        #expect(r.objectDigest == SHA256.hash(bytes))
        let empty = Recipe(blobDigest: SHA256.hash([UInt8]()), size: 0, chunks: [])
        #expect(try Recipe(canonical: empty.canonicalBytes) == empty)
    }

    @Test func recipeDecoderRejectsHostileInput() throws {
        let r = Recipe(
            blobDigest: d1, size: 5, chunks: [.init(digest: d2, length: 2), .init(digest: d1, length: 3)])
        let good = r.canonicalBytes
        #expect(throws: ObjectError.self) { try Recipe(canonical: Array(good.dropLast())) }
        #expect(throws: ObjectError.trailingBytes(count: 1)) { try Recipe(canonical: good + [0]) }
        var badMagic = good
        badMagic[0] = 0
        #expect(throws: ObjectError.badHeader(expected: "recipe")) { try Recipe(canonical: badMagic) }
        var hugeCount = good
        hugeCount[45] = 0xFF  // count = 0xFF000002 with 72 bytes present
        #expect(throws: ObjectError.countTooLarge(field: "chunk count", declared: 0xFF00_0002, available: 72))
        {
            try Recipe(canonical: hugeCount)
        }
        var badSize = good
        badSize[44] = 6
        #expect(throws: ObjectError.sizeMismatch(declared: 6, sum: 5)) { try Recipe(canonical: badSize) }
        let zeroLen = Recipe(blobDigest: d1, size: 0, chunks: [.init(digest: d2, length: 0)]).canonicalBytes
        #expect(throws: ObjectError.self) { try Recipe(canonical: zeroLen) }
        for n in 0..<good.count {  // every truncation fails cleanly
            #expect(throws: ObjectError.self) { try Recipe(canonical: Array(good.prefix(n))) }
        }
    }

    func sampleTree() -> Tree {
        Tree(entries: [
            .file("b/x.bin", blob: d1, size: 10, mode: 0o755),
            .file("a.txt", blob: d2, size: 3),
            .symlink("link", target: "a.txt"),
            .directory("empty"),
            .file("b-c", blob: d1, size: 10),
        ])
    }

    @Test func treeSortsByPathBytesAndRoundTrips() throws {
        let t = sampleTree()
        #expect(t.entries.map(\.path) == ["a.txt", "b-c", "b/x.bin", "empty", "link"])
        try t.validate()
        let bytes = t.canonicalBytes
        #expect(try Tree(canonical: bytes) == t)
        #expect(t.objectDigest == SHA256.hash(bytes))
        #expect(t.totalSize == 23)
        #expect(try Tree(canonical: Tree(entries: []).canonicalBytes).entries.isEmpty)
    }

    @Test func treeDecoderRejectsUnsortedDuplicateAndUnsafe() throws {
        func encode(_ entries: [TreeEntry]) -> [UInt8] { Tree(sortedEntries: entries).canonicalBytes }
        let a = TreeEntry.file("a", blob: d1, size: 1)
        let b = TreeEntry.file("b", blob: d1, size: 1)
        #expect(throws: ObjectError.unsorted(path: "a")) { try Tree(canonical: encode([b, a])) }
        #expect(throws: ObjectError.unsorted(path: "a")) { try Tree(canonical: encode([a, a])) }
        for bad in ["/abs", "a/../b", "./a", "a//b", "a/", "", "a/.", "nul\u{0}x", ".."] {
            #expect(throws: ObjectError.self, "\(bad)") {
                try Tree(canonical: encode([.file(bad, blob: d1, size: 1)]))
            }
        }
        // Entries beneath a file or an explicit (empty) directory.
        #expect(throws: ObjectError.self) {
            try Tree(canonical: encode([a, .file("a/b", blob: d1, size: 1)]))
        }
        #expect(throws: ObjectError.self) {
            try Tree(canonical: encode([.directory("d"), .file("d/f", blob: d1, size: 1)]))
        }
        var badMode = a
        badMode.mode = 0o10000
        #expect(throws: ObjectError.self) { try Tree(canonical: encode([badMode])) }
        #expect(throws: ObjectError.self) { try Tree(canonical: encode([.symlink("l", target: "")])) }
    }

    @Test func treeDecoderSurvivesTruncationAndGarbage() throws {
        let good = sampleTree().canonicalBytes
        for n in 0..<good.count {
            #expect(throws: ObjectError.self) { try Tree(canonical: Array(good.prefix(n))) }
        }
        #expect(throws: ObjectError.trailingBytes(count: 2)) { try Tree(canonical: good + [1, 2]) }
        var huge = Array(good.prefix(9))
        huge[5] = 0x7F
        #expect(throws: ObjectError.self) { try Tree(canonical: huge) }
        // Random mutations never trap.
        var state: UInt64 = 42
        for _ in 0..<2000 {
            var m = good
            state = state &* 6_364_136_223_846_793_005 &+ 1
            m[Int(state >> 33) % m.count] ^= UInt8(truncatingIfNeeded: state >> 17) | 1
            if let t = try? Tree(canonical: m) { #expect(t.canonicalBytes == m) }  // canonical if accepted
        }
    }
}
