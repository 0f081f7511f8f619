import TroveCore
import TroveStore

/// `/_ui/version?name=N&version=V`: one version — who made it and why, typed metadata, files
/// with download links, parents, children, aliases and the lineage graph.
extension WebUI {
    /// Files listed on a version page; a larger tree says how many more it has.
    static let maxFilesShown = 2000

    func versionPage(_ r: WebRequest) throws -> Page {
        let name = try Self.param(r, "name")
        let tag = try Self.param(r, "version")
        try Self.requireCovered(r, name)
        var version = tag
        var viaAlias = ""
        if try store.version(name: name, version: tag) == nil,
            let a = try store.aliases(name: name).first(where: { $0.alias == tag })
        {
            version = a.version
            viaAlias = tag
        }
        guard let v = try store.version(name: name, version: version) else {
            throw WebError.notFound("\(name):\(tag) does not exist")
        }
        var files: [[String: Any]] = []
        var fileCount = 0
        var totalBytes: UInt64 = 0
        var treeError = ""
        do {
            let tree = try store.readTree(v.tree)
            fileCount = tree.entries.count
            for e in tree.entries {
                totalBytes += e.size
                guard files.count < Self.maxFilesShown else { continue }
                var row: [String: Any] = [
                    "path": e.path, "size": WebFormat.bytes(e.size), "bytes": String(e.size),
                    "kind": e.kind == .file ? "file" : e.kind == .symlink ? "symlink" : "directory",
                ]
                if let blob = e.blob {
                    row["digest"] = blob.prefixed
                    row["short"] = String(blob.hex.prefix(12))
                    if v.retired == nil { row["download"] = r.downloadURL(name, version, e.path) }
                }
                if let t = e.target { row["target"] = t }
                files.append(row)
            }
        } catch {
            treeError = "the files of this version cannot be read: \(error)"
        }
        let metadata: [[String: Any]] = v.metadata.keys.sorted().map { k in
            ["key": k, "value": v.metadata[k]!.description, "kind": WebFormat.kind(v.metadata[k]!)]
        }
        func refs(_ keys: [VersionKey]) -> (shown: [[String: Any]], hidden: Int) {
            let visible = keys.filter { r.viewer.covers($0.name) }
            return (
                visible.map { ["ref": $0.description, "href": WebFormat.versionLink($0.name, $0.version)] },
                keys.count - visible.count
            )
        }
        let parents = refs(v.parents)
        let children = refs(try store.children(of: v.key))
        let aliases = try store.aliases(name: name).filter { $0.version == version }.map {
            ["alias": $0.alias, "href": WebFormat.aliasLink(name, $0.alias)]
        }
        let graph = try LineageGraph(store: store, root: v, viewer: r.viewer)
        var context: [String: Any] = [
            "name": name, "version": version, "nameHref": WebFormat.nameLink(name), "viaAlias": viaAlias,
            "hasViaAlias": !viaAlias.isEmpty, "created": WebFormat.time(v.created), "creator": v.creator,
            "message": v.message, "hasMessage": !v.message.isEmpty, "tree": v.tree.prefixed,
            "retired": v.retired.map(WebFormat.time) ?? "", "isRetired": v.retired != nil,
            "metadata": metadata, "hasMetadata": !metadata.isEmpty, "files": files, "hasFiles": !files.isEmpty,
            "fileCount": fileCount, "totalSize": WebFormat.bytes(totalBytes), "treeError": treeError,
            "hasTreeError": !treeError.isEmpty, "filesCapped": fileCount > files.count && treeError.isEmpty,
            "parents": parents.shown, "hasParents": !parents.shown.isEmpty, "parentsHidden": parents.hidden,
            "hasParentsHidden": parents.hidden > 0, "children": children.shown,
            "hasChildren": !children.shown.isEmpty, "childrenHidden": children.hidden,
            "hasChildrenHidden": children.hidden > 0, "aliases": aliases, "hasAliases": !aliases.isEmpty,
            "lineage": graph.svgContext(), "diffAction": WebFormat.link("diff"),
            "self": "\(name):\(version)", "maxFiles": Self.maxFilesShown,
        ]
        if let p = v.parents.first(where: { r.viewer.covers($0.name) }) {
            context["parentDiff"] = WebFormat.link("diff", [("a", p.description), ("b", "\(name):\(version)")])
            context["hasParentDiff"] = true
        }
        return Page(title: "\(name):\(version)", template: "version", context: context)
    }
}
