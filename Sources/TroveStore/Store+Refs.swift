import Foundation
import TroveCore

/// Limits on version metadata.
public enum MetadataLimits {
    public static let maxEntries = 256
    public static let maxKeyBytes = 128
    public static let maxValueBytes = 4096
    public static let maxMessageBytes = 16 << 10
}

extension Store {
    // MARK: Ref log

    static func refLogHash(
        previous: Digest, seq: Int64, at: Int64, actor: String, op: String, name: String, tag: String,
        from: String?, to: String?, detail: String
    ) -> Digest {
        var w = ByteBuffer()
        w.digest(previous)
        w.u64(UInt64(bitPattern: seq))
        w.u64(UInt64(bitPattern: at))
        for s in [actor, op, name, tag] { w.string(s) }
        for s in [from, to] {
            if let s {
                w.u8(1)
                w.string(s)
            } else {
                w.u8(0)
            }
        }
        w.string(detail)
        return SHA256.hash(w.bytes)
    }

    /// Appends a hash-chained record inside the caller's write transaction (durable at commit).
    static func appendRefLog(
        _ db: any CatalogTransaction, at: Int64, actor: String, op: String, name: String, tag: String, from: String?,
        to: String?,
        detail: String
    ) throws {
        let last = try Row.fetchOne(db, sql: "SELECT seq, hash FROM reflog ORDER BY seq DESC LIMIT 1")
        let seq: Int64 = (last?["seq"] ?? 0) + 1
        let prev = (last?["hash"] as Data?).flatMap(Digest.init(data:)) ?? .zero
        let hash = refLogHash(
            previous: prev, seq: seq, at: at, actor: actor, op: op, name: name, tag: tag, from: from, to: to,
            detail: detail)
        try db.execute(
            sql: """
                INSERT INTO reflog (seq, at, actor, op, name, tag, from_value, to_value, detail, prev_hash, hash)
                VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                """, arguments: [seq, at, actor, op, name, tag, from, to, detail, prev.data, hash.data])
    }

    /// Ref-log records, oldest first; all of them, or those of one name.
    public func refLog(name: String? = nil) throws(StoreError) -> [RefLogEntry] {
        try catalog.read { db in
            let rows =
                if let name {
                    try Row.fetchAll(
                        db, sql: "SELECT * FROM reflog WHERE name = ? ORDER BY seq", arguments: [name])
                } else {
                    try Row.fetchAll(db, sql: "SELECT * FROM reflog ORDER BY seq")
                }
            return rows.map { r in
                RefLogEntry(
                    seq: r["seq"], at: r["at"], actor: r["actor"], op: r["op"], name: r["name"],
                    tag: r["tag"],
                    from: r["from_value"], to: r["to_value"], detail: r["detail"],
                    previousHash: (r["prev_hash"] as Data?).flatMap(Digest.init(data:)) ?? .zero,
                    hash: (r["hash"] as Data?).flatMap(Digest.init(data:)) ?? .zero)
            }
        }
    }

    // MARK: Versions

    static func validate(name: String, tag: String, what: String) throws(StoreError) {
        do {
            try Names.validateName(name)
            try Names.validateTag(tag, what: what)
        } catch { throw .invalidName(error) }
    }

    static func encodeMetadata(_ m: [String: MetadataValue]) throws(StoreError) -> String {
        guard m.count <= MetadataLimits.maxEntries else {
            throw .invalidArgument("more than \(MetadataLimits.maxEntries) metadata entries")
        }
        for (k, v) in m {
            let valueBytes = if case .string(let s) = v { s.utf8.count } else { 0 }
            guard !k.isEmpty, k.utf8.count <= MetadataLimits.maxKeyBytes,
                valueBytes <= MetadataLimits.maxValueBytes
            else {
                throw .invalidArgument(
                    "metadata key \"\(k.prefix(40))\" must be 1...\(MetadataLimits.maxKeyBytes) bytes and its value "
                        + "≤ \(MetadataLimits.maxValueBytes) bytes")
            }
        }
        if case .number(let d)? = m.values.first(where: { $0.numeric?.isFinite == false }) {
            throw .invalidArgument("metadata number \(d) is not finite")
        }
        return MetadataJSON.encode(m)
    }

    static func decodeMetadata(_ s: String) -> [String: MetadataValue] { MetadataJSON.decode(s) }

    /// String-only metadata (S3 user metadata), in the same JSON form.
    static func encodeMetadata(_ m: [String: String]) throws(StoreError) -> String {
        try encodeMetadata(m.mapValues { MetadataValue.string($0) })
    }

    static func decodeMetadata(_ s: String) -> [String: String] {
        MetadataJSON.decode(s).mapValues(\.description)
    }

    static func versionInfo(_ db: any CatalogTransaction, _ r: Row) throws -> VersionRecord {
        let name: String = r["name"]
        let version: String = r["version"]
        let parents = try Row.fetchAll(
            db,
            sql:
                "SELECT parent_name, parent_version FROM version_parents WHERE name = ? AND version = ? ORDER BY position",
            arguments: [name, version]
        ).map { VersionKey(name: $0["parent_name"], version: $0["parent_version"]) }
        return VersionRecord(
            name: name, version: version, tree: (r["tree"] as Data?).flatMap(Digest.init(data:)) ?? .zero,
            created: r["created"], creator: r["creator"], message: r["message"],
            metadata: decodeMetadata(r["metadata"]), parents: parents, retired: r["retired"])
    }

    /// Creates `name:version` → `tree` (create-only). The tree must have been committed; parents
    /// must exist. An existing version with the same tree is a successful no-op (`.existing`);
    /// with a different tree it is `.versionConflict`. Durable (ref log included) on return.
    public func createVersion(
        name: String, version: String, tree: Digest, creator: String, message: String = "",
        metadata: [String: MetadataValue] = [:], parents: [VersionKey] = []
    ) throws(StoreError) -> VersionCreateOutcome {
        try checkWritable()
        try Store.validate(name: name, tag: version, what: "version")
        for p in parents { try Store.validate(name: p.name, tag: p.version, what: "parent version") }
        guard message.utf8.count <= MetadataLimits.maxMessageBytes else {
            throw .invalidArgument("message longer than \(MetadataLimits.maxMessageBytes) bytes")
        }
        let meta = try Store.encodeMetadata(metadata)
        let now = Clock.nowMillis()
        return try catalog.write { db in
            if let r = try Row.fetchOne(
                db, sql: "SELECT * FROM versions WHERE name = ? AND version = ?", arguments: [name, version])
            {
                let info = try Store.versionInfo(db, r)
                guard info.tree == tree else {
                    throw StoreError.versionConflict(name: name, version: version, existing: info.tree)
                }
                return .existing(info)
            }
            if try Bool.fetchOne(
                db, sql: "SELECT 1 FROM aliases WHERE name = ? AND alias = ?", arguments: [name, version])
                ?? false
            {
                throw StoreError.tagInUse(name: name, tag: version, usedBy: "an alias")
            }
            guard
                try Bool.fetchOne(db, sql: "SELECT 1 FROM trees WHERE digest = ?", arguments: [tree.data])
                    ?? false
            else { throw StoreError.invalidCommit("tree \(tree) was not committed; commit it first") }
            try Store.gcNoteRoot(db, tree: tree)
            for p in parents {
                guard
                    try Bool.fetchOne(
                        db, sql: "SELECT 1 FROM versions WHERE name = ? AND version = ?",
                        arguments: [p.name, p.version]) ?? false
                else { throw StoreError.refNotFound("parent \(p)") }
            }
            try db.execute(
                sql: """
                    INSERT INTO versions (name, version, tree, created, creator, message, metadata, retired)
                    VALUES (?, ?, ?, ?, ?, ?, ?, NULL)
                    """, arguments: [name, version, tree.data, now, creator, message, meta])
            for (i, p) in parents.enumerated() {
                try db.execute(
                    sql: """
                        INSERT INTO version_parents (name, version, position, parent_name, parent_version)
                        VALUES (?, ?, ?, ?, ?)
                        """, arguments: [name, version, i, p.name, p.version])
            }
            try Store.appendRefLog(
                db, at: now, actor: creator, op: "version.create", name: name, tag: version, from: nil,
                to: tree.prefixed, detail: message)
            return .created(
                VersionRecord(
                    name: name, version: version, tree: tree, created: now, creator: creator,
                    message: message,
                    metadata: metadata, parents: parents, retired: nil))
        }
    }

    /// Retires a version (its data becomes collectable by GC). Refused while aliases point at it
    /// unless `force`, which also removes those aliases (each logged). Retiring a retired
    /// version is a no-op.
    public func retireVersion(name: String, version: String, actor: String, force: Bool = false)
        throws(StoreError)
    {
        try checkWritable()
        try Store.validate(name: name, tag: version, what: "version")
        let now = Clock.nowMillis()
        try catalog.write { db in
            guard
                let r = try Row.fetchOne(
                    db, sql: "SELECT retired FROM versions WHERE name = ? AND version = ?",
                    arguments: [name, version])
            else { throw StoreError.refNotFound("\(name):\(version)") }
            if (r["retired"] as Int64?) != nil { return }
            let aliases = try String.fetchAll(
                db, sql: "SELECT alias FROM aliases WHERE name = ? AND version = ? ORDER BY alias",
                arguments: [name, version])
            if !aliases.isEmpty && !force {
                throw StoreError.versionAliased(name: name, version: version, aliases: aliases)
            }
            for a in aliases {
                try db.execute(sql: "DELETE FROM aliases WHERE name = ? AND alias = ?", arguments: [name, a])
                try db.execute(
                    sql:
                        "INSERT INTO alias_history (name, alias, from_version, to_version, actor, at) VALUES (?, ?, ?, NULL, ?, ?)",
                    arguments: [name, a, version, actor, now])
                try Store.appendRefLog(
                    db, at: now, actor: actor, op: "alias.remove", name: name, tag: a, from: version, to: nil,
                    detail: "forced by retiring \(name):\(version)")
            }
            try db.execute(
                sql: "UPDATE versions SET retired = ? WHERE name = ? AND version = ?",
                arguments: [now, name, version])
            try Store.appendRefLog(
                db, at: now, actor: actor, op: "version.retire", name: name, tag: version, from: nil, to: nil,
                detail: force ? "force" : "")
        }
    }

    /// One version, or `nil`.
    public func version(name: String, version: String) throws(StoreError) -> VersionRecord? {
        try catalog.read { db in
            try Row.fetchOne(
                db, sql: "SELECT * FROM versions WHERE name = ? AND version = ?", arguments: [name, version]
            )
            .map { try Store.versionInfo(db, $0) }
        }
    }

    /// Versions that list `parent` among their parents (downstream lineage).
    public func children(of parent: VersionKey) throws(StoreError) -> [VersionKey] {
        try catalog.read { db in
            try Row.fetchAll(
                db,
                sql:
                    "SELECT name, version FROM version_parents WHERE parent_name = ? AND parent_version = ? ORDER BY name, version",
                arguments: [parent.name, parent.version]
            ).map { VersionKey(name: $0["name"], version: $0["version"]) }
        }
    }

    // MARK: Aliases

    /// Points `name:alias` at `version` (a live version of the same name), atomically, if the
    /// alias currently satisfies `expect`; otherwise `.aliasConflict` with its current target.
    /// Every move is recorded in the alias history and the ref log. Setting it to where it
    /// already points is a no-op. Returns where it pointed before (read in the same
    /// transaction), `nil` if it did not exist.
    @discardableResult
    public func setAlias(
        name: String, alias: String, version: String, expect: AliasExpectation = .any, actor: String
    ) throws(StoreError) -> String? {
        try checkWritable()
        try Store.validate(name: name, tag: alias, what: "alias")
        try Store.validate(name: name, tag: version, what: "version")
        let now = Clock.nowMillis()
        return try catalog.write { db in
            if try Bool.fetchOne(
                db, sql: "SELECT 1 FROM versions WHERE name = ? AND version = ?", arguments: [name, alias])
                ?? false
            {
                throw StoreError.tagInUse(name: name, tag: alias, usedBy: "a version")
            }
            guard
                let target = try Row.fetchOne(
                    db, sql: "SELECT retired FROM versions WHERE name = ? AND version = ?",
                    arguments: [name, version])
            else { throw StoreError.refNotFound("\(name):\(version)") }
            if (target["retired"] as Int64?) != nil {
                throw StoreError.versionRetired(name: name, version: version)
            }
            let current = try String.fetchOne(
                db, sql: "SELECT version FROM aliases WHERE name = ? AND alias = ?", arguments: [name, alias])
            switch expect {
            case .any: break
            case .absent:
                if current != nil {
                    throw StoreError.aliasConflict(name: name, alias: alias, current: current)
                }
            case .version(let v):
                if current != v { throw StoreError.aliasConflict(name: name, alias: alias, current: current) }
            }
            if current == version { return current }
            try db.execute(
                sql: """
                    INSERT INTO aliases (name, alias, version, updated, updated_by) VALUES (?, ?, ?, ?, ?)
                    ON CONFLICT(name, alias) DO UPDATE SET version = excluded.version, updated = excluded.updated,
                      updated_by = excluded.updated_by
                    """, arguments: [name, alias, version, now, actor])
            try db.execute(
                sql:
                    "INSERT INTO alias_history (name, alias, from_version, to_version, actor, at) VALUES (?, ?, ?, ?, ?, ?)",
                arguments: [name, alias, current, version, actor, now])
            try Store.appendRefLog(
                db, at: now, actor: actor, op: "alias.set", name: name, tag: alias, from: current,
                to: version,
                detail: "")
            return current
        }
    }

    /// Removes an alias if it satisfies `expect` (`.absent` is not meaningful here and fails).
    public func removeAlias(
        name: String, alias: String, expect: AliasExpectation = .any, actor: String
    ) throws(StoreError) {
        try checkWritable()
        try Store.validate(name: name, tag: alias, what: "alias")
        let now = Clock.nowMillis()
        try catalog.write { db in
            guard
                let current = try String.fetchOne(
                    db, sql: "SELECT version FROM aliases WHERE name = ? AND alias = ?",
                    arguments: [name, alias])
            else { throw StoreError.refNotFound("alias \(name):\(alias)") }
            switch expect {
            case .any: break
            case .absent: throw StoreError.aliasConflict(name: name, alias: alias, current: current)
            case .version(let v):
                if current != v { throw StoreError.aliasConflict(name: name, alias: alias, current: current) }
            }
            try db.execute(sql: "DELETE FROM aliases WHERE name = ? AND alias = ?", arguments: [name, alias])
            try db.execute(
                sql:
                    "INSERT INTO alias_history (name, alias, from_version, to_version, actor, at) VALUES (?, ?, ?, NULL, ?, ?)",
                arguments: [name, alias, current, actor, now])
            try Store.appendRefLog(
                db, at: now, actor: actor, op: "alias.remove", name: name, tag: alias, from: current, to: nil,
                detail: "")
        }
    }

    /// Aliases of a name, by alias.
    public func aliases(name: String) throws(StoreError) -> [AliasRecord] {
        try catalog.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM aliases WHERE name = ? ORDER BY alias", arguments: [name]
            ).map {
                AliasRecord(
                    name: $0["name"], alias: $0["alias"], version: $0["version"], updated: $0["updated"],
                    updatedBy: $0["updated_by"])
            }
        }
    }

    /// Every move of an alias, oldest first.
    public func aliasHistory(name: String, alias: String) throws(StoreError) -> [AliasMove] {
        try catalog.read { db in
            try Row.fetchAll(
                db, sql: "SELECT * FROM alias_history WHERE name = ? AND alias = ? ORDER BY id",
                arguments: [name, alias]
            ).map {
                AliasMove(
                    name: $0["name"], alias: $0["alias"], from: $0["from_version"], to: $0["to_version"],
                    actor: $0["actor"], at: $0["at"])
            }
        }
    }

    /// Resolves a reference: a version, an alias (followed to its version) or a tree digest
    /// (which must have been committed). Retired versions do not resolve.
    public func resolve(_ ref: Ref) throws(StoreError) -> ResolvedRef {
        switch ref {
        case .digest(let name, let d):
            guard try hasTree(d) else { throw .refNotFound(ref.description) }
            return ResolvedRef(name: name, version: nil, alias: nil, tree: d)
        case .aliasAt(let name, let alias, let at):
            return try resolve(name: name, alias: alias, at: at)
        case .tag(let name, let tag):
            return try catalog.read { db in
                var alias: String? = nil
                var version = tag
                if try
                    !(Bool.fetchOne(
                        db, sql: "SELECT 1 FROM versions WHERE name = ? AND version = ?",
                        arguments: [name, tag]) ?? false)
                {
                    guard
                        let v = try String.fetchOne(
                            db, sql: "SELECT version FROM aliases WHERE name = ? AND alias = ?",
                            arguments: [name, tag])
                    else { throw StoreError.refNotFound(ref.description) }
                    alias = tag
                    version = v
                }
                let tree = try Store.liveTree(db, name: name, version: version, ref: ref)
                return ResolvedRef(name: name, version: version, alias: alias, tree: tree)
            }
        }
    }

    /// The tree of the live version `name:version` (`ref` names what was asked for in errors).
    static func liveTree(_ db: any CatalogTransaction, name: String, version: String, ref: Ref) throws -> Digest {
        guard
            let r = try Row.fetchOne(
                db, sql: "SELECT tree, retired FROM versions WHERE name = ? AND version = ?",
                arguments: [name, version])
        else { throw StoreError.refNotFound(ref.description) }
        if (r["retired"] as Int64?) != nil {
            throw StoreError.versionRetired(name: name, version: version)
        }
        guard let tree = (r["tree"] as Data?).flatMap(Digest.init(data:)) else {
            throw StoreError.corruptData(what: "version \(name):\(version)", detail: "bad tree digest")
        }
        return tree
    }

    // MARK: Stats

    /// Store-wide figures (cheap: per-pack counters plus one pass over versions).
    public func stats() throws(StoreError) -> StoreStats {
        try catalog.read { db in
            let p = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS n, COALESCE(SUM(size), 0) AS size, COALESCE(SUM(chunks), 0) AS chunks,
                      COALESCE(SUM(raw_bytes), 0) AS raw, COALESCE(SUM(stored_bytes), 0) AS stored FROM packs
                    """)!
            let v = try Row.fetchOne(
                db,
                sql: """
                    SELECT COUNT(*) AS n, COALESCE(SUM(t.size), 0) AS logical FROM versions v
                    JOIN trees t ON t.digest = v.tree WHERE v.retired IS NULL
                    """)!
            return StoreStats(
                logicalBytes: UInt64(v["logical"] as Int64), uniqueRawBytes: UInt64(p["raw"] as Int64),
                storedChunkBytes: UInt64(p["stored"] as Int64), packBytes: UInt64(p["size"] as Int64),
                chunkCount: p["chunks"], packCount: p["n"], versionCount: v["n"])
        }
    }
}
