import TroveCore

extension Store {
    /// Where `name:alias` pointed at `at` (milliseconds since the epoch): the target of the last
    /// move at or before `at`, read from the alias history in one indexed query. Throws
    /// `.aliasNotSetAt` (saying when the alias first pointed somewhere) if it did not exist yet or
    /// had been removed, `.refNotFound` if it never existed, `.invalidArgument` for a version tag
    /// (versions do not move), `.versionRetired` if that version has been retired since.
    public func resolve(name: String, alias: String, at: Int64) throws(StoreError) -> ResolvedRef {
        try Store.validate(name: name, tag: alias, what: "alias")
        let ref = Ref.aliasAt(name: name, alias: alias, at: at)
        return try catalog.read { db in
            let move = try Row.fetchOne(
                db,
                sql: """
                    SELECT to_version, from_version, at FROM alias_history
                    WHERE name = ? AND alias = ? AND at <= ? ORDER BY at DESC, id DESC LIMIT 1
                    """, arguments: [name, alias, at])
            guard let version = move?["to_version"] as String? else {
                let first = try Row.fetchOne(
                    db,
                    sql: """
                        SELECT to_version, at FROM alias_history
                        WHERE name = ? AND alias = ? AND to_version IS NOT NULL ORDER BY at, id LIMIT 1
                        """, arguments: [name, alias])
                guard let first, let firstTarget = first["to_version"] as String? else {
                    if try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM versions WHERE name = ? AND version = ?", arguments: [name, alias])
                        ?? false
                    {
                        throw StoreError.invalidArgument(
                            "\(name):\(alias) is a version, not an alias; versions do not move: use \(name):\(alias)")
                    }
                    throw StoreError.refNotFound("alias \(name):\(alias) (it has never pointed at a version)")
                }
                let since = "it first pointed somewhere at \(RefTime.format(first["at"])) (\(name):\(firstTarget))"
                if let move, let removedFrom = move["from_version"] as String? {
                    let when: Int64 = move["at"]
                    throw StoreError.aliasNotSetAt(
                        ref: ref.description,
                        detail: "the alias had been removed at \(RefTime.format(when)) (it pointed at "
                            + "\(name):\(removedFrom)) and was not set again by then; \(since)")
                }
                throw StoreError.aliasNotSetAt(
                    ref: ref.description, detail: "the alias did not exist yet at that time; \(since)")
            }
            let tree = try Store.liveTree(db, name: name, version: version, ref: ref)
            return ResolvedRef(name: name, version: version, alias: alias, tree: tree)
        }
    }
}
