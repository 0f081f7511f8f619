import Foundation
import Testing
import TroveCore

@testable import TroveStore

/// Objects written in one call (all temporaries first, then the fsyncs, renames and directory
/// fsyncs) read back the same, leave no temporaries, and survive reopening the store.
@Suite("Object durability paths")
struct ObjectDurabilityTests {
    @Test(arguments: [1, 3, 200])
    func objectsReadBackAfterEitherPath(count: Int) throws {
        let root = tempStorePath("objects")
        defer { cleanup(root) }
        var rng = TestRandom(seed: UInt64(count))
        let objects = (0..<count).map { i in rng.text(100 + i * 7) }
        do {
            let store = try createStore(at: root)
            // Half of them first, then all: the second call skips what is already there.
            let firstHalf = try store.storeObjects(canonical: Array(objects[0..<(count / 2)])).digests
            let digests = try store.storeObjects(canonical: objects).digests
            #expect(Array(digests[0..<(count / 2)]) == firstHalf)
            for (d, bytes) in zip(digests, objects) { #expect(try store.readObject(d) == bytes) }
            let leftovers = try FileManager.default.contentsOfDirectory(atPath: store.tmpDir)
                .filter { $0.hasSuffix(".tmp") }
            #expect(leftovers.isEmpty, "temporaries left: \(leftovers.prefix(3))")
        }
        let reopened = try openStore(at: root)
        for bytes in objects { #expect(try reopened.readObject(SHA256.hash(bytes)) == bytes) }
    }
}
