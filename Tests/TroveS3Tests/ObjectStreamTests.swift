import Foundation
import NIOCore
import Testing
import TroveCore

@testable import TroveS3
@testable import TroveStore

/// GetObject's fast path (records visited in place, decoded straight into reused response
/// buffers, SHA-256 checked there, no CRC-32C) against the slow one (each chunk read alone by
/// `Store.readChunk`, which checks the CRC-32C and the SHA-256) and the bytes themselves.
@Suite("GetObject batches", .serialized)
struct ObjectStreamTests {
    /// About 10 MiB: incompressible runs (raw records) and text (zstd records), with one run
    /// repeated (the same chunks twice in the recipe).
    static func content() -> [UInt8] {
        var state: UInt64 = 41
        func next() -> UInt64 {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        var out: [UInt8] = []
        var repeated: [UInt8] = []
        for part in 0..<40 {
            var piece: [UInt8]
            if part % 2 == 0 {
                piece = (0..<(256 << 10) / 8).flatMap { _ in withUnsafeBytes(of: next()) { Array($0) } }
            } else {
                let words = ["tensor ", "weight ", "bias ", "layer\n", "epoch ", "0.125 "]
                piece = []
                while piece.count < 200 << 10 { piece += Array(words[Int(next() % 6)].utf8) }
            }
            if part == 4 { repeated = piece }
            out += piece
        }
        return out + repeated
    }

    /// A store in `root` holding ``content()`` as one blob: the store, the bytes, the recipe.
    static func fixture(_ root: String, direct: Bool, encrypted: Bool) throws -> (Store, [UInt8], Recipe) {
        var options = StoreOptions()
        options.directIO = direct
        if encrypted {
            options.encryption = StoreEncryption(key: try StoreKey(bytes: Array(repeating: 9, count: 32)))
        }
        let store = try Store.create(at: root, options: options)
        let data = content()
        let blob = try data.withUnsafeBytes { try store.ingestBlob(bytes: $0) }
        let recipe = try #require(try store.recipe(forBlob: blob.digest))
        return (store, data, recipe)
    }

    /// The bytes `start..<end` as GetObject sends them: every batch, in order.
    static func fast(_ store: Store, _ recipe: IndexedRecipe, _ start: UInt64, _ end: UInt64) throws
        -> [UInt8]
    {
        var out: [UInt8] = []
        for batch in ObjectStream.batches(recipe, start: start, end: end) {
            #expect(batch.reduce(0) { $0 + $1.to - $1.from } <= ObjectStream.batchBytes)
            let b = try ObjectStream.read(batch, from: store)
            out += b.readableBytesView
        }
        return out
    }

    /// The same bytes read chunk by chunk through `Store.readChunk`.
    static func slow(_ store: Store, _ recipe: Recipe, _ start: UInt64, _ end: UInt64) throws -> [UInt8] {
        var out: [UInt8] = []
        var offset: UInt64 = 0
        for c in recipe.chunks {
            let cEnd = offset + UInt64(c.length)
            defer { offset = cEnd }
            guard cEnd > start, offset < end else { continue }
            let raw = try store.readChunk(c.digest)
            out += raw[Int(max(start, offset) - offset)..<Int(min(end, cEnd) - offset)]
        }
        return out
    }

    @Test(arguments: [(true, false), (false, false), (true, true)])
    func rangesEqualTheSlowPath(direct: Bool, encrypted: Bool) throws {
        let root = NSTemporaryDirectory() + "trove-s3stream-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (store, data, recipe) = try Self.fixture(root, direct: direct, encrypted: encrypted)
        #expect(recipe.chunks.count > 100)
        let indexed = IndexedRecipe(recipe)
        let size = UInt64(data.count)
        let firstEnd = UInt64(recipe.chunks[0].length)
        let ranges: [(UInt64, UInt64)] = [
            (0, size), (0, 1), (size - 1, size), (firstEnd - 1, firstEnd + 1), (firstEnd, firstEnd + 8 << 20),
            (1_000_000, 2_000_000), (5 << 20, size),
            (123_457, 123_457 + UInt64(ObjectStream.batchBytes) + 99),
        ]
        for (start, end) in ranges {
            let got = try Self.fast(store, indexed, start, end)
            #expect(got == Array(data[Int(start)..<Int(end)]), "bytes \(start)..<\(end)")
            #expect(try Self.slow(store, recipe, start, end) == got, "bytes \(start)..<\(end)")
        }
    }

    @Test func theFirstChunkOfARangeIsFoundByBinarySearch() {
        let d = SHA256.hash([UInt8]([1]))
        let recipe = IndexedRecipe(
            Recipe(
                blobDigest: d, size: 60,
                chunks: [10, 20, 30].map { RecipeChunk(digest: d, length: UInt32($0)) }))
        #expect([0, 9, 10, 29, 30, 59, 60].map(recipe.firstChunk(endingAfter:)) == [0, 0, 1, 1, 2, 2, 3])
        let pieces = ObjectStream.batches(recipe, start: 15, end: 35).joined().map { [$0.from, $0.to] }
        #expect(pieces == [[5, 20], [0, 5]])
    }

    @Test(arguments: [true, false])
    func aDamagedRecordIsNeverServed(direct: Bool) throws {
        let root = NSTemporaryDirectory() + "trove-s3damage-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: root) }
        let (store, data, recipe) = try Self.fixture(root, direct: direct, encrypted: false)
        let indexed = IndexedRecipe(recipe)
        // A raw (incompressible) chunk in the first batch: one bit of its stored bytes flipped.
        var victim = 1
        while victim < 20, try store.locate(recipe.chunks[victim].digest)?.entry.codec != .raw { victim += 1 }
        try #require(victim < 20)
        let (pack, entry) = try #require(try store.locate(recipe.chunks[victim].digest))
        let path = store.packPath(try #require(store.state.withLock { $0.packNames[pack] }))
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        #expect(pread(fd, &byte, 1, off_t(entry.offset + PackFormat.recordHeaderSize + 1000)) == 1)
        byte ^= 0x04
        #expect(pwrite(fd, &byte, 1, off_t(entry.offset + PackFormat.recordHeaderSize + 1000)) == 1)
        close(fd)
        let size = UInt64(data.count)
        #expect(throws: StoreError.self) { try Self.fast(store, indexed, 0, size) }
        let victimStart = indexed.ends[victim - 1]
        #expect(throws: StoreError.self) { try Self.fast(store, indexed, victimStart + 5, victimStart + 6) }
        // A range that holds neither the damaged chunk nor its batch still reads.
        let later = UInt64(8 << 20)
        #expect(try Self.fast(store, indexed, later, size) == Array(data[Int(later)...]))
    }

    @Test func responseBuffersReuseTheirMemory() {
        let size = ResponseBuffers.blockSize
        var a: NIOCore.ByteBuffer? = ResponseBuffers.allocator.buffer(capacity: size)
        let first = a!.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) }
        let kept = ResponseBuffers.freeCount
        #expect(kept < ResponseBuffers.maxFree)
        a = nil
        #expect(ResponseBuffers.freeCount == kept + 1)
        let b = ResponseBuffers.allocator.buffer(capacity: size - 100)  // rounded up to the block size
        #expect(b.withVeryUnsafeBytes { UInt(bitPattern: $0.baseAddress) } == first)
        #expect(b.capacity == size)
        // Other sizes come from the C heap and still work.
        var small = ResponseBuffers.allocator.buffer(capacity: 100)
        small.writeBytes(Array(repeating: 7, count: 5000))
        #expect(small.readableBytesView.elementsEqual(repeatElement(7, count: 5000)))
    }
}
