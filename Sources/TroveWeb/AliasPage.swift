import TroveCore
import TroveStore

/// `/_ui/alias?name=N&alias=A[&at=TIME]`: where an alias points, its whole history (newest
/// first, as `trove alias history` prints it) and, for a date or time, where it pointed then.
extension WebUI {
    func aliasPage(_ r: WebRequest) throws -> Page {
        let name = try Self.param(r, "name")
        let alias = try Self.param(r, "alias")
        try Self.requireCovered(r, name)
        let current = try store.aliases(name: name).first { $0.alias == alias }
        let history = try store.aliasHistory(name: name, alias: alias)
        guard current != nil || !history.isEmpty else {
            throw WebError.notFound("alias \(name):\(alias) has never been set")
        }
        let moves: [[String: Any]] = history.reversed().map { m in
            var row: [String: Any] = [
                "at": WebFormat.time(m.at), "by": m.actor.isEmpty ? "anonymous" : m.actor,
                "from": m.from ?? "(none)", "to": m.to ?? "(removed)", "removed": m.to == nil,
            ]
            if let f = m.from { row["fromHref"] = WebFormat.versionLink(name, f) }
            if let t = m.to { row["toHref"] = WebFormat.versionLink(name, t) }
            return row
        }
        var context: [String: Any] = [
            "name": name, "alias": alias, "nameHref": WebFormat.nameLink(name), "moves": moves,
            "action": WebFormat.link("alias"), "hasCurrent": current != nil,
        ]
        if let c = current {
            context["target"] = c.version
            context["targetHref"] = WebFormat.versionLink(name, c.version)
            context["updated"] = WebFormat.time(c.updated)
            context["updatedBy"] = c.updatedBy
        }
        if let atText = r.query["at"], !atText.isEmpty {
            context["at"] = atText
            context["asked"] = true
            let at: Int64
            do { at = try RefTime.parse(atText) } catch { throw WebError.badRequest("\(error)") }
            context["instant"] = WebFormat.time(at)
            do {
                let resolved = try store.resolve(name: name, alias: alias, at: at)
                let v = resolved.version ?? ""
                context["then"] = v
                context["thenHref"] = WebFormat.versionLink(name, v)
                context["found"] = true
            } catch {
                switch error {
                case .aliasNotSetAt, .versionRetired: context["thenError"] = "\(error)"
                default: throw error
                }
            }
        }
        return Page(title: "\(name):\(alias)", template: "alias", context: context)
    }
}
