import Foundation
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// Pack format version 2 (segments end page-aligned, written with direct I/O) and the reading
/// of version 1 packs written before it.
@Suite("Pack format")
struct PackFormatTests {
    /// The only pack file of `store`, with its bytes.
    func onlyPack(_ store: Store) throws -> (path: String, bytes: [UInt8]) {
        let names = store.state.withLock { Array($0.packNames.values) }
        #expect(names.count == 1)
        let path = store.packPath(try #require(names.first))
        return (path, [UInt8](try #require(FileManager.default.contents(atPath: path))))
    }

    /// Batches of chunks of many sizes (some tiny: the pad's short cases), one segment each.
    func batches(seed: UInt64) -> [[ChunkInput]] {
        var rng = TestRandom(seed: seed)
        return (0..<12).map { b in
            (0..<(1 + b % 4)).map { i in
                let n = 1 + Int(rng.next() % UInt64(b % 3 == 0 ? 300 : 20_000)) + i
                return chunkInput(i % 2 == 0 ? rng.bytes(n) : rng.text(n))
            }
        }
    }

    @Test func segmentsEndOnPageBoundariesAndBothReadersAgree() throws {
        let root = tempStorePath("packv2")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        let all = batches(seed: 31)
        for b in all { _ = try store.putChunks(b) }
        let (path, bytes) = try onlyPack(store)
        #expect(Array(bytes[0..<16]) == PackFormat.header(keyTag: nil))
        #expect(PackFormat.isAligned(Array(bytes[0..<16])))
        #expect(bytes.count % PackFormat.alignment == 0)
        let fd = open(path, O_RDONLY)
        defer { close(fd) }
        let fast = try PackScanner.readTrailers(fd, path, size: bytes.count)
        let slow = try PackScanner.scanForward(fd, path)
        #expect(fast.count == all.joined().count)
        #expect(fast == slow.entries)
        #expect(slow.validEnd == bytes.count && slow.problem == nil)
        // Every footer ends on a page boundary: walk them back from the end.
        var end = bytes.count
        var remaining = fast
        var segments = 0
        while end > PackFormat.headerSize {
            #expect(end % PackFormat.alignment == 0)
            let count = bytes.withUnsafeBytes { Int($0.beU32(end - 8)) }
            end = try #require(remaining.suffix(count).first).offset
            remaining.removeLast(count)
            segments += 1
        }
        #expect(end == PackFormat.headerSize && remaining.isEmpty)
        #expect(segments == all.count)
        for c in all.joined() { #expect(try store.readStoredChunk(c.digest).bytes == c.bytes) }
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func directAndBufferedIOWriteTheSameBytes() throws {
        var packs: [[UInt8]] = []
        for direct in [true, false] {
            let root = tempStorePath("packio")
            defer { cleanup(root) }
            var options = StoreOptions()
            options.directIO = direct
            let store = try Store.create(at: root, options: options)
            for b in batches(seed: 32) { _ = try store.putChunks(b) }
            packs.append(try onlyPack(store).bytes)
            for c in batches(seed: 32).joined() { #expect(try store.readChunk(c.digest).count == c.rawLength) }
        }
        #expect(packs[0] == packs[1])
    }

    /// The header of a plaintext version 1 pack.
    static let versionOneHeader: [UInt8] = {
        var w = ByteBuffer()
        w.raw(PackFormat.magic)
        w.u32(1)
        w.u32(0)
        return w.bytes
    }()

    /// A version 1 pack: records back to back, no pad, segments ending anywhere.
    func versionOnePack(_ segments: [[ChunkInput]]) -> [UInt8] {
        var w = ByteBuffer()
        w.raw(Self.versionOneHeader)
        for seg in segments {
            var entries: [PackEntry] = []
            for c in seg {
                entries.append(
                    PackEntry(
                        digest: c.digest, offset: w.bytes.count, rawLength: c.rawLength, codec: c.codec,
                        storedLength: c.bytes.count))
                PackFormat.appendRecordHeader(
                    &w, field: c.digest, rawLength: c.rawLength, codec: c.codec, storedLength: c.bytes.count,
                    crc: CRC32C.checksum(c.bytes))
                w.raw(c.bytes)
            }
            w.raw(PackFormat.trailer(entries, at: w.bytes.count))
        }
        return w.bytes
    }

    @Test func versionOnePacksAreStillRead() throws {
        let root = tempStorePath("packv1")
        defer { cleanup(root) }
        let old = Array(batches(seed: 33).prefix(4))
        let v1 = versionOnePack(old)
        #expect(v1.count % PackFormat.alignment != 0)
        do {
            let store = try Store.create(at: root)
            let path = store.packPath("00112233445566778899aabbccddeeff")
            try store.ensureDirectory(of: path)
            try Data(v1).write(to: URL(fileURLWithPath: path))
            let fd = open(path, O_RDONLY)
            defer { close(fd) }
            let fast = try PackScanner.readTrailers(fd, path, size: v1.count)
            let slow = try PackScanner.scanForward(fd, path)
            #expect(fast.count == old.joined().count && fast == slow.entries)
            #expect(slow.validEnd == v1.count && slow.problem == nil)
        }
        // Recovery registers the pack it finds; its chunks read back; new chunks go to a v2 pack.
        let store = try Store.open(at: root)
        for c in old.joined() { #expect(try store.readStoredChunk(c.digest).bytes == c.bytes) }
        let fresh = batches(seed: 34)[5]
        #expect(try store.putChunks(fresh).stored == fresh.count)
        for c in fresh { #expect(try store.readStoredChunk(c.digest).bytes == c.bytes) }
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func aPadIsRefusedInVersionOneAndATornSegmentIsCut() throws {
        let root = tempStorePath("packpad")
        defer { cleanup(root) }
        let chunks = batches(seed: 35)
        let path: String
        do {
            let store = try Store.create(at: root)
            for b in chunks.prefix(3) { _ = try store.putChunks(b) }
            path = try onlyPack(store).path
        }
        var bytes = [UInt8](try #require(FileManager.default.contents(atPath: path)))
        let sealed = bytes.count
        // The same bytes labelled version 1: the pads make it unreadable past the first record run.
        var asV1 = bytes
        asV1.replaceSubrange(0..<16, with: Self.versionOneHeader)
        let v1Path = root + "/v1.pack"
        try Data(asV1).write(to: URL(fileURLWithPath: v1Path))
        let fd = open(v1Path, O_RDONLY)
        defer { close(fd) }
        #expect(throws: StoreError.self) { try PackScanner.readTrailers(fd, v1Path, size: asV1.count) }
        #expect(try PackScanner.scanForward(fd, v1Path).problem != nil)
        // A torn tail (a segment's first page written, the rest not) is cut at the next open.
        bytes += Array(bytes[16..<4096])
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        let store = try Store.open(at: root)
        let after = try onlyPack(store)
        #expect(after.path == path && after.bytes.count == sealed)
        for c in chunks.prefix(3).joined() { #expect(try store.readChunk(c.digest).count == c.rawLength) }
        #expect(try store.fsck(deep: true).isClean)
    }
}

@Suite("Batched chunk reads")
struct BatchedChunkReadTests {
    @Test(arguments: [(true, false), (false, false), (true, true)])
    func batchedReadsEqualSingleReads(direct: Bool, encrypted: Bool) throws {
        let root = tempStorePath("batchread")
        defer { cleanup(root) }
        var options = StoreOptions(packSize: 40_000)
        options.directIO = direct
        if encrypted { options.encryption = StoreEncryption(key: try StoreKey(bytes: Array(repeating: 7, count: 32))) }
        let store = try Store.create(at: root, options: options)
        var rng = TestRandom(seed: 36)
        var chunks: [ChunkInput] = []
        for b in 0..<8 {
            let batch = (0..<5).map { i in chunkInput(i % 2 == 0 ? rng.bytes(500 + b * 700 + i) : rng.text(9000)) }
            _ = try store.putChunks(batch)
            chunks += batch
        }
        // Request order: pushed order, reversed, repeated, with digests the store lacks.
        let absent = (0..<3).map { _ in SHA256.hash(rng.bytes(64)) }
        let asked = chunks.map(\.digest) + [absent[0]] + chunks.reversed().map(\.digest) + absent
            + chunks.prefix(4).map(\.digest)
        for budget in [1, 5_000, 60_000, 1 << 20] {
            var position = 0
            var batched: [StoredChunk?] = []
            while position < asked.count {
                let got = try store.readStoredChunks(asked[position...], budget: budget)
                #expect(!got.isEmpty)
                batched += got
                position += got.count
            }
            #expect(batched.count == asked.count)
            for (d, b) in zip(asked, batched) {
                if absent.contains(d) {
                    #expect(b == nil)
                } else {
                    let single = try store.readStoredChunk(d)
                    #expect(b?.bytes == single.bytes && b?.codec == single.codec && b?.rawLength == single.rawLength)
                }
            }
        }
        // The visitor (GetObject's path, also without the CRC-32C): each chunk of the prefix it
        // covers passed once, with the bytes of a single read; the absent ones reported missing.
        for checkCRC in [true, false] {
            var position = 0
            while position < asked.count {
                var seen: [Int: [UInt8]] = [:]
                let (n, missing) = try store.visitStoredChunks(asked[position...], budget: 60_000, checkCRC: checkCRC) {
                    k, c in
                    #expect(seen[k] == nil)
                    seen[k] = Array(c.bytes)
                }
                #expect(n > 0)
                for k in 0..<n {
                    let d = asked[position + k]
                    if absent.contains(d) {
                        #expect(seen[k] == nil && missing.contains(k))
                    } else {
                        #expect(try seen[k] == store.readStoredChunk(d).bytes && !missing.contains(k))
                    }
                }
                position += n
            }
        }
        // CompleteMultipartUpload's pass over records in runs: the blob digest of the record-by-record
        // pass and of the bytes, with chunks out of pack order (held until their turn) and repeated.
        let order = chunks + chunks.reversed() + chunks.prefix(4)
        let recipe = order.map { RecipeChunk(digest: $0.digest, length: UInt32($0.rawLength)) }
        var whole: [UInt8] = []
        for c in order { whole += try store.readChunk(c.digest) }
        #expect(try store.hashChunksInRuns(recipe) == SHA256.hash(whole))
        #expect(try store.hashChunks(recipe[...], verifyEach: true, of: nil) == SHA256.hash(whole))
    }

    @Test func aDamagedRecordInARunIsNeverServed() throws {
        let root = tempStorePath("batchdamage")
        defer { cleanup(root) }
        let store = try Store.create(at: root)
        var rng = TestRandom(seed: 37)
        let chunks = (0..<6).map { _ in chunkInput(rng.bytes(3000), compress: false) }
        _ = try store.putChunks(chunks)
        let (pack, entry) = try #require(try store.locate(chunks[2].digest))
        let path = store.packPath(try #require(store.state.withLock { $0.packNames[pack] }))
        let fd = open(path, O_RDWR)
        var byte: UInt8 = 0
        _ = pread(fd, &byte, 1, off_t(entry.offset + PackFormat.recordHeaderSize + 100))
        byte ^= 0x10
        _ = pwrite(fd, &byte, 1, off_t(entry.offset + PackFormat.recordHeaderSize + 100))
        close(fd)
        #expect(throws: StoreError.self) { try store.readStoredChunks(chunks.map(\.digest)[...], budget: 1 << 20) }
        let recipe = chunks.map { RecipeChunk(digest: $0.digest, length: UInt32($0.rawLength)) }
        #expect(throws: StoreError.self) { try store.hashChunksInRuns(recipe) }
        let before = try store.readStoredChunks(chunks.map(\.digest)[..<2], budget: 1 << 20)
        #expect(before.map { $0?.bytes } == chunks.prefix(2).map(\.bytes))
    }
}
