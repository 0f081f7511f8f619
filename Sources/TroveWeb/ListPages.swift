import TroveCore
import TroveStore

/// The versions list (all names, by prefix and metadata) and a name's page (its aliases and
/// versions). Both page in SQL: a page is one keyset query (`after` the last row shown).
extension WebUI {
    /// `/_ui/?prefix=P&where=COND…&an=NAME&av=VERSION`.
    func listPage(_ r: WebRequest) throws -> Page {
        let requested = trimSlash(r.query["prefix"] ?? "")
        if !requested.isEmpty {
            do { try Names.validateName(requested) } catch { throw WebError.badRequest("prefix: \(error)") }
        }
        var prefix = requested
        var scopes: [[String: Any]] = []
        if !r.viewer.covers(requested) {
            let under = r.viewer.prefixes(under: requested)
            guard let first = under.first else {
                throw WebError.forbidden(
                    "'\(requested)' is outside the prefixes of the token '\(r.viewer.name ?? "")' (\(r.viewer.prefixes.joined(separator: ", ")))")
            }
            prefix = first
            scopes = under.map { ["prefix": $0, "href": WebFormat.link("", [("prefix", $0)]), "current": $0 == first] }
        }
        let whereText = r.query["where"] ?? ""
        let conditions = try Self.conditions(whereText)
        let query = VersionQuery(prefix: prefix, conditions: conditions)
        let (rows, next) = try versionRows(r, query, baseParams: [("prefix", prefix), ("where", whereText)])
        // The name index: only without metadata conditions (they select versions, not names).
        var names: [[String: Any]] = []
        var namesNext = ""
        if conditions.isEmpty {
            let after = r.query["nafter"]
            let found = try store.names(prefix: prefix, after: after, limit: pageSize + 1)
            names = found.prefix(pageSize).map {
                [
                    "name": $0.name, "href": WebFormat.nameLink($0.name), "versions": $0.moreVersions ? "\($0.versions)+" : "\($0.versions)",
                    "latest": WebFormat.time($0.latest),
                ]
            }
            if found.count > pageSize, let last = found.prefix(pageSize).last {
                namesNext = WebFormat.link("", [("prefix", prefix), ("nafter", last.name)])
            }
        }
        let heading = prefix.isEmpty ? "All versions" : "Versions under \(prefix)"
        return Page(
            title: heading, template: "list",
            context: [
                "heading": heading, "prefix": prefix, "where": whereText, "versions": rows, "hasVersions": !rows.isEmpty,
                "next": next, "hasNext": !next.isEmpty, "names": names, "hasNames": !names.isEmpty,
                "namesNext": namesNext, "hasNamesNext": !namesNext.isEmpty, "scopes": scopes,
                "hasScopes": !scopes.isEmpty, "filtered": !conditions.isEmpty,
            ])
    }

    /// `/_ui/name?name=N&where=…&av=VERSION`: aliases and versions of one name, newest first.
    func namePage(_ r: WebRequest) throws -> Page {
        let name = try Self.param(r, "name")
        try Self.requireCovered(r, name)
        let whereText = r.query["where"] ?? ""
        let query = VersionQuery(name: name, conditions: try Self.conditions(whereText))
        let (rows, next) = try versionRows(r, query, baseParams: [("name", name), ("where", whereText)])
        let aliases = try store.aliases(name: name).map {
            [
                "alias": $0.alias, "href": WebFormat.aliasLink(name, $0.alias), "version": $0.version,
                "versionHref": WebFormat.versionLink(name, $0.version), "updated": WebFormat.time($0.updated),
                "by": $0.updatedBy,
            ]
        }
        if rows.isEmpty && aliases.isEmpty && r.query["an"] == nil && whereText.isEmpty {
            throw WebError.notFound("\(name) has no versions")
        }
        return Page(
            title: name, template: "name",
            context: [
                "name": name, "where": whereText, "versions": rows, "hasVersions": !rows.isEmpty, "next": next,
                "hasNext": !next.isEmpty, "aliases": aliases, "hasAliases": !aliases.isEmpty,
            ])
    }

    /// One page of `query` after the cursor in `an`/`av`, as template rows, and the next page's link.
    private func versionRows(_ r: WebRequest, _ query: VersionQuery, baseParams: [(String, String)]) throws
        -> ([[String: Any]], String)
    {
        var cursor: VersionCursor? = nil
        if let an = r.query["an"], let av = r.query["av"] {
            guard r.viewer.covers(an), let v = try store.version(name: an, version: av) else {
                throw WebError.badRequest("the page cursor \(an):\(av) names no version; start from the first page")
            }
            cursor = VersionCursor(after: v)
        }
        let size = r.query["limit"].flatMap { Int($0) }.map { min(max(1, $0), 500) } ?? pageSize
        let page = try store.versions(query, after: cursor, limit: size + 1)
        let shown = page.prefix(size)
        let rows: [[String: Any]] = shown.map { v in
            [
                "name": v.name, "nameHref": WebFormat.nameLink(v.name), "version": v.version,
                "href": WebFormat.versionLink(v.name, v.version), "created": WebFormat.time(v.created),
                "creator": v.creator, "message": WebFormat.excerpt(v.message),
                "metadata": WebFormat.metadataSummary(v.metadata),
            ]
        }
        var next = ""
        if page.count > size, let last = shown.last {
            var params = baseParams.filter { !$0.1.isEmpty }
            if size != pageSize { params.append(("limit", String(size))) }
            next = WebFormat.link(r.path == "/name" ? "name" : "", params + [("an", last.name), ("av", last.version)])
        }
        return (rows, next)
    }

    /// Conditions from the search field: `KEY OP VALUE` terms separated by spaces
    /// (`auc>=0.9 task=churn`).
    static func conditions(_ text: String) throws(WebError) -> [MetadataCondition] {
        try text.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" }).map { term throws(WebError) in
            guard let c = MetadataCondition(parsing: String(term)) else {
                throw .badRequest(
                    "'\(term)' is not a metadata condition: write KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY<=VALUE, "
                        + "KEY>VALUE or KEY>=VALUE, separated by spaces (auc>=0.9 task=churn)")
            }
            return c
        }
    }

    func trimSlash(_ s: String) -> String {
        var t = s
        while t.hasSuffix("/") { t.removeLast() }
        return t
    }
}
