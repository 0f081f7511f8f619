import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// The pack scanners on damaged packs of every version (the fuzz target's oracle, PackFuzzing,
/// run on seeded mutations here so that CI holds it).
@Suite("Pack scanners on damaged packs")
struct PackFuzzingTests {
    @Test("well-formed packs of versions 1-4 read the same both ways", arguments: 1...4)
    func wellFormed(_ version: Int) throws {
        let bytes = PackFuzzing.pack(version: version, segments: 4)
        #expect(PackFuzzing.check(bytes, encrypted: version % 2 == 0) == nil)
        // Both scanners accept it whole (check compares them only then).
        let path = tempStorePath("packfuzz") + ".pack"
        try FileIO.writeDurably(bytes, to: path, tmpDir: FileIO.parent(of: path), syncDirectory: false)
        defer { cleanup(path) }
        let fd = try FileIO.open(path, O_RDONLY)
        defer { close(fd) }
        let seal = version % 2 == 0 ? AtRestFuzzing.pack : nil
        let slow = try PackScanner.scanForward(fd, path, seal: seal)
        #expect(slow.problem == nil && slow.validEnd == bytes.count)
        #expect(slow.entries.count == 1 + 2 + 3 + 1)
        #expect(try PackScanner.readTrailers(fd, path, size: bytes.count, seal: seal) == slow.entries)
        #expect(PackFormat.isAligned(Array(bytes[0..<16])) == (version >= 3))
    }

    @Test("random damage never breaks the scanners' invariants", arguments: 1...4)
    func randomDamage(_ version: Int) {
        let good = PackFuzzing.pack(version: version)
        var rng = SplitMix64(seed: UInt64(40 + version))
        for round in 0..<300 {
            var bytes = good
            for _ in 0..<Int.random(in: 1...3, using: &rng) {
                switch Int.random(in: 0..<4, using: &rng) {
                case 0: bytes[Int.random(in: 0..<bytes.count, using: &rng)] ^= UInt8.random(in: 1...255, using: &rng)
                case 1: bytes.removeLast(Int.random(in: 0..<min(bytes.count, 5000), using: &rng))
                case 2:
                    // A length, offset or count field blown up to its maximum.
                    let at = Int.random(in: 0..<max(1, bytes.count - 8), using: &rng)
                    for i in at..<min(bytes.count, at + Int.random(in: 4...8, using: &rng)) { bytes[i] = 0xFF }
                default:
                    let from = Int.random(in: 0..<bytes.count, using: &rng)
                    bytes += bytes[from...]
                }
                if bytes.isEmpty { break }
            }
            let broken = PackFuzzing.check(bytes, encrypted: version % 2 == 0)
            #expect(broken == nil, "version \(version) round \(round): \(broken ?? "")")
        }
    }

    @Test("a footer or trailer entry pointing at the end of the address space is refused, not a trap")
    func hugeOffsets() {
        for version in 1...4 {
            var bytes = PackFuzzing.pack(version: version, segments: 1)
            // The last footer's trailer offset (its first 8 bytes) = UInt64.max.
            for i in (bytes.count - 16)..<(bytes.count - 8) { bytes[i] = 0xFF }
            #expect(PackFuzzing.check(bytes, encrypted: version % 2 == 0) == nil)
            // The (only) trailer entry's offset = UInt64.max, under a trailer hash that matches.
            var entry = PackFuzzing.pack(version: version, segments: 1)
            let hashed = 8 + PackFormat.trailerEntrySize
            let t = entry.count - PackFormat.trailerSize(count: 1)
            for i in (t + 8 + 32)..<(t + 8 + 40) { entry[i] = 0xFF }
            entry.replaceSubrange((t + hashed)..<(t + hashed + 32), with: SHA256.hash(entry[t..<(t + hashed)]).bytes)
            #expect(PackFuzzing.check(entry, encrypted: version % 2 == 0) == nil)
        }
    }
}
