import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Pull, cat and range reads (PROTOCOL.md §10): GET_REF, GET_OBJECTS, GET_CHUNKS.
extension RequestRouter {
    func wireInfo(_ v: VersionRecord, aliases: [String]) -> VersionInfo {
        VersionInfo(
            name: v.name, version: v.version, tree: v.tree, createdAt: v.created,
            creator: v.creator == "anonymous" ? nil : v.creator, message: v.message,
            metadata: v.metadata.sorted { $0.key < $1.key }.map {
                MetadataEntry(key: $0.key, value: $0.value)
            },
            parents: v.parents.map(\.description), retired: v.retired != nil, aliases: aliases)
    }

    func aliasMap(_ name: String) throws(ServerError) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for a in try s({ () throws(StoreError) in try store.aliases(name: name) }) {
            out[a.version, default: []].append(a.alias)
        }
        return out
    }

    func getRef(_ m: Message.GetRef, _: Caller) throws(ServerError) -> Message.RefInfo {
        let ref: Ref
        do { ref = try Ref(parsing: m.ref) } catch { throw ServerError(.badRequest, "'\(m.ref)': \(error)") }
        let r = try s { () throws(StoreError) in try store.resolve(ref) }
        var info: VersionInfo?
        if let version = r.version {
            guard
                let v = try s({ () throws(StoreError) in try store.version(name: r.name, version: version) })
            else {
                throw ServerError(.notFound, "\(r.name):\(version) does not exist")
            }
            if v.retired != nil { throw ServerError(.retired, "\(r.name):\(version) is retired") }
            info = wireInfo(v, aliases: try aliasMap(r.name)[version] ?? [])
        }
        return .init(name: r.name, tree: r.tree, version: info, resolvedAlias: r.alias)
    }

    func getObjects(_ m: Message.GetObjects, _: Caller) throws(ServerError) -> Response {
        try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
        guard m.kind != .chunk else {
            throw ServerError(.badRequest, "GET_OBJECTS fetches recipes and trees; use GET_CHUNKS")
        }
        return .stream(ObjectFrames(router: self, kind: m.kind, digests: m.digests))
    }

    func getChunks(_ m: Message.GetChunks, _ caller: Caller) throws(ServerError) -> Response {
        try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
        return .stream(ChunkFrames(router: self, digests: m.digests, codecs: caller.codecs))
    }
}
