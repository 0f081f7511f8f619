import TroveCore
import TroveProtocol

/// Registry requests (PROTOCOL.md §11): the log of a name, aliases with their history, and
/// lineage computed from the `parents` of versions.
extension Remote {
    /// LOG: the live versions of `name`, newest first, each with the aliases pointing at it.
    public func log(name: String, includeRetired: Bool = false, limit: UInt32 = 0) throws(ClientError)
        -> [VersionInfo]
    {
        try Self.validate(name: name)
        return try connection.call(Message.Log(name: name, includeRetired: includeRetired, limit: limit))
            .versions
    }

    /// ALIAS_LIST: the aliases of `name` (alias, version, when and by whom it last moved).
    public func aliases(name: String) throws(ClientError) -> [AliasInfo] {
        try Self.validate(name: name)
        return try connection.call(Message.AliasList(name: name)).aliases
    }

    /// ALIAS_SET by compare-and-swap. With `expect == nil` the current value is read first
    /// (ALIAS_LIST) and sent as the expectation, so a concurrent move makes this one fail with
    /// `stale-expectation` (exit 4) instead of silently overwriting it.
    public func setAlias(name: String, alias: String, version: String, expect expected: String?)
        throws(ClientError)
        -> Message.AliasSetOK
    {
        try Self.validate(name: name)
        try Self.validate(tag: alias, what: "alias")
        try Self.validate(tag: version, what: "version")
        if let expected { try Self.validate(tag: expected, what: "--expect version") }
        let expectation: AliasExpectation
        if let expected {
            expectation = .version(expected)
        } else if let current = try aliases(name: name).first(where: { $0.alias == alias }) {
            expectation = .version(current.version)
        } else {
            expectation = .absent
        }
        return try connection.call(
            Message.AliasSet(name: name, alias: alias, version: version, expect: expectation))
    }

    /// ALIAS_HISTORY: every move of `name:alias`, newest first (removals have `to == nil`).
    public func aliasHistory(name: String, alias: String) throws(ClientError) -> [AliasEvent] {
        try Self.validate(name: name)
        try Self.validate(tag: alias, what: "alias")
        return try connection.call(Message.AliasHistory(name: name, alias: alias, limit: 0)).events
    }

    /// ALIAS_RM: removes `name:alias` (recorded in its history); fails with `not-found` if absent.
    public func removeAlias(name: String, alias: String) throws(ClientError) -> Message.AliasRemoved {
        try Self.validate(name: name)
        try Self.validate(tag: alias, what: "alias")
        return try connection.call(Message.AliasRemove(name: name, alias: alias, expect: .any))
    }

    static func validate(name: String) throws(ClientError) {
        do { try Names.validateName(name) } catch { throw .usage(detail: "\(error)") }
    }

    static func validate(tag: String, what: String) throws(ClientError) {
        do { try Names.validateTag(tag, what: what) } catch { throw .usage(detail: "\(error)") }
    }
}

/// One node of a lineage graph: a version and the versions above (parents) or below (children)
/// it. A version reached twice is expanded once; later occurrences have `repeated == true`.
public struct LineageNode: Sendable {
    /// `NAME:VERSION`.
    public var ref: String
    /// The version's record; nil when it could not be found (a parent since retired and collected).
    public var info: VersionInfo?
    /// Parents (upstream) or children (downstream), in a stable order.
    public var next: [LineageNode]
    /// Already shown elsewhere in the graph (not expanded again).
    public var repeated: Bool
    /// Not expanded because the depth limit was reached while it still had neighbours.
    public var truncated: Bool
}

/// Direction of a lineage walk.
public enum LineageDirection: Sendable {
    /// Towards parents (what it was built from).
    case up
    /// Towards children (what was built from it).
    case down
}

extension Remote {
    /// The lineage of `ref` (resolved with GET_REF; an alias resolves to its version). Upstream
    /// follows `parents` with GET_REF; downstream scans LIST_VERSIONS (retired versions included)
    /// once and inverts the parent edges. `depth` 0 means unlimited.
    public func lineage(of ref: String, direction: LineageDirection, depth: Int) throws(ClientError)
        -> LineageNode
    {
        let root = try resolve(ref)
        guard let info = root.version else {
            throw .usage(detail: "lineage needs a version (NAME:VERSION or NAME:ALIAS), not a tree digest")
        }
        let rootRef = "\(info.name):\(info.version)"
        var expanded = Set<String>()
        switch direction {
        case .up:
            var cache: [String: VersionInfo?] = [rootRef: info]
            func lookup(_ r: String) throws(ClientError) -> VersionInfo? {
                if let c = cache[r] { return c }
                var v: VersionInfo?
                do throws(ClientError) { v = try resolve(r).version } catch {
                    guard error.serverCode == .notFound || error.serverCode == .retired else { throw error }
                    v = nil
                }
                cache[r] = v
                return v
            }
            func walk(_ r: String, _ level: Int) throws(ClientError) -> LineageNode {
                let v = try lookup(r)
                let parents = v?.parents ?? []
                if expanded.contains(r) {
                    return LineageNode(
                        ref: r, info: v, next: [], repeated: !parents.isEmpty, truncated: false)
                }
                if depth > 0 && level >= depth {
                    return LineageNode(
                        ref: r, info: v, next: [], repeated: false, truncated: !parents.isEmpty)
                }
                expanded.insert(r)
                var next: [LineageNode] = []
                for p in parents { next.append(try walk(p, level + 1)) }
                return LineageNode(ref: r, info: v, next: next, repeated: false, truncated: false)
            }
            return try walk(rootRef, 0)
        case .down:
            let all = try listVersions(prefix: "", includeRetired: true)
            var byRef: [String: VersionInfo] = [rootRef: info]
            var children: [String: [String]] = [:]
            for v in all {
                let r = "\(v.name):\(v.version)"
                byRef[r] = v
                for p in v.parents { children[p, default: []].append(r) }
            }
            func walk(_ r: String, _ level: Int) -> LineageNode {
                let kids = (children[r] ?? []).sorted()
                if expanded.contains(r) {
                    return LineageNode(
                        ref: r, info: byRef[r], next: [], repeated: !kids.isEmpty, truncated: false)
                }
                if depth > 0 && level >= depth {
                    return LineageNode(
                        ref: r, info: byRef[r], next: [], repeated: false, truncated: !kids.isEmpty)
                }
                expanded.insert(r)
                return LineageNode(
                    ref: r, info: byRef[r], next: kids.map { walk($0, level + 1) }, repeated: false,
                    truncated: false)
            }
            return walk(rootRef, 0)
        }
    }
}
