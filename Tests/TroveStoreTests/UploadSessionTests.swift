import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

/// The upload session: the push flow the server drives, its lease, staged objects and staging
/// files.
@Suite("Upload sessions")
struct UploadSessionTests {
    func makeStore() throws -> (Store, String) {
        let root = tempStorePath("upload")
        return (try createStore(at: root), root)
    }

    /// Files in tmp/ that belong to upload sessions.
    func stagingFiles(_ store: Store) -> [String] {
        FileIO.list(store.tmpDir).filter { $0.hasPrefix("upload-") }
    }

    @Test("a whole push: has → put chunks → put objects → commit → version → end")
    func wholePush() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 1)
        let (chunks, recipe) = makeBlob(rng.bytes(40_000))
        let tree = Tree(entries: [.file("a.bin", blob: recipe.blobDigest, size: recipe.size)])
        let treeDigest = SHA256.hash(tree.canonicalBytes)
        let upload = try store.beginUpload(name: "models/m", ttlSeconds: 600)
        #expect(!upload.resumed)
        #expect(upload.id.count == 32)
        #expect(try upload.has(.tree, [treeDigest]) == [false])
        #expect(try upload.has(.recipe, [recipe.blobDigest]) == [false])
        #expect(try upload.has(.chunk, chunks.map(\.digest)).allSatisfy { !$0 })
        #expect(try upload.putChunks(chunks).stored == chunks.count)
        #expect(try upload.has(.chunk, chunks.map(\.digest)).allSatisfy { $0 })
        #expect(try upload.putObjects([wholeObject(recipe), wholeObject(tree)]) == 2)
        #expect(try upload.has(.recipe, [recipe.blobDigest]) == [true])
        #expect(try upload.has(.tree, [treeDigest]) == [true])
        // Staged, not committed: the catalog does not know the tree yet.
        #expect(try !store.hasTree(treeDigest))
        // Looked up by id (as the server does per request): the same session.
        let again = try store.upload(upload.id)
        #expect(again.name == "models/m")
        guard case .committed(let t, let files, let size) = try again.commit(tree: treeDigest) else {
            Issue.record("commit should succeed")
            return
        }
        #expect(t == treeDigest && files == 1 && size == recipe.size)
        let v = try again.createVersion(name: "models/m", version: "1", tree: t, creator: "t")
        #expect(v.info.tree == t)
        #expect(try store.liveUploads().map(\.id) == [upload.id])
        #expect(try upload.end())
        #expect(try !upload.end())
        #expect(try store.liveUploads().isEmpty)
        #expect(throws: StoreError.uploadExpired(id: upload.id)) { try store.upload(upload.id) }
        #expect(throws: StoreError.uploadExpired(id: upload.id)) { try upload.has(.chunk, []) }
        try verifyTreeReadable(store, t)
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test("commit names what is missing: the tree, then recipes, then chunks")
    func commitMissing() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 2)
        let (chunks, recipe) = makeBlob(rng.bytes(20_000))
        let tree = Tree(entries: [.file("a.bin", blob: recipe.blobDigest, size: recipe.size)])
        let treeDigest = SHA256.hash(tree.canonicalBytes)
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        defer { _ = try? upload.end() }
        #expect(try upload.commit(tree: treeDigest) == .missingObjects([UploadObjectRef(kind: .tree, digest: treeDigest)]))
        _ = try upload.putObjects([wholeObject(tree)])
        #expect(
            try upload.commit(tree: treeDigest)
                == .missingObjects([UploadObjectRef(kind: .recipe, digest: recipe.blobDigest)]))
        _ = try upload.putObjects([wholeObject(recipe)])
        #expect(try upload.commit(tree: treeDigest) == .missingChunks(chunks.map(\.digest).sorted()))
        _ = try upload.putChunks(chunks)
        #expect(try upload.commit(tree: treeDigest) == .committed(tree: treeDigest, files: 1, totalSize: recipe.size))
    }

    @Test("an object in parts goes through a staging file that the store owns and removes")
    func multiPart() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var entries: [TreeEntry] = []
        var rng = TestRandom(seed: 3)
        for i in 0..<200 {
            entries.append(.file("dir/file-\(i).bin", blob: SHA256.hash(rng.bytes(8)), size: 8))
        }
        let tree = Tree(entries: entries)
        let bytes = tree.canonicalBytes
        let digest = SHA256.hash(bytes)
        let total = UInt64(bytes.count)
        func part(_ from: Int, _ to: Int) -> ObjectPartInput {
            ObjectPartInput(
                kind: .tree, digest: digest, offset: UInt64(from), totalLength: total, bytes: Array(bytes[from..<to]))
        }
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        let third = bytes.count / 3
        #expect(try upload.putObjects([part(0, third)]) == 0)
        #expect(stagingFiles(store).count == 1)
        // Out of order: refused, nothing changes.
        #expect(throws: StoreError.self) { try upload.putObjects([part(2 * third, bytes.count)]) }
        // Restart at 0, then in order.
        #expect(try upload.putObjects([part(0, third), part(third, 2 * third)]) == 0)
        #expect(try upload.has(.tree, [digest]) == [false])
        #expect(try upload.putObjects([part(2 * third, bytes.count)]) == 1)
        #expect(stagingFiles(store).isEmpty)
        #expect(try upload.has(.tree, [digest]) == [true])
        // A part left half-way is removed when the session ends.
        _ = try upload.putObjects([part(0, third)])
        #expect(stagingFiles(store).count == 1)
        try upload.end()
        #expect(stagingFiles(store).isEmpty)
    }

    @Test("objects that do not match their digest are refused")
    func badObjects() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        var rng = TestRandom(seed: 4)
        let (_, recipe) = makeBlob(rng.bytes(10_000))
        let (_, other) = makeBlob(rng.bytes(10_000))
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        var tree = wholeObject(Tree(entries: [.file("a", blob: recipe.blobDigest, size: recipe.size)]))
        tree.digest = other.blobDigest
        #expect {
            try upload.putObjects([tree])
        } throws: { e in
            if case .uploadCorrupt = e as? StoreError { true } else { false }
        }
        var mislabelled = wholeObject(recipe)
        mislabelled.digest = other.blobDigest
        #expect {
            try upload.putObjects([mislabelled])
        } throws: { e in
            if case .invalidArgument = e as? StoreError { true } else { false }
        }
        #expect(try upload.has(.recipe, [recipe.blobDigest, other.blobDigest]) == [false, false])
    }

    @Test("a session resumes after a dropped connection and after a restart, only for its name")
    func resume() throws {
        let root = tempStorePath("upload")
        defer { cleanup(root) }
        var rng = TestRandom(seed: 5)
        let (_, recipe) = makeBlob(rng.bytes(10_000))
        // First process: begin, stage a recipe, resume, then "crash" (the store is closed).
        let id: String = try {
            let store = try createStore(at: root)
            let first = try store.beginUpload(name: "m", ttlSeconds: 600)
            _ = try first.putObjects([wholeObject(recipe)])
            let resumed = try store.beginUpload(name: "m", ttlSeconds: 600, resume: first.id)
            #expect(resumed.resumed && resumed.id == first.id)
            #expect(try resumed.has(.recipe, [recipe.blobDigest]) == [true])
            let other = try store.beginUpload(name: "other", ttlSeconds: 600, resume: first.id)
            #expect(!other.resumed && other.id != first.id)
            try other.end()
            let unknown = try store.beginUpload(
                name: "m", ttlSeconds: 600, resume: "00000000000000000000000000000000")
            #expect(!unknown.resumed)
            try unknown.end()
            return first.id
        }()
        // A restart keeps the lease row (GC keeps protecting) but not the staged objects.
        let store = try openStore(at: root)
        #expect(try store.liveUploads().map(\.id) == [id])
        #expect(throws: StoreError.uploadExpired(id: id)) { try store.upload(id) }
        let afterRestart = try store.beginUpload(name: "m", ttlSeconds: 600, resume: id)
        #expect(afterRestart.resumed && afterRestart.id == id)
        #expect(try afterRestart.has(.recipe, [recipe.blobDigest]) == [false])
        try afterRestart.end()
    }

    @Test("expiry ends sessions, their staging files and lease rows")
    func expiry() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        let upload = try store.beginUpload(name: "m", ttlSeconds: 600)
        let tree = Tree(entries: [.file("a", blob: SHA256.hash([1]), size: 1)])
        var part = wholeObject(tree)
        part.bytes = Array(part.bytes.prefix(10))
        _ = try upload.putObjects([part])
        #expect(stagingFiles(store).count == 1)
        #expect(try store.expireUploads() == 0)
        let later = Clock.nowMillis() + 601_000
        #expect(try store.expireUploads(now: later) == 1)
        #expect(stagingFiles(store).isEmpty)
        #expect(try store.liveUploads().isEmpty)
        #expect(throws: StoreError.uploadExpired(id: upload.id)) { try upload.touch() }
        let resumed = try store.beginUpload(name: "m", ttlSeconds: 600, resume: upload.id)
        #expect(!resumed.resumed)
        try resumed.end()
    }

    @Test("concurrent parts of many sessions: each object assembles intact")
    func concurrentSessions() throws {
        let (store, root) = try makeStore()
        defer { cleanup(root) }
        let errors = Mutex<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            do {
                var rng = TestRandom(seed: UInt64(100 + i))
                let (chunks, recipe) = makeBlob(rng.bytes(30_000))
                let upload = try store.beginUpload(name: "p\(i)", ttlSeconds: 600)
                _ = try upload.putChunks(chunks)
                let bytes = recipe.canonicalBytes
                var offset = 0
                while offset < bytes.count {
                    let end = min(bytes.count, offset + 7)
                    _ = try upload.putObjects([
                        ObjectPartInput(
                            kind: .recipe, digest: recipe.blobDigest, offset: UInt64(offset),
                            totalLength: UInt64(bytes.count), bytes: Array(bytes[offset..<end]))
                    ])
                    offset = end
                }
                let tree = Tree(entries: [.file("f", blob: recipe.blobDigest, size: recipe.size)])
                _ = try upload.putObjects([wholeObject(tree)])
                guard case .committed(let t, _, _) = try upload.commit(tree: SHA256.hash(tree.canonicalBytes)) else {
                    throw StoreError.invalidCommit("session \(i) did not commit")
                }
                _ = try upload.createVersion(name: "p\(i)", version: "1", tree: t, creator: "t")
                try upload.end()
            } catch {
                errors.withLock { $0.append("\(i): \(error)") }
            }
        }
        #expect(errors.withLock { $0 }.isEmpty)
        #expect(try store.listVersions().count == 8)
        #expect(try store.fsck(deep: true).isClean)
    }
}
