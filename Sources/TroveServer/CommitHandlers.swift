import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Push, part 2 (PROTOCOL.md §9): COMMIT and CREATE_VERSION.
extension RequestRouter {
    func commit(_ m: Message.Commit, _: Caller) throws(ServerError) -> Response {
        let session = try upload(m.lease)
        let outcome = try underLease(m.lease) { () throws(ServerError) in
            try s { () throws(StoreError) in try session.commit(tree: m.tree) }
        }
        switch outcome {
        case .committed(let digest, let files, let totalSize):
            return .single(
                .commitOK(.init(tree: digest, files: UInt32(clamping: files), totalSize: totalSize)))
        case .missingObjects(let objects):
            let refs = objects.map { ObjectRef(kind: ContentKind($0.kind), digest: $0.digest) }
            return .stream(
                ListStream(refs, budget: listBudget, maxPerFrame: ProtocolLimits.maxDigestsPerRequest) {
                    .commitMissing(.init(chunks: [], objects: $0))
                })
        case .missingChunks(let chunks):
            return .stream(
                ListStream(
                    chunks, budget: listBudget, maxPerFrame: ProtocolLimits.maxDigestsPerRequest, size: { _ in 32 }
                ) {
                    .commitMissing(.init(chunks: $0, objects: []))
                })
        }
    }

    func createVersion(_ m: Message.CreateVersion, _ caller: Caller) throws(ServerError)
        -> Message.VersionCreated
    {
        guard let lease = m.lease else { return try createVersionUnderLease(m, caller) }
        return try underLease(lease) { () throws(ServerError) in try createVersionUnderLease(m, caller) }
    }

    private func createVersionUnderLease(_ m: Message.CreateVersion, _ caller: Caller) throws(ServerError)
        -> Message.VersionCreated
    {
        try validTag(m.version, "version")
        if let lease = m.lease {
            let session = try upload(lease)
            try s { () throws(StoreError) in try session.touch() }
        }
        guard try s({ () throws(StoreError) in try store.hasTree(m.tree) }) else {
            throw ServerError(.notFound, "tree \(m.tree) is not committed; COMMIT it before CREATE_VERSION")
        }
        let (info, created) = try registerVersion(
            name: m.name, version: m.version, tree: m.tree, message: m.message, metadata: m.metadata,
            parents: m.parents, caller)
        return .init(
            name: info.name, version: info.version, tree: info.tree, createdAt: info.created, created: created
        )
    }

    /// Creates `name:version` → a committed tree (CREATE_VERSION, SNAPSHOT): resolves the parents
    /// (which must name versions), records the caller as creator. `created` is false when the
    /// version already existed with this tree.
    func registerVersion(
        name: String, version: String, tree: Digest, message: String, metadata entries: [MetadataEntry],
        parents refs: [String], _ caller: Caller
    ) throws(ServerError) -> (info: VersionRecord, created: Bool) {
        var parents: [VersionKey] = []
        for p in refs {
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
        var metadata: [String: MetadataValue] = [:]
        for e in entries { metadata[e.key] = e.value }
        let outcome = try s { () throws(StoreError) in
            try store.createVersion(
                name: name, version: version, tree: tree, creator: caller.actor, message: message,
                metadata: metadata, parents: parents)
        }
        if case .created = outcome {
            logger.info(
                "version created", metadata: ["ref": "\(name):\(version)", "tree": "\(tree)", "by": "\(caller.actor)"])
        }
        let created: Bool = if case .created = outcome { true } else { false }
        return (outcome.info, created)
    }
}
