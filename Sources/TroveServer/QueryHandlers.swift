import TroveCore
import TroveProtocol
import TroveStore

/// QUERY_VERSIONS (PROTOCOL.md §11): typed metadata conditions and sorting, evaluated in SQL by
/// `Store.versions`, streamed like LIST_VERSIONS.
extension RequestRouter {
    func queryVersions(_ m: Message.QueryVersions, _ caller: Caller) throws(ServerError) -> Response {
        let query = VersionQuery(
            prefix: m.prefix, includeRetired: m.includeRetired, conditions: m.conditions,
            sort: m.sort.map { MetadataSort(key: $0.key, descending: $0.descending) })
        return versionStream(query, limit: m.limit, grant: caller.grant)
    }
}
