import TroveCore
import TroveStore

/// `/_ui/diff?a=NAME:VERSION&b=NAME:VERSION`: what changed from a to b — metadata deltas, files
/// added, removed and changed, and how many bytes the two share (chunk by chunk).
extension WebUI {
    /// Above this many files in either tree, shared bytes are not computed (each file's recipe is read).
    static let maxFilesForSharing = 5000

    func diffPage(_ r: WebRequest) throws -> Page {
        let aText = r.query["a"] ?? ""
        let bText = r.query["b"] ?? ""
        var context: [String: Any] = ["a": aText, "b": bText, "action": WebFormat.link("diff")]
        guard !aText.isEmpty, !bText.isEmpty else {
            return Page(title: "Compare versions", template: "diff", context: context)
        }
        let a = try version(r, aText)
        let b = try version(r, bText)
        context["compared"] = true
        context["aHref"] = WebFormat.versionLink(a.name, a.version)
        context["bHref"] = WebFormat.versionLink(b.name, b.version)
        // Metadata.
        var meta: [[String: Any]] = []
        for k in Set(a.metadata.keys).union(b.metadata.keys).sorted() {
            let old = a.metadata[k]
            let new = b.metadata[k]
            guard old != new else { continue }
            meta.append([
                "key": k, "old": old.map { "\($0.description) (\(WebFormat.kind($0)))" } ?? "",
                "new": new.map { "\($0.description) (\(WebFormat.kind($0)))" } ?? "",
                "change": old == nil ? "added" : new == nil ? "removed" : "changed",
            ])
        }
        context["metadata"] = meta
        context["hasMetadata"] = !meta.isEmpty
        // Files.
        let ta = try store.readTree(a.tree)
        let tb = try store.readTree(b.tree)
        let oldByPath = Dictionary(ta.entries.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
        let newByPath = Dictionary(tb.entries.map { ($0.path, $0) }, uniquingKeysWith: { x, _ in x })
        var files: [[String: Any]] = []
        var unchanged = 0
        for path in Set(oldByPath.keys).union(newByPath.keys).sorted() {
            let o = oldByPath[path]
            let n = newByPath[path]
            if let o, let n, o == n {
                unchanged += 1
                continue
            }
            files.append([
                "path": path, "change": o == nil ? "added" : n == nil ? "removed" : "changed",
                "old": o.map { WebFormat.bytes($0.size) } ?? "", "new": n.map { WebFormat.bytes($0.size) } ?? "",
            ])
        }
        context["files"] = files
        context["hasFiles"] = !files.isEmpty
        context["unchanged"] = unchanged
        context["added"] = files.filter { $0["change"] as? String == "added" }.count
        context["removed"] = files.filter { $0["change"] as? String == "removed" }.count
        context["changed"] = files.filter { $0["change"] as? String == "changed" }.count
        // Bytes shared: distinct chunks of a that b also holds.
        if ta.entries.count <= Self.maxFilesForSharing && tb.entries.count <= Self.maxFilesForSharing {
            let ca = try chunks(ta)
            let cb = try chunks(tb)
            var shared: UInt64 = 0
            for (d, n) in cb where ca[d] != nil { shared += n }
            let totalB = cb.values.reduce(0, +)
            let totalA = ca.values.reduce(0, +)
            context["sharing"] = true
            context["shared"] = WebFormat.bytes(shared)
            context["aBytes"] = WebFormat.bytes(totalA)
            context["bBytes"] = WebFormat.bytes(totalB)
            context["newBytes"] = WebFormat.bytes(totalB - shared)
            context["sharedShare"] = totalB == 0 ? "100" : WebFormat.fixed(Double(shared) * 100 / Double(totalB), 1)
        } else {
            context["sharingSkipped"] = "more than \(Self.maxFilesForSharing) files: shared bytes are not computed here"
        }
        return Page(title: "\(aText) → \(bText)", template: "diff", context: context)
    }

    /// `NAME:TAG` (a version or an alias) resolved to a version the viewer may see.
    private func version(_ r: WebRequest, _ text: String) throws -> VersionRecord {
        guard let colon = text.lastIndex(of: ":"), colon != text.startIndex else {
            throw WebError.badRequest("'\(text)' is not NAME:VERSION")
        }
        let name = String(text[..<colon])
        let tag = String(text[text.index(after: colon)...])
        try Self.requireCovered(r, name)
        let resolved = try store.resolve(.tag(name: name, tag: tag))
        guard let v = try store.version(name: name, version: resolved.version ?? tag) else {
            throw WebError.notFound("\(text) does not exist")
        }
        return v
    }

    /// The distinct chunks of a tree's files and their raw lengths.
    private func chunks(_ tree: Tree) throws -> [Digest: UInt64] {
        var out: [Digest: UInt64] = [:]
        var seen = Set<Digest>()
        for e in tree.entries {
            guard let blob = e.blob, seen.insert(blob).inserted, let recipe = try store.recipe(forBlob: blob) else { continue }
            for c in recipe.chunks { out[c.digest] = UInt64(c.length) }
        }
        return out
    }
}
