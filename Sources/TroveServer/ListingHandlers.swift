import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Listing (PROTOCOL.md §11): LIST_VERSIONS, LOG, STAT.
extension RequestRouter {
    func matches(_ v: VersionRecord, _ filters: [MetadataFilter]) -> Bool {
        filters.allSatisfy { v.metadata[$0.key] == $0.value }
    }

    func versionList(_ versions: [VersionRecord]) throws(ServerError) -> Response {
        var maps: [String: [String: [String]]] = [:]
        var out: [VersionInfo] = []
        for v in versions {
            if maps[v.name] == nil { maps[v.name] = try aliasMap(v.name) }
            out.append(wireInfo(v, aliases: maps[v.name]?[v.version] ?? []))
        }
        return .stream(ListStream(out, perFrame: 2000) { .versionList(.init(versions: $0)) })
    }

    func listVersions(_ m: Message.ListVersions, _ caller: Caller) throws(ServerError) -> Response {
        let prefix = m.prefix.hasSuffix("/") ? String(m.prefix.dropLast()) : m.prefix
        var all = try s { () throws(StoreError) in
            try store.listVersions(prefix: prefix, includeRetired: m.includeRetired)
        }
        all = all.filter { v in
            (prefix.isEmpty || v.name == prefix || v.name.hasPrefix(prefix + "/"))
                && caller.grant.covers(name: v.name)
                && matches(v, m.filters)
        }
        if m.limit > 0 { all = Array(all.prefix(Int(m.limit))) }
        return try versionList(all)
    }

    func log(_ m: Message.Log, _: Caller) throws(ServerError) -> Response {
        var all = try s { () throws(StoreError) in
            try store.listVersions(prefix: m.name, includeRetired: m.includeRetired)
        }
        all = all.filter { $0.name == m.name }.sorted { ($0.created, $0.version) > ($1.created, $1.version) }
        if m.limit > 0 { all = Array(all.prefix(Int(m.limit))) }
        return try versionList(all)
    }

    func stat(_: Message.Stat, _: Caller) throws(ServerError) -> Message.Stats {
        let st = try s { () throws(StoreError) in try store.stats() }
        let counts = try s { () throws(StoreError) in try store.objectAndAliasCounts() }
        let c = store.config.chunking
        return .init(
            storeID: store.config.storeID, logicalBytes: st.logicalBytes, uniqueBytes: st.uniqueRawBytes,
            storedBytes: st.storedChunkBytes, chunkCount: UInt64(st.chunkCount),
            packCount: UInt64(st.packCount),
            objectCount: UInt64(counts.objects), versionCount: UInt64(st.versionCount),
            aliasCount: UInt64(counts.aliases), chunkMin: UInt32(c.min), chunkAvg: UInt32(c.avg),
            chunkMax: UInt32(c.max), normalization: UInt8(c.normalization))
    }
}
