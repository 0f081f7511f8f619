import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

@Suite("Scrub", .serialized)
struct ScrubTests {
    /// A store with several sealed packs and versions; returns each version's tree and content.
    func populate(_ root: String, files: Int = 6, seed: UInt64 = 1) throws -> (Store, [(Digest, [UInt8])]) {
        let store = try createStore(at: root, options: StoreOptions(packSize: 128 << 10))
        var rng = TestRandom(seed: seed)
        var out: [(Digest, [UInt8])] = []
        for i in 0..<files {
            let content = i % 2 == 0 ? rng.bytes(80 << 10) : rng.text(120 << 10)
            let t = try storeFile(store, path: "dir/file\(i).bin", content)
            _ = try store.createVersion(name: "m", version: "\(i)", tree: t, creator: "t")
            out.append((t, content))
        }
        return (store, out)
    }

    func location(_ store: Store, _ d: Digest) throws -> (path: String, offset: Int, stored: Int) {
        let (pack, entry) = try #require(try store.locate(d))
        let name = try #require(store.state.withLock { $0.packNames[pack] })
        return (store.packPath(name), entry.offset, entry.storedLength)
    }

    func flipByte(_ path: String, at offset: Int) throws {
        let fd = open(path, O_RDWR)
        defer { close(fd) }
        var b: UInt8 = 0
        #expect(pread(fd, &b, 1, off_t(offset)) == 1)
        b ^= 0x20
        #expect(pwrite(fd, &b, 1, off_t(offset)) == 1)
    }

    /// Flips a byte near the end of an object: its file, or its catalog row (small recipes).
    func damageObject(_ store: Store, _ d: Digest) throws {
        let path = store.objectPath(d)
        if FileManager.default.fileExists(atPath: path) {
            let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
            try flipByte(path, at: size - 3)
            return
        }
        try damageInlineObject(store, d)
    }

    @Test("a clean store scrubs clean, including after GC left unindexed records")
    func cleanStore() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root)
        try store.retireVersion(name: "m", version: "1", actor: "t")
        _ = try store.collectGarbage(GCOptions(graceSeconds: 0, rewriteThreshold: 0, packRemovalDelay: 0))
        let r = try store.scrub()
        #expect(r.clean, "\(r.findings)")
        #expect(r.complete)
        #expect(r.chunksChecked == (try store.stats().chunkCount))
        #expect(r.unindexedRecords > 0)
        #expect(r.versionsChecked == versions.count - 1)
        #expect(r.objectsChecked == 2 * (versions.count - 1))
        #expect(r.quarantined == 0)
    }

    @Test("bit flips, a truncated pack, a deleted pack and corrupted objects: every one is found")
    func findsAllInjectedDamage() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root, files: 10)
        let recipes = try versions.map { try #require(try store.recipe(forBlob: SHA256.hash($0.1))) }
        // 1. Bit flips in two records' data (different files).
        let flipped = [recipes[0].chunks[3].digest, recipes[3].chunks[1].digest]
        for d in flipped {
            let l = try location(store, d)
            try flipByte(l.path, at: l.offset + PackFormat.recordHeaderSize + l.stored / 2)
        }
        // 2. A deleted pack: the one holding file 6's first chunk.
        let deletedPack = try location(store, recipes[6].chunks[0].digest).path
        let deletedChunks = try recipes.flatMap(\.chunks).map(\.digest).filter {
            try location(store, $0).path == deletedPack
        }
        // 3. A truncated pack: another pack (holding file 8 or 9's last chunk), cut inside that record.
        var last = try location(store, recipes[8].chunks.last!.digest)
        if last.path == deletedPack { last = try location(store, recipes[9].chunks.last!.digest) }
        #expect(last.path != deletedPack)
        let truncatedChunks = try recipes.flatMap(\.chunks).map(\.digest).filter {
            let l = try location(store, $0)
            return l.path == last.path && l.offset >= last.offset
        }
        // 4. A corrupted recipe object and a corrupted tree object.
        let badRecipe = try #require(try store.recipeDigest(forBlob: SHA256.hash(versions[4].1)))
        let badTree = versions[5].0
        for d in [badRecipe, badTree] { try damageObject(store, d) }
        unlink(deletedPack)
        #expect(truncate(last.path, off_t(last.offset + 10)) == 0)

        let r = try store.scrub(ScrubOptions(repair: true))
        #expect(!r.clean)
        let found = Set(r.damagedChunks)
        for d in flipped + deletedChunks + truncatedChunks {
            #expect(found.contains(d.prefixed), "\(d) not reported")
        }
        #expect(Set(r.damagedObjects).isSuperset(of: [badRecipe.prefixed, badTree.prefixed]))
        #expect(r.findings.contains { $0.kind == "pack-missing" })
        #expect(r.findings.contains { $0.kind == "pack-damaged" })
        // The report names the affected versions and paths.
        let named = Set(r.affectedVersions.map(\.version))
        for v in ["0", "3", "4", "5", "6"] { #expect(named.contains(v), "version m:\(v) not named") }
        #expect(r.affectedVersions.first { $0.version == "0" }?.paths == ["dir/file0.bin"])
        // Damaged chunks are no longer served and HAS reports them missing.
        for d in flipped + deletedChunks + truncatedChunks {
            #expect(try !store.contains(d))
        }
    }

    @Test("no repair: missing data is reported but stays indexed; corrupt bytes are always quarantined")
    func repairFlag() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root, files: 4)
        let recipes = try versions.map { try #require(try store.recipe(forBlob: SHA256.hash($0.1))) }
        let flipped = recipes[1].chunks[0].digest
        let l = try location(store, flipped)
        try flipByte(l.path, at: l.offset + PackFormat.recordHeaderSize + 1)
        let gone = recipes[3].chunks[0].digest
        let deletedPack = try location(store, gone).path
        #expect(deletedPack != l.path)
        unlink(deletedPack)
        let r = try store.scrub()
        #expect(Set(r.damagedChunks).isSuperset(of: [flipped.prefixed, gone.prefixed]))
        #expect(try !store.contains(flipped))
        #expect(try store.contains(gone))
        #expect(r.findings.first { $0.subject == gone.prefixed }?.action == "reported")
    }

    @Test("a re-push of the same content heals a quarantined chunk")
    func repushHeals() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root, files: 3)
        let content = versions[1].1
        let recipe = try #require(try store.recipe(forBlob: SHA256.hash(content)))
        let bad = recipe.chunks[2].digest
        let l = try location(store, bad)
        try flipByte(l.path, at: l.offset + PackFormat.recordHeaderSize + 7)
        let r = try store.scrub()
        #expect(r.damagedChunks == [bad.prefixed])
        #expect(r.affectedVersions.map(\.version) == ["1"])
        #expect(try store.missing([bad]) == [bad])
        #expect(try store.recipe(forBlob: recipe.blobDigest) == nil)  // un-committed: a push re-sends it
        #expect(try !store.fsck().isClean)

        // The client's push: HAS → PUT the missing chunks → COMMIT the same tree.
        let (chunks, sameRecipe) = makeBlob(content)
        let missing = Set(try store.missing(chunks.map(\.digest)))
        #expect(missing == [bad])
        _ = try store.putChunks(chunks.filter { missing.contains($0.digest) })
        let tree = try store.readTree(versions[1].0)
        guard case .committed(let t) = try store.commit(recipes: [sameRecipe], tree: tree) else {
            Issue.record("healing commit failed")
            return
        }
        #expect(t == versions[1].0)
        try verifyTreeReadable(store, t)
        #expect(try store.fsck(deep: true).isClean)
        let again = try store.scrub()
        #expect(again.clean, "\(again.findings)")
    }

    @Test("T slices cover every pack and object shard exactly once and find damage in any of them")
    func slicesCoverEverything() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root, files: 8)
        let packs = try store.stats().packCount
        let recipe = try #require(try store.recipe(forBlob: SHA256.hash(versions[5].1)))
        let bad = recipe.chunks[0].digest
        let l = try location(store, bad)
        try flipByte(l.path, at: l.offset + PackFormat.recordHeaderSize + 3)
        var packsChecked = 0
        var objects = 0
        var foundIn: [Int] = []
        for i in 1...3 {
            let r = try store.scrub(ScrubOptions(scope: .slice(index: i, count: 3)))
            packsChecked += r.packsChecked
            objects += r.objectsChecked
            if r.damagedChunks.contains(bad.prefixed) { foundIn.append(i) }
        }
        #expect(packsChecked == packs)
        #expect(objects == 2 * versions.count)
        #expect(foundIn.count == 1)
    }

    @Test("an interrupted scrub resumes where it stopped")
    func resumes() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, _) = try populate(root, files: 6)
        let packs = try store.stats().packCount
        // Simulate an interrupted run that had finished two packs.
        let names = store.state.withLock { Array($0.packNames.values) }.sorted()
        try store.catalog.write { db in
            try db.execute(sql: "INSERT INTO scrub_runs (id, mode, started) VALUES (77, 'full', 1)")
            for n in names.prefix(2) {
                try db.execute(
                    sql: "INSERT INTO scrub_done (run, unit) VALUES (77, ?)", arguments: ["pack:" + n])
            }
        }
        let r = try store.scrub()
        #expect(r.resumed)
        #expect(r.unitsSkipped == 2)
        #expect(r.packsChecked == packs - 2)
        let next = try store.scrub()
        #expect(!next.resumed && next.packsChecked == packs)
    }

    @Test("a 100 % sample checks every chunk; a small one checks fewer")
    func sample() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, _) = try populate(root, files: 4)
        let all = try store.stats().chunkCount
        #expect(
            try store.scrub(ScrubOptions(scope: .sample(partsPerMillion: 1_000_000))).chunksChecked == all)
        #expect(try store.scrub(ScrubOptions(scope: .sample(partsPerMillion: 1))).chunksChecked < all)
    }

    @Test("no false positives while pushes append to the open pack")
    func cleanWhilePushing() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, _) = try populate(root, files: 2)
        let writerState = Mutex((done: false, stopped: false, pushes: 0))
        let writer = Thread {
            defer { writerState.withLock { $0.stopped = true } }
            var rng = TestRandom(seed: 5)
            while !writerState.withLock({ $0.done }) {
                _ = try? store.putChunks(makeBlob(rng.bytes(24 << 10)).chunks)
                writerState.withLock { $0.pushes += 1 }
            }
        }
        writer.start()
        for _ in 0..<5 {
            let r = try store.scrub()
            #expect(r.clean, "\(r.findings.prefix(3))")
        }
        writerState.withLock { $0.done = true }
        while !writerState.withLock({ $0.stopped }) { usleep(1000) }
        #expect(writerState.withLock { $0.pushes } > 0)
    }

    @Test("GC refuses while a live tree is unreadable, and runs once scrub has quarantined it")
    func gcAfterQuarantinedTree() throws {
        let root = tempStorePath("scrub")
        defer { cleanup(root) }
        let (store, versions) = try populate(root, files: 3)
        let path = store.objectPath(versions[1].0)
        let size = (try FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? 0
        try flipByte(path, at: size - 2)
        usleep(2000)
        #expect(throws: MaintenanceError.self) { try store.collectGarbage(immediateGC) }
        let r = try store.scrub()
        #expect(r.damagedObjects == [versions[1].0.prefixed])
        #expect(r.affectedVersions.map(\.version) == ["1"])
        _ = try store.collectGarbage(immediateGC)
        for i in [0, 2] { try verifyTreeReadable(store, versions[i].0) }
    }
}
