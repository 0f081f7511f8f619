import Foundation
import Synchronization
import TroveCore
import TroveProtocol
import TroveStore

/// Listing (PROTOCOL.md §11): LIST_VERSIONS, LOG, STAT.
extension RequestRouter {
    func listVersions(_ m: Message.ListVersions, _ caller: Caller) throws(ServerError) -> Response {
        var metadata: [String: String] = [:]
        for f in m.filters {
            // Two values for one key can never both match.
            if let other = metadata[f.key], other != f.value {
                return .stream(ListStream([VersionInfo](), budget: listBudget) { .versionList(.init(versions: $0)) })
            }
            metadata[f.key] = f.value
        }
        let query = VersionQuery(prefix: m.prefix, includeRetired: m.includeRetired, metadata: metadata)
        return versionStream(query, limit: m.limit, grant: caller.grant)
    }

    func log(_ m: Message.Log, _ caller: Caller) throws(ServerError) -> Response {
        versionStream(VersionQuery(name: m.name, includeRetired: m.includeRetired), limit: m.limit, grant: caller.grant)
    }

    /// VERSION_LIST frames filled up to the frame cap, from store pages read as the client takes
    /// frames (memory bounded by a page and a frame, whatever the number of versions).
    func versionStream(_ query: VersionQuery, limit: UInt32, grant: Grant) -> Response {
        let pages = VersionPages(router: self, query: query, limit: limit, grant: grant)
        return .stream(
            ListStream(budget: listBudget, source: { () throws(ServerError) in try pages.next() }) {
                .versionList(.init(versions: $0))
            })
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

/// Walks a version query page by page for `versionStream`: keeps what the token may see, stops
/// after `limit` versions (0 = all), and adds each version's aliases.
final class VersionPages: Sendable {
    private struct Walk {
        var remaining: Int
        var cursor: VersionCursor?
        var done = false
        /// Alias maps of recently listed names (versions of one name tend to come together).
        var aliases: [String: [String: [String]]] = [:]
    }

    static let pageSize = 256
    let router: RequestRouter
    let query: VersionQuery
    let grant: Grant
    private let walk: Mutex<Walk>

    init(router: RequestRouter, query: VersionQuery, limit: UInt32, grant: Grant) {
        self.router = router
        self.query = query
        self.grant = grant
        walk = Mutex(Walk(remaining: limit > 0 ? Int(limit) : Int.max))
    }

    /// The next versions to send; empty at the end.
    func next() throws(ServerError) -> [VersionInfo] {
        try walk.withLock { (w) throws(ServerError) -> [VersionInfo] in
            while !w.done && w.remaining > 0 {
                let after = w.cursor
                let page = try router.s { () throws(StoreError) in
                    try router.store.versions(query, after: after, limit: VersionPages.pageSize)
                }
                w.done = page.count < VersionPages.pageSize
                guard let last = page.last else { break }
                w.cursor = VersionCursor(after: last, sort: query.sort)
                let visible = page.filter { grant.covers(name: $0.name) }.prefix(w.remaining)
                w.remaining -= visible.count
                if visible.isEmpty { continue }
                var out: [VersionInfo] = []
                for v in visible {
                    if w.aliases[v.name] == nil {
                        if w.aliases.count >= 1024 { w.aliases.removeAll() }
                        w.aliases[v.name] = try router.aliasMap(v.name)
                    }
                    out.append(router.wireInfo(v, aliases: w.aliases[v.name]?[v.version] ?? []))
                }
                return out
            }
            return []
        }
    }
}
