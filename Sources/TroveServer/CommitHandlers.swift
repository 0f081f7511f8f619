import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Push, part 2 (PROTOCOL.md §9): COMMIT and CREATE_VERSION.
extension RequestRouter {
    func commit(_ m: Message.Commit, _: Caller) throws(ServerError) -> Response {
        try touchLease(m.lease)
        let staged = try leases.with(m.lease, now: Clock.nowMillis()) { e throws(ServerError) in
            (e.recipes, e.trees)
        }
        guard store.hasObject(m.tree) || staged.1.contains(m.tree) else {
            return .single(
                .commitMissing(.init(chunks: [], objects: [ObjectRef(kind: .tree, digest: m.tree)])))
        }
        let tree: Tree
        do {
            tree = try store.readTree(m.tree)
        } catch .objectNotFound {
            // A GC removed an uncommitted upload since PUT_OBJECTS: ask for it again.
            return .single(
                .commitMissing(.init(chunks: [], objects: [ObjectRef(kind: .tree, digest: m.tree)])))
        } catch {
            throw ServerError(error)
        }
        var recipes: [Recipe] = []
        var missingObjects: [ObjectRef] = []
        var seen = Set<Digest>()
        for entry in tree.entries where entry.kind == .file {
            guard let blob = entry.blob, seen.insert(blob).inserted else { continue }
            if try s({ () throws(StoreError) in try store.recipeDigest(forBlob: blob) }) != nil { continue }
            if let object = staged.0[blob], let recipe = try stagedRecipe(object) {
                recipes.append(recipe)
            } else {
                missingObjects.append(ObjectRef(kind: .recipe, digest: blob))
            }
        }
        if !missingObjects.isEmpty {
            return .stream(
                ListStream(missingObjects, perFrame: ProtocolLimits.maxDigestsPerRequest) {
                    .commitMissing(.init(chunks: [], objects: $0))
                })
        }
        switch try s({ () throws(StoreError) in try store.commit(recipes: recipes, tree: tree) }) {
        case .committed(let digest):
            let files = tree.entries.filter { $0.kind == .file }.count
            return .single(
                .commitOK(.init(tree: digest, files: UInt32(clamping: files), totalSize: tree.totalSize)))
        case .missing(let chunks):
            return .stream(
                ListStream(chunks, perFrame: ProtocolLimits.maxDigestsPerRequest) {
                    .commitMissing(.init(chunks: $0, objects: []))
                })
        }
    }

    /// A recipe stored ahead of its commit, or nil if a GC removed it since (the client resends).
    func stagedRecipe(_ object: Digest) throws(ServerError) -> Recipe? {
        do { return try store.readRecipe(object: object) } catch .objectNotFound { return nil } catch {
            throw ServerError(error)
        }
    }

    func createVersion(_ m: Message.CreateVersion, _ caller: Caller) throws(ServerError)
        -> Message.VersionCreated
    {
        try validTag(m.version, "version")
        if let lease = m.lease { try touchLease(lease) }
        guard try s({ () throws(StoreError) in try store.hasTree(m.tree) }) else {
            throw ServerError(.notFound, "tree \(m.tree) is not committed; COMMIT it before CREATE_VERSION")
        }
        var parents: [VersionKey] = []
        for p in m.parents {
            let ref: Ref
            do { ref = try Ref(parsing: p) } catch {
                throw ServerError(.badRequest, "parent '\(p)': \(error)")
            }
            let resolved = try s { () throws(StoreError) in try store.resolve(ref) }
            guard let v = resolved.version else {
                throw ServerError(
                    .badRequest, "parent '\(p)' must name a version (NAME:VERSION or an alias), not a digest")
            }
            parents.append(VersionKey(name: resolved.name, version: v))
        }
        var metadata: [String: String] = [:]
        for e in m.metadata { metadata[e.key] = e.value.description }
        let outcome = try s { () throws(StoreError) in
            try store.createVersion(
                name: m.name, version: m.version, tree: m.tree, creator: caller.actor, message: m.message,
                metadata: metadata, parents: parents)
        }
        let info = outcome.info
        if case .created = outcome {
            logger.info(
                "version created",
                metadata: ["ref": "\(m.name):\(m.version)", "tree": "\(m.tree)", "by": "\(caller.actor)"])
        }
        let created: Bool = if case .created = outcome { true } else { false }
        return .init(
            name: info.name, version: info.version, tree: info.tree, createdAt: info.created, created: created
        )
    }
}
