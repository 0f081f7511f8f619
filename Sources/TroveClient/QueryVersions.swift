import TroveCore
import TroveProtocol

extension Remote {
    /// QUERY_VERSIONS: versions under `prefix` meeting every condition, sorted by a metadata key
    /// if `sort` is given, evaluated on the server in SQL. A server older than QUERY_VERSIONS
    /// closes the connection; plain `KEY=VALUE` filters without a sort go through
    /// `listVersions`, which every server understands.
    public func queryVersions(
        prefix: String, conditions: [MetadataCondition], sort: VersionSort? = nil,
        includeRetired: Bool = false
    ) throws(ClientError) -> [VersionInfo] {
        if !prefix.isEmpty {
            let p = prefix.hasSuffix("/") ? String(prefix.dropLast()) : prefix
            do { try Names.validateName(p) } catch { throw .usage(detail: "invalid prefix: \(error)") }
        }
        if sort == nil && conditions.allSatisfy({ $0.op == .eq }) {
            return try listVersions(
                prefix: prefix,
                filters: conditions.map { MetadataFilter(key: $0.key, value: $0.value.description) },
                includeRetired: includeRetired)
        }
        return try connection.call(
            Message.QueryVersions(
                prefix: prefix, conditions: conditions, sort: sort, includeRetired: includeRetired, limit: 0)
        ).versions
    }
}
