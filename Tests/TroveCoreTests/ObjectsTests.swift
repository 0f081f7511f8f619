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

    /// `Tree.validate` as it was written first (strings, a set of paths, `split`): the reference
    /// the byte-slice version is held equal to.
    static func referenceValidate(_ entries: [TreeEntry]) throws(ObjectError) {
        var previous: [UInt8]? = nil
        var all = Set<String>()
        for e in entries {
            let bytes = Array(e.path.utf8)
            guard !bytes.isEmpty else { throw .unsafePath(path: e.path, reason: "empty path") }
            if bytes.contains(0) { throw .unsafePath(path: e.path, reason: "contains NUL") }
            if bytes.first == UInt8(ascii: "/") { throw .unsafePath(path: e.path, reason: "absolute path") }
            if bytes.last == UInt8(ascii: "/") { throw .unsafePath(path: e.path, reason: "trailing slash") }
            for comp in bytes.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false) {
                if comp.isEmpty { throw .unsafePath(path: e.path, reason: "empty component") }
                if comp.elementsEqual([46]) { throw .unsafePath(path: e.path, reason: "'.' component") }
                if comp.elementsEqual([46, 46]) { throw .unsafePath(path: e.path, reason: "'..' component") }
            }
            if let p = previous, !p.lexicographicallyPrecedes(bytes) { throw .unsorted(path: e.path) }
            previous = bytes
            try Tree.checkFields(e)
            all.insert(e.path)
        }
        for e in entries {
            var path = Substring(e.path)
            while let slash = path.lastIndex(of: "/") {
                path = path[..<slash]
                if all.contains(String(path)) {
                    throw .unsafePath(path: e.path, reason: "lies beneath the non-directory entry \"\(path)\"")
                }
            }
        }
    }

    @Test("validate equals the reference on random trees (sorted or not, hostile paths)")
    func treeValidateEqualsReference() {
        let parts = ["a", "b", "a-b", "a.b", "ab", "é", ".", "..", "", "x y", "a/b"]
        var state: UInt64 = 7
        func next(_ n: Int) -> Int {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Int(state >> 33) % n
        }
        var failures = 0
        for round in 0..<3000 {
            var entries: [TreeEntry] = []
            for _ in 0..<(1 + next(8)) {
                let path = (0...next(3)).map { _ in parts[next(parts.count)] }.joined(separator: "/")
                switch next(4) {
                case 0: entries.append(.directory(path))
                case 1: entries.append(.symlink(path, target: "t"))
                default: entries.append(.file(path, blob: d1, size: 1))
                }
            }
            let tree = next(3) == 0 ? Tree(sortedEntries: entries) : Tree(entries: entries)
            let got = Result { () throws(ObjectError) in try tree.validate() }
            let want = Result { () throws(ObjectError) in try Self.referenceValidate(tree.entries) }
            if "\(got)" != "\(want)" {
                failures += 1
                Issue.record("round \(round): \(tree.entries.map(\.path)): \(got) vs \(want)")
            }
            if failures > 5 { break }
        }
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
