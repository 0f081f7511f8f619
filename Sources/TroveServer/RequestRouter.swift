import Foundation
import Logging
import NIOCore
import TroveCore
import TroveProtocol
import TroveStore

/// Executes authenticated requests against the store. Every method blocks (fsync, SQLite, pack
/// reads) and runs on a worker thread, never on an event loop. Thread-safe.
final class RequestRouter: @unchecked Sendable {
    let store: Store
    let config: ServerConfig
    let leases = LeaseTable()
    let logger: Logger

    init(store: Store, config: ServerConfig, logger: Logger) {
        self.store = store
        self.config = config
        self.logger = logger
    }

    var limits: SessionLimits { config.limits }

    /// Runs a store call, mapping its failure to a protocol error.
    @inline(__always)
    func s<T>(_ body: () throws(StoreError) -> T) throws(ServerError) -> T {
        do { return try body() } catch { throw ServerError(error) }
    }

    func require(_ grant: Grant, _ scope: AccessScope, name: String? = nil) throws(ServerError) {
        guard grant.allows(scope) else {
            throw ServerError(
                .permissionDenied,
                "token '\(grant.actor)' has scope \(grant.scope) but this needs \(scope); ask an admin for a token with \(scope)"
            )
        }
        if let name, !grant.covers(name: name) {
            throw ServerError(
                .permissionDenied,
                "token '\(grant.actor)' may only touch names under \(grant.prefixes.joined(separator: ", ")), not '\(name)'"
            )
        }
    }

    func validName(_ name: String) throws(ServerError) {
        do { try Names.validateName(name) } catch { throw ServerError(.badRequest, "\(error)") }
    }

    func validTag(_ tag: String, _ what: String) throws(ServerError) {
        do { try Names.validateTag(tag, what: what) } catch { throw ServerError(.badRequest, "\(error)") }
    }

    func checkCount(_ n: Int, _ limit: UInt32, _ what: String) throws(ServerError) {
        guard n <= Int(limit) else {
            throw ServerError(
                .limitExceeded, "\(n) \(what) in one request; the limit announced in HELLO_OK is \(limit)")
        }
    }

    /// Dispatches one request. `codecs` are the codecs the client accepts.
    func handle(_ message: Message, grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response {
        switch message {
        case .beginPush(let m): return .single(try beginPush(m, grant))
        case .has(let m): return .single(try has(m, grant))
        case .putChunks(let m): return .single(try putChunks(m, grant))
        case .putObjects(let m): return .single(try putObjects(m, grant))
        case .commit(let m): return try commit(m, grant)
        case .createVersion(let m): return .single(try createVersion(m, grant))
        case .endPush(let m): return .single(try endPush(m, grant))
        case .getRef(let m): return .single(try getRef(m, grant))
        case .getObjects(let m): return try getObjects(m, grant)
        case .getChunks(let m): return try getChunks(m, grant, codecs: codecs)
        case .listVersions(let m): return try listVersions(m, grant)
        case .log(let m): return try log(m, grant)
        case .stat: return .single(try stat(grant))
        case .aliasSet(let m): return .single(try aliasSet(m, grant))
        case .aliasList(let m): return try aliasList(m, grant)
        case .aliasHistory(let m): return try aliasHistory(m, grant)
        case .aliasRemove(let m): return .single(try aliasRemove(m, grant))
        case .retire(let m): return .single(try retire(m, grant))
        case .gc(let m): return try gc(m, grant)
        case .scrub(let m): return try scrub(m, grant)
        default:
            throw ServerError(.protocolViolation, "\(message.type) is not a request a client may send here")
        }
    }

    // MARK: Push

    func leaseSeconds() -> Int64 { Int64(limits.leaseTTLSeconds) }

    func beginPush(_ m: Message.BeginPush, _ grant: Grant) throws(ServerError) -> Message {
        try validName(m.name)
        try require(grant, .write, name: m.name)
        let now = Clock.nowMillis()
        if let resume = m.resume {
            let alive =
                (try? leases.with(resume, now: now) { e throws(ServerError) in e.name == m.name }) ?? false
            if alive,
                let lease = try s({ () throws(StoreError) in
                    try store.renewLease(id: resume.description, seconds: leaseSeconds())
                })
            {
                leases.register(resume, name: m.name, expires: lease.expires)
                return .pushBegun(.init(lease: resume, expiresAt: lease.expires, resumed: true))
            }
        }
        let lease = try s { () throws(StoreError) in
            try store.beginLease(name: m.name, seconds: leaseSeconds())
        }
        guard let id = LeaseID(hex: lease.id) else {
            throw ServerError(
                .internalError, "store issued a lease id that is not 32 hex digits: \(lease.id)")
        }
        leases.register(id, name: m.name, expires: lease.expires)
        return .pushBegun(.init(lease: id, expiresAt: lease.expires, resumed: false))
    }

    /// Checks the lease and extends it; renews the store's lease row when half its life is gone
    /// (a catalog write per request would cost an fsync each).
    func touchLease(_ id: LeaseID) throws(ServerError) {
        let now = Clock.nowMillis()
        let ttl = leaseSeconds() * 1000
        let renew = try leases.with(id, now: now) { e throws(ServerError) -> Bool in
            let stale = e.expires - now < ttl / 2
            if stale { e.expires = now + ttl }
            return stale
        }
        if renew {
            _ = try s { () throws(StoreError) in
                try store.renewLease(id: id.description, seconds: leaseSeconds())
            }
        }
    }

    func has(_ m: Message.Has, _ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .write)
        try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
        try touchLease(m.lease)
        var present: [Bool]
        switch m.kind {
        case .chunk:
            let missing = Set(try s { () throws(StoreError) in try store.missing(m.digests) })
            present = m.digests.map { !missing.contains($0) }
            let have = m.digests.filter { !missing.contains($0) }
            if !have.isEmpty { try s { () throws(StoreError) in try store.touch(have) } }
        case .recipe:
            let staged = try leases.with(m.lease, now: Clock.nowMillis()) { e throws(ServerError) in e.recipes
            }
            present = []
            for d in m.digests {
                if staged[d] != nil {
                    present.append(true)
                } else {
                    present.append(
                        try s { () throws(StoreError) in try store.recipeDigest(forBlob: d) } != nil)
                }
            }
        case .tree:
            let staged = try leases.with(m.lease, now: Clock.nowMillis()) { e throws(ServerError) in e.trees }
            present = []
            for d in m.digests {
                if staged.contains(d) {
                    present.append(true)
                } else {
                    present.append(try s { () throws(StoreError) in try store.hasTree(d) })
                }
            }
        }
        return .hasResult(.init(present: PresenceBitmap(present)))
    }

    func putChunks(_ m: Message.PutChunks, _ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .write)
        try checkCount(m.chunks.count, limits.maxChunksPerPut, "chunks")
        try touchLease(m.lease)
        let inputs = m.chunks.map {
            ChunkInput(
                digest: $0.digest, codec: $0.codec, rawLength: Int($0.rawLength),
                bytes: Array($0.data.readableBytesView))
        }
        let result = try s { () throws(StoreError) in try store.putChunks(inputs) }
        if let bad = result.rejected.first {
            throw ServerError(
                .integrity,
                "\(result.rejected.count) chunk(s) refused, e.g. \(bad.digest): \(bad.reason); the client's data or "
                    + "network corrupted them — retry the push")
        }
        return .putChunksOK(.init(stored: UInt32(result.stored), alreadyPresent: UInt32(result.duplicates)))
    }

    func putObjects(_ m: Message.PutObjects, _ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .write)
        try touchLease(m.lease)
        var complete: [VerifiedObject] = []
        for part in m.parts {
            guard part.kind != .chunk else {
                throw ServerError(.badRequest, "PUT_OBJECTS carries recipes and trees, not chunks")
            }
            guard part.totalLength <= limits.maxObjectLength else {
                throw ServerError(
                    .limitExceeded,
                    "object \(part.digest) is \(part.totalLength) bytes; the limit is \(limits.maxObjectLength)"
                )
            }
            let len = UInt64(part.data.readableBytes)
            guard part.offset &+ len <= part.totalLength, part.offset <= part.totalLength else {
                throw ServerError(
                    .badRequest,
                    "object part \(part.offset)+\(len) runs past its total length \(part.totalLength)")
            }
            let bytes: [UInt8]
            if part.offset == 0 && len == part.totalLength {
                bytes = Array(part.data.readableBytesView)
            } else {
                guard let whole = try appendPart(part, lease: m.lease) else { continue }
                bytes = whole
            }
            complete.append(try verifyObject(kind: part.kind, digest: part.digest, bytes: bytes))
        }
        // One durable write for the whole request: a file fsync each, one fsync per shard directory.
        let digests = try s { () throws(StoreError) in
            try store.storeObjects(canonical: complete.map(\.bytes))
        }
        try leases.with(m.lease, now: Clock.nowMillis()) { e throws(ServerError) in
            for (object, stored) in zip(complete, digests) {
                switch object.kind {
                case .tree: e.trees.insert(object.key)
                case .recipe: e.recipes[object.key] = stored
                case .chunk: break
                }
            }
        }
        return .putObjectsOK(.init(completed: UInt32(complete.count)))
    }

    /// A complete object that decoded and matched the digest it was sent under.
    struct VerifiedObject {
        var kind: ContentKind
        /// The tree digest, or the blob digest a recipe rebuilds.
        var key: Digest
        var bytes: [UInt8]
    }

    /// Appends a part to its staging file; returns the whole object when the last part arrived.
    func appendPart(_ part: ObjectPart, lease: LeaseID) throws(ServerError) -> [UInt8]? {
        let key = LeaseTable.ObjectKey(kind: part.kind, digest: part.digest)
        let path = store.stagingPath("\(lease)-\(part.kind)-\(part.digest.hex)")
        let have = try leases.with(lease, now: Clock.nowMillis()) { e throws(ServerError) in
            e.partial[key] ?? 0
        }
        guard part.offset == have || part.offset == 0 else {
            throw ServerError(
                .badRequest,
                "object \(part.digest): part at offset \(part.offset), expected \(have) (or 0 to restart)")
        }
        let flags = part.offset == 0 ? (O_WRONLY | O_CREAT | O_TRUNC) : (O_WRONLY | O_APPEND)
        let fd = open(path, flags | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw ServerError(
                .internalError, "cannot open staging file \(path): \(String(cString: strerror(errno)))")
        }
        let ok = part.data.withUnsafeReadableBytes { raw -> Bool in
            var off = 0
            while off < raw.count {
                let n = write(fd, raw.baseAddress! + off, raw.count - off)
                if n <= 0 { return false }
                off += n
            }
            return true
        }
        close(fd)
        guard ok else {
            throw ServerError(
                .internalError, "cannot write staging file \(path): \(String(cString: strerror(errno)))")
        }
        let now = part.offset + UInt64(part.data.readableBytes)
        try leases.with(lease, now: Clock.nowMillis()) { e throws(ServerError) in e.partial[key] = now }
        guard now == part.totalLength else { return nil }
        try leases.with(lease, now: Clock.nowMillis()) { e throws(ServerError) in e.partial[key] = nil }
        defer { unlink(path) }
        guard let data = FileManager.default.contents(atPath: path), UInt64(data.count) == part.totalLength
        else {
            throw ServerError(
                .internalError, "staging file \(path) is not the expected \(part.totalLength) bytes")
        }
        return [UInt8](data)
    }

    /// Checks a complete object: a tree must hash to its digest and parse; a recipe must parse and
    /// rebuild the blob it is sent under.
    func verifyObject(kind: ContentKind, digest: Digest, bytes: [UInt8]) throws(ServerError) -> VerifiedObject
    {
        switch kind {
        case .tree:
            guard SHA256.hash(bytes) == digest else {
                throw ServerError(.integrity, "tree bytes do not hash to \(digest); resend the tree")
            }
            do { try Tree(canonical: bytes).validate() } catch {
                throw ServerError(.badRequest, "tree \(digest) is invalid: \(error)")
            }
        case .recipe:
            let recipe: Recipe
            do {
                recipe = try Recipe(canonical: bytes)
                try recipe.validate()
            } catch { throw ServerError(.badRequest, "recipe for blob \(digest) is invalid: \(error)") }
            guard recipe.blobDigest == digest else {
                throw ServerError(
                    .badRequest, "recipe sent as blob \(digest) rebuilds blob \(recipe.blobDigest)")
            }
        case .chunk:
            throw ServerError(.badRequest, "PUT_OBJECTS carries recipes and trees, not chunks")
        }
        return VerifiedObject(kind: kind, key: digest, bytes: bytes)
    }

    func commit(_ m: Message.Commit, _ grant: Grant) throws(ServerError) -> Response {
        try require(grant, .write)
        try touchLease(m.lease)
        let staged = try leases.with(m.lease, now: Clock.nowMillis()) { e throws(ServerError) in
            (e.recipes, e.trees)
        }
        guard store.hasObject(m.tree) || staged.1.contains(m.tree) else {
            return .single(
                .commitMissing(.init(chunks: [], objects: [ObjectRef(kind: .tree, digest: m.tree)])))
        }
        let tree: Tree
        do {
            tree = try store.readTree(m.tree)
        } catch .objectNotFound {
            // A GC removed an uncommitted upload since PUT_OBJECTS: ask for it again.
            return .single(
                .commitMissing(.init(chunks: [], objects: [ObjectRef(kind: .tree, digest: m.tree)])))
        } catch {
            throw ServerError(error)
        }
        var recipes: [Recipe] = []
        var missingObjects: [ObjectRef] = []
        var seen = Set<Digest>()
        for entry in tree.entries where entry.kind == .file {
            guard let blob = entry.blob, seen.insert(blob).inserted else { continue }
            if try s({ () throws(StoreError) in try store.recipeDigest(forBlob: blob) }) != nil { continue }
            if let object = staged.0[blob], let recipe = try stagedRecipe(object) {
                recipes.append(recipe)
            } else {
                missingObjects.append(ObjectRef(kind: .recipe, digest: blob))
            }
        }
        if !missingObjects.isEmpty {
            return .stream(
                ListStream(missingObjects, perFrame: ProtocolLimits.maxDigestsPerRequest) {
                    .commitMissing(.init(chunks: [], objects: $0))
                })
        }
        switch try s({ () throws(StoreError) in try store.commit(recipes: recipes, tree: tree) }) {
        case .committed(let digest):
            let files = tree.entries.filter { $0.kind == .file }.count
            return .single(
                .commitOK(.init(tree: digest, files: UInt32(clamping: files), totalSize: tree.totalSize)))
        case .missing(let chunks):
            return .stream(
                ListStream(chunks, perFrame: ProtocolLimits.maxDigestsPerRequest) {
                    .commitMissing(.init(chunks: $0, objects: []))
                })
        }
    }

    /// A recipe stored ahead of its commit, or nil if a GC removed it since (the client resends).
    func stagedRecipe(_ object: Digest) throws(ServerError) -> Recipe? {
        do { return try store.readRecipe(object: object) } catch .objectNotFound { return nil } catch {
            throw ServerError(error)
        }
    }

    func createVersion(_ m: Message.CreateVersion, _ grant: Grant) throws(ServerError) -> Message {
        try validName(m.name)
        try validTag(m.version, "version")
        try require(grant, .write, name: m.name)
        if let lease = m.lease { try touchLease(lease) }
        guard try s({ () throws(StoreError) in try store.hasTree(m.tree) }) else {
            throw ServerError(.notFound, "tree \(m.tree) is not committed; COMMIT it before CREATE_VERSION")
        }
        var parents: [VersionKey] = []
        for p in m.parents {
            let ref: Ref
            do { ref = try Ref(parsing: p) } catch {
                throw ServerError(.badRequest, "parent '\(p)': \(error)")
            }
            let resolved = try s { () throws(StoreError) in try store.resolve(ref) }
            guard let v = resolved.version else {
                throw ServerError(
                    .badRequest, "parent '\(p)' must name a version (NAME:VERSION or an alias), not a digest")
            }
            parents.append(VersionKey(name: resolved.name, version: v))
        }
        var metadata: [String: String] = [:]
        for e in m.metadata { metadata[e.key] = e.value.description }
        let outcome = try s { () throws(StoreError) in
            try store.createVersion(
                name: m.name, version: m.version, tree: m.tree, creator: grant.actor, message: m.message,
                metadata: metadata, parents: parents)
        }
        let info = outcome.info
        if case .created = outcome {
            logger.info(
                "version created",
                metadata: ["ref": "\(m.name):\(m.version)", "tree": "\(m.tree)", "by": "\(grant.actor)"])
        }
        let created: Bool = if case .created = outcome { true } else { false }
        return .versionCreated(
            .init(
                name: info.name, version: info.version, tree: info.tree, createdAt: info.created,
                created: created))
    }

    func endPush(_ m: Message.EndPush, _ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .write)
        let entry = leases.remove(m.lease)
        if let entry {
            for key in entry.partial.keys {
                unlink(store.stagingPath("\(m.lease)-\(key.kind)-\(key.digest.hex)"))
            }
        }
        try s { () throws(StoreError) in try store.endLease(id: m.lease.description) }
        return .pushEnded(.init(released: entry != nil))
    }

    // MARK: Read

    func wireInfo(_ v: TroveStore.VersionInfo, aliases: [String]) -> TroveProtocol.VersionInfo {
        TroveProtocol.VersionInfo(
            name: v.name, version: v.version, tree: v.tree, createdAt: v.created,
            creator: v.creator == "anonymous" ? nil : v.creator, message: v.message,
            metadata: v.metadata.sorted { $0.key < $1.key }.map {
                MetadataEntry(key: $0.key, value: .string($0.value))
            },
            parents: v.parents.map(\.description), retired: v.retired != nil, aliases: aliases)
    }

    func aliasMap(_ name: String) throws(ServerError) -> [String: [String]] {
        var out: [String: [String]] = [:]
        for a in try s({ () throws(StoreError) in try store.aliases(name: name) }) {
            out[a.version, default: []].append(a.alias)
        }
        return out
    }

    func getRef(_ m: Message.GetRef, _ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .read)
        let ref: Ref
        do { ref = try Ref(parsing: m.ref) } catch { throw ServerError(.badRequest, "'\(m.ref)': \(error)") }
        try require(grant, .read, name: ref.name)
        let r = try s { () throws(StoreError) in try store.resolve(ref) }
        var info: TroveProtocol.VersionInfo?
        if let version = r.version {
            guard
                let v = try s({ () throws(StoreError) in try store.version(name: r.name, version: version) })
            else {
                throw ServerError(.notFound, "\(r.name):\(version) does not exist")
            }
            if v.retired != nil { throw ServerError(.retired, "\(r.name):\(version) is retired") }
            info = wireInfo(v, aliases: try aliasMap(r.name)[version] ?? [])
        }
        return .refInfo(.init(name: r.name, tree: r.tree, version: info, resolvedAlias: r.alias))
    }

    func getObjects(_ m: Message.GetObjects, _ grant: Grant) throws(ServerError) -> Response {
        try require(grant, .read)
        try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
        guard m.kind != .chunk else {
            throw ServerError(.badRequest, "GET_OBJECTS fetches recipes and trees; use GET_CHUNKS")
        }
        return .stream(ObjectStream(router: self, kind: m.kind, digests: m.digests))
    }

    func getChunks(_ m: Message.GetChunks, _ grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response
    {
        try require(grant, .read)
        try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
        return .stream(ChunkStream(router: self, digests: m.digests, codecs: codecs))
    }

    func matches(_ v: TroveStore.VersionInfo, _ filters: [MetadataFilter]) -> Bool {
        filters.allSatisfy { v.metadata[$0.key] == $0.value }
    }

    func versionList(_ versions: [TroveStore.VersionInfo]) throws(ServerError) -> Response {
        var maps: [String: [String: [String]]] = [:]
        var out: [TroveProtocol.VersionInfo] = []
        for v in versions {
            if maps[v.name] == nil { maps[v.name] = try aliasMap(v.name) }
            out.append(wireInfo(v, aliases: maps[v.name]?[v.version] ?? []))
        }
        return .stream(ListStream(out, perFrame: 2000) { .versionList(.init(versions: $0)) })
    }

    func listVersions(_ m: Message.ListVersions, _ grant: Grant) throws(ServerError) -> Response {
        try require(grant, .read)
        let prefix = m.prefix.hasSuffix("/") ? String(m.prefix.dropLast()) : m.prefix
        var all = try s { () throws(StoreError) in
            try store.listVersions(prefix: prefix, includeRetired: m.includeRetired)
        }
        all = all.filter { v in
            (prefix.isEmpty || v.name == prefix || v.name.hasPrefix(prefix + "/"))
                && grant.covers(name: v.name)
                && matches(v, m.filters)
        }
        if m.limit > 0 { all = Array(all.prefix(Int(m.limit))) }
        return try versionList(all)
    }

    func log(_ m: Message.Log, _ grant: Grant) throws(ServerError) -> Response {
        try validName(m.name)
        try require(grant, .read, name: m.name)
        var all = try s { () throws(StoreError) in
            try store.listVersions(prefix: m.name, includeRetired: m.includeRetired)
        }
        all = all.filter { $0.name == m.name }.sorted { ($0.created, $0.version) > ($1.created, $1.version) }
        if m.limit > 0 { all = Array(all.prefix(Int(m.limit))) }
        return try versionList(all)
    }

    func stat(_ grant: Grant) throws(ServerError) -> Message {
        try require(grant, .read)
        let st = try s { () throws(StoreError) in try store.stats() }
        let counts = try s { () throws(StoreError) in try store.objectAndAliasCounts() }
        let c = store.config.chunking
        return .stats(
            .init(
                storeID: store.config.storeID, logicalBytes: st.logicalBytes, uniqueBytes: st.uniqueRawBytes,
                storedBytes: st.storedChunkBytes, chunkCount: UInt64(st.chunkCount),
                packCount: UInt64(st.packCount),
                objectCount: UInt64(counts.objects), versionCount: UInt64(st.versionCount),
                aliasCount: UInt64(counts.aliases), chunkMin: UInt32(c.min), chunkAvg: UInt32(c.avg),
                chunkMax: UInt32(c.max), normalization: UInt8(c.normalization)))
    }

    // MARK: Aliases and retirement

    func storeExpectation(_ e: TroveProtocol.AliasExpectation) -> TroveStore.AliasExpectation {
        switch e {
        case .any: .any
        case .absent: .absent
        case .version(let v): .version(v)
        }
    }

    func aliasSet(_ m: Message.AliasSet, _ grant: Grant) throws(ServerError) -> Message {
        try validName(m.name)
        try validTag(m.alias, "alias")
        try validTag(m.version, "version")
        try require(grant, .write, name: m.name)
        try s { () throws(StoreError) in
            try store.setAlias(
                name: m.name, alias: m.alias, version: m.version, expect: storeExpectation(m.expect),
                actor: grant.actor)
        }
        let last = try s { () throws(StoreError) in try store.aliasHistory(name: m.name, alias: m.alias) }
            .last
        logger.info(
            "alias moved",
            metadata: ["alias": "\(m.name):\(m.alias)", "to": "\(m.version)", "by": "\(grant.actor)"])
        return .aliasSetOK(.init(name: m.name, alias: m.alias, version: m.version, previous: last?.from))
    }

    func aliasList(_ m: Message.AliasList, _ grant: Grant) throws(ServerError) -> Response {
        try validName(m.name)
        try require(grant, .read, name: m.name)
        let list = try s { () throws(StoreError) in try store.aliases(name: m.name) }.map {
            TroveProtocol.AliasInfo(
                alias: $0.alias, version: $0.version, movedAt: $0.updated, movedBy: $0.updatedBy)
        }
        return .stream(ListStream(list, perFrame: 10_000) { .aliases(.init(aliases: $0)) })
    }

    func aliasHistory(_ m: Message.AliasHistory, _ grant: Grant) throws(ServerError) -> Response {
        try validName(m.name)
        try validTag(m.alias, "alias")
        try require(grant, .read, name: m.name)
        var moves = try s { () throws(StoreError) in try store.aliasHistory(name: m.name, alias: m.alias) }
            .reversed()
            .map { AliasEvent(alias: $0.alias, from: $0.from, to: $0.to, at: $0.at, by: $0.actor) }
        if m.limit > 0 { moves = Array(moves.prefix(Int(m.limit))) }
        return .stream(ListStream(moves, perFrame: 10_000) { .aliasHistoryList(.init(events: $0)) })
    }

    func aliasRemove(_ m: Message.AliasRemove, _ grant: Grant) throws(ServerError) -> Message {
        try validName(m.name)
        try validTag(m.alias, "alias")
        try require(grant, .write, name: m.name)
        if case .absent = m.expect {
            throw ServerError(.badRequest, "ALIAS_RM with expectation 'absent' cannot succeed")
        }
        var expect = storeExpectation(m.expect)
        var previous: String
        if case .version(let v) = m.expect {
            previous = v
        } else {
            guard
                let current = try s({ () throws(StoreError) in try store.aliases(name: m.name) }).first(
                    where: { $0.alias == m.alias })
            else { throw ServerError(.notFound, "alias \(m.name):\(m.alias) does not exist") }
            previous = current.version
            expect = .version(current.version)
        }
        try s { () throws(StoreError) in
            try store.removeAlias(name: m.name, alias: m.alias, expect: expect, actor: grant.actor)
        }
        return .aliasRemoved(.init(name: m.name, alias: m.alias, previous: previous))
    }

    func retire(_ m: Message.Retire, _ grant: Grant) throws(ServerError) -> Message {
        try validName(m.name)
        try validTag(m.version, "version")
        try require(grant, .admin, name: m.name)
        let detached = try aliasMap(m.name)[m.version] ?? []
        try s { () throws(StoreError) in
            try store.retireVersion(name: m.name, version: m.version, actor: grant.actor, force: m.force)
        }
        logger.notice("version retired", metadata: ["ref": "\(m.name):\(m.version)", "by": "\(grant.actor)"])
        return .retired(.init(name: m.name, version: m.version, detachedAliases: m.force ? detached : []))
    }
}
