import Foundation
import Synchronization
import Testing
import TroveCore

@testable import TroveStore

@Suite("Commit and refs")
struct CommitAndRefTests {
    @Test func commitRefusesUntilChunksArePresent() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 10)
        let content = rng.text(20_000)
        let (chunks, recipe) = makeBlob(content)
        let tree = Tree(entries: [.file("a/b.txt", blob: recipe.blobDigest, size: recipe.size)])
        _ = try store.putChunks(Array(chunks[0..<2]))
        let first = try store.commit(recipes: [recipe], tree: tree)
        #expect(first == .missing(chunks[2...].map(\.digest).sorted()))
        _ = try store.putChunks(Array(chunks[2...]))
        let second = try store.commit(recipes: [recipe], tree: tree)
        #expect(second == .committed(tree: tree.objectDigest))
        #expect(try store.readTree(tree.objectDigest) == tree)
        #expect(try store.recipe(forBlob: recipe.blobDigest) == recipe)
        // A later tree can reuse the committed blob without resending its recipe.
        let tree2 = Tree(entries: [
            .file("copy.txt", blob: recipe.blobDigest, size: recipe.size), .directory("empty"),
        ])
        #expect(try store.commit(recipes: [], tree: tree2) == .committed(tree: tree2.objectDigest))
        #expect(try store.fsck(deep: true).isClean)
    }

    @Test func commitRejectsLiesAboutContent() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 11)
        let content = rng.bytes(9000)
        let (chunks, recipe) = makeBlob(content)
        _ = try store.putChunks(chunks)
        // Wrong blob digest (chunks fine): refused.
        var wrong = recipe
        wrong.blobDigest = SHA256.hash([1])
        let t1 = Tree(entries: [.file("x", blob: wrong.blobDigest, size: wrong.size)])
        #expect(throws: StoreError.blobMismatch(expected: wrong.blobDigest, actual: recipe.blobDigest)) {
            try store.commit(recipes: [wrong], tree: t1)
        }
        // Size in the tree disagrees with the recipe.
        let t2 = Tree(entries: [.file("x", blob: recipe.blobDigest, size: 5)])
        #expect(throws: StoreError.self) { try store.commit(recipes: [recipe], tree: t2) }
        // No recipe at all.
        let t3 = Tree(entries: [.file("x", blob: SHA256.hash([2]), size: 1)])
        #expect(throws: StoreError.self) { try store.commit(recipes: [], tree: t3) }
        // Nothing was registered.
        #expect(try store.recipe(forBlob: recipe.blobDigest) == nil)
        #expect(try !store.hasTree(t1.objectDigest))
    }

    @Test func versionsAreCreateOnly() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 12)
        let t1 = try storeFile(store, rng.bytes(5000))
        let t2 = try storeFile(store, rng.bytes(5000))
        let created = try store.createVersion(
            name: "models/churn", version: "1.0", tree: t1, creator: "alice", message: "first",
            metadata: ["rows": "10", "commit": "abc"])
        guard case .created(let info) = created else {
            Issue.record("not created")
            return
        }
        #expect(info.metadata == ["rows": "10", "commit": "abc"])
        #expect(
            try store.createVersion(name: "models/churn", version: "1.0", tree: t1, creator: "bob")
                == .existing(try store.version(name: "models/churn", version: "1.0")!))
        #expect(throws: StoreError.versionConflict(name: "models/churn", version: "1.0", existing: t1)) {
            try store.createVersion(name: "models/churn", version: "1.0", tree: t2, creator: "bob")
        }
        #expect(throws: StoreError.self) {
            try store.createVersion(
                name: "models/churn", version: "2.0", tree: SHA256.hash([7]), creator: "x")
        }
        #expect(throws: StoreError.refNotFound("parent data/x:1")) {
            try store.createVersion(
                name: "models/churn", version: "2.0", tree: t2, creator: "x",
                parents: [.init(name: "data/x", version: "1")])
        }
        #expect(throws: StoreError.self) {
            try store.createVersion(name: "bad//name", version: "1", tree: t1, creator: "x")
        }
        #expect(throws: StoreError.self) {
            try store.createVersion(name: "ok", version: "..", tree: t1, creator: "x")
        }
        _ = try store.createVersion(
            name: "models/churn", version: "2.0", tree: t2, creator: "x",
            parents: [.init(name: "models/churn", version: "1.0")])
        #expect(
            try store.children(of: .init(name: "models/churn", version: "1.0")) == [
                .init(name: "models/churn", version: "2.0")
            ])
        #expect(try store.listVersions(prefix: "models/").map(\.version).sorted() == ["1.0", "2.0"])
        #expect(try store.listVersions(prefix: "data/").isEmpty)
        #expect(try store.resolve(Ref(parsing: "models/churn:2.0")).tree == t2)
        #expect(try store.resolve(Ref(parsing: "models/churn@" + t1.prefixed)).tree == t1)
    }

    @Test func aliasesMoveByCompareAndSwapWithHistory() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 13)
        let t1 = try storeFile(store, rng.bytes(3000))
        let t2 = try storeFile(store, rng.bytes(3000))
        _ = try store.createVersion(name: "m", version: "v1", tree: t1, creator: "a")
        _ = try store.createVersion(name: "m", version: "v2", tree: t2, creator: "a")
        _ = try store.createVersion(name: "other", version: "v9", tree: t2, creator: "a")
        try store.setAlias(name: "m", alias: "prod", version: "v1", expect: .absent, actor: "alice")
        #expect(throws: StoreError.aliasConflict(name: "m", alias: "prod", current: "v1")) {
            try store.setAlias(name: "m", alias: "prod", version: "v2", expect: .absent, actor: "bob")
        }
        #expect(throws: StoreError.aliasConflict(name: "m", alias: "prod", current: "v1")) {
            try store.setAlias(name: "m", alias: "prod", version: "v2", expect: .version("v2"), actor: "bob")
        }
        try store.setAlias(name: "m", alias: "prod", version: "v2", expect: .version("v1"), actor: "bob")
        #expect(throws: StoreError.refNotFound("m:v9")) {
            try store.setAlias(name: "m", alias: "prod", version: "v9", actor: "bob")
        }
        #expect(throws: StoreError.tagInUse(name: "m", tag: "v1", usedBy: "a version")) {
            try store.setAlias(name: "m", alias: "v1", version: "v2", actor: "bob")
        }
        #expect(throws: StoreError.tagInUse(name: "m", tag: "prod", usedBy: "an alias")) {
            try store.createVersion(name: "m", version: "prod", tree: t1, creator: "a")
        }
        let r = try store.resolve(Ref(parsing: "m:prod"))
        #expect(r.version == "v2" && r.alias == "prod" && r.tree == t2)
        #expect(throws: StoreError.versionAliased(name: "m", version: "v2", aliases: ["prod"])) {
            try store.retireVersion(name: "m", version: "v2", actor: "admin")
        }
        try store.setAlias(name: "m", alias: "prod", version: "v1", actor: "carol")
        try store.retireVersion(name: "m", version: "v2", actor: "admin")
        #expect(throws: StoreError.versionRetired(name: "m", version: "v2")) {
            try store.setAlias(name: "m", alias: "prod", version: "v2", actor: "bob")
        }
        try store.removeAlias(name: "m", alias: "prod", expect: .version("v1"), actor: "dave")
        let history = try store.aliasHistory(name: "m", alias: "prod")
        #expect(history.map(\.from) == [nil, "v1", "v2", "v1"])
        #expect(history.map(\.to) == ["v1", "v2", "v1", nil])
        #expect(history.map(\.actor) == ["alice", "bob", "carol", "dave"])
        let log = try store.refLog(name: "m")
        #expect(
            log.map(\.op) == [
                "version.create", "version.create", "alias.set", "alias.set", "alias.set", "version.retire",
                "alias.remove",
            ])
        #expect(try store.fsck().isClean)
    }

    @Test func concurrentAliasPromotionsHaveOneWinner() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 14)
        let t = try storeFile(store, rng.bytes(100))
        for v in 0..<8 { _ = try store.createVersion(name: "m", version: "v\(v)", tree: t, creator: "a") }
        try store.setAlias(name: "m", alias: "prod", version: "v0", actor: "a")
        let wins = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 7) { i in
            do {
                let previous = try store.setAlias(
                    name: "m", alias: "prod", version: "v\(i + 1)", expect: .version("v0"), actor: "t\(i)")
                #expect(previous == "v0")
                wins.withLock { $0 += 1 }
            } catch {}
        }
        #expect(wins.withLock { $0 } == 1)
        #expect(try store.aliasHistory(name: "m", alias: "prod").count == 2)
    }

    @Test func refLogIsHashChainedAndTamperingIsDetected() throws {
        let root = tempStorePath()
        defer { cleanup(root) }
        let store = try createStore(at: root)
        var rng = TestRandom(seed: 15)
        let t = try storeFile(store, rng.bytes(100))
        for v in 0..<3 { _ = try store.createVersion(name: "m", version: "v\(v)", tree: t, creator: "a") }
        let log = try store.refLog()
        #expect(log.count == 3)
        #expect(
            log[0].previousHash == .zero && log[1].previousHash == log[0].hash
                && log[2].previousHash == log[1].hash)
        try store.catalog.write { db in
            try db.execute(sql: "UPDATE reflog SET actor = 'mallory' WHERE seq = 2")
        }
        let report = try store.fsck()
        #expect(report.violations.map(\.kind) == [.refLogBroken])
    }
}
