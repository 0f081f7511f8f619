import Foundation
import SystemPackage
import TroveCore

/// One push in progress: a lease that protects what it touches from GC, the recipes and trees
/// stored ahead of their commit, and the objects being uploaded in parts. Obtain one with
/// `Store.beginUpload` (begin or resume) or `Store.upload(_:)` (by id, e.g. per request); all
/// its state lives in the store, behind `Store.uploads`, so a caller keeps nothing but the id.
///
/// Every method first checks that the session is live and extends it (`.uploadExpired`
/// otherwise); everything it acknowledges is durable on return.
public struct UploadSession: Sendable {
    public let store: Store
    /// The lease id (32 hex digits).
    public let id: String
    /// The name the push is for.
    public let name: String
    /// Whether `beginUpload` resumed an existing session.
    public let resumed: Bool
    /// Expiry when the session was obtained (ms since the epoch); use extends it.
    public let expiresAt: Int64

    /// The session's streamed blob digests (tests look at how far each got).
    var streamed: StreamedBlobs {
        get throws(StoreError) { try store.withLiveUpload(id) { s in s.streamed } }
    }

    /// Checks the session is live and extends it.
    public func touch() throws(StoreError) {
        try store.withLiveUpload(id) { _ in }
    }

    /// Which of `digests` the store already holds: chunks in the index (refreshed, so the lease
    /// keeps them), recipes (by blob digest) and trees committed or staged in this session.
    public func has(_ kind: UploadKind, _ digests: [Digest]) throws(StoreError) -> [Bool] {
        let staged = try store.withLiveUpload(id) { s in (s.recipes, s.trees) }
        switch kind {
        case .chunk:
            let missing = Set(try store.missing(digests))
            let have = digests.filter { !missing.contains($0) }
            if !have.isEmpty { try store.touch(have) }
            return digests.map { !missing.contains($0) }
        case .recipe:
            let committed = try store.recipeDigests(forBlobs: digests.filter { staged.0[$0] == nil })
            return digests.map { staged.0[$0] != nil || committed[$0] != nil }
        case .tree:
            var out: [Bool] = []
            for d in digests {
                if staged.1.contains(d) { out.append(true) } else { out.append(try store.hasTree(d)) }
            }
            return out
        }
    }

    /// Verifies and stores chunks (see `Store.putChunks`); new chunks are protected by the lease.
    /// A chunk a staged recipe needs next also feeds that blob's digest (``StreamedBlobs``), so
    /// sending recipes before their chunks, in order, spares COMMIT reading them back.
    ///
    /// The session remembers the chunks it stored (``SessionChunks``): its COMMIT takes the
    /// one-chunk recipes it implies from them without looking each chunk up again.
    public func putChunks(_ chunks: [ChunkInput]) throws(StoreError) -> PutChunksResult {
        let streamed = try store.withLiveUpload(id) { s in s.streamed }
        let epoch = try epochBeforeStoring()
        var stored: [VerifiedChunk] = []
        let result = try store.putChunks(chunks, streamed: streamed) { stored = $0 }
        try remember(stored, epoch: epoch)
        return result
    }

    /// The GC epoch to record a call's stored chunks under (``SessionChunks``), read before any
    /// of them is indexed; nil once the session recorded some (the first call's epoch is kept).
    func epochBeforeStoring() throws(StoreError) -> Int64? {
        let recorded = try store.withLiveUpload(id) { s in s.chunks.epoch != nil }
        return recorded ? nil : try store.gcEpoch()
    }

    /// Remembers `chunks`, each indexed now (stored by this session's call or a concurrent one),
    /// so COMMIT need not look them up again (``SessionChunks``).
    func remember(_ chunks: [VerifiedChunk], epoch: Int64?) throws(StoreError) {
        guard !chunks.isEmpty else { return }
        let now = Clock.nowMillis()
        try store.withLiveUpload(id) { s in s.chunks.record(chunks, epoch: epoch, touched: now) }
    }

    /// Stores recipes and trees ahead of their commit: whole objects, or parts of larger ones
    /// (appended to a staging file until the last part arrives). Each complete object must
    /// decode and match the digest it was sent under; all of a call's complete objects are
    /// written durably together. Returns how many objects were completed.
    public func putObjects(_ parts: [ObjectPartInput]) throws(StoreError) -> Int {
        try touch()
        var complete: [(kind: UploadKind, key: Digest, bytes: [UInt8], decoded: Verified)] = []
        var recipes: [Recipe] = []
        for part in parts {
            let object = UploadObjectRef(kind: part.kind, digest: part.digest)
            guard part.kind != .chunk else {
                throw .invalidArgument("objects are recipes and trees; chunks go through putChunks")
            }
            guard part.totalLength <= UInt64(store.options.maxObjectSize) else {
                throw .invalidArgument(
                    "\(object.kind) \(object.digest) is \(part.totalLength) bytes; the limit is \(store.options.maxObjectSize)")
            }
            let len = UInt64(part.bytes.count)
            guard part.offset <= part.totalLength, part.offset + len <= part.totalLength else {
                throw .invalidArgument(
                    "\(object.kind) \(object.digest): part \(part.offset)+\(len) runs past its total length \(part.totalLength)")
            }
            let bytes: [UInt8]
            if part.offset == 0 && len == part.totalLength {
                bytes = part.bytes
            } else {
                guard let whole = try appendPart(part, object) else { continue }
                bytes = whole
            }
            let decoded = try UploadSession.verify(object, bytes)
            if case .recipe(let recipe) = decoded { recipes.append(recipe) }
            complete.append((part.kind, part.digest, bytes, decoded))
        }
        // One durable write for the whole call: a file fsync each, one fsync per shard directory.
        let (stored, rowsEpoch) = try store.storeObjects(canonical: complete.map(\.bytes))
        let checked = try checkSingleChunkRecipes(recipes)
        let (streamed, blobStreams) = try store.withLiveUpload(id) { s in
            for (object, digest) in zip(complete, stored) {
                switch object.decoded {
                case .tree(let tree):
                    s.trees.insert(object.key)
                    s.decoded.keep(tree: tree, digest: object.key, bytes: object.bytes)
                case .recipe(let recipe):
                    s.recipes[object.key] = digest
                    s.decoded.keep(
                        recipe, object: digest, size: object.bytes.count,
                        rowEpoch: InlineObjects.accepts(object.bytes) ? rowsEpoch : nil,
                        checked: checked.chunks[object.key].map { ($0, checked.epoch) })
                }
            }
            return (s.streamed, s.blobStreams)
        }
        // A blob a closed blob stream hashed already is not followed again.
        for r in recipes where !blobStreams.hasResult(r.blobDigest) { streamed.add(r) }
        return complete.count
    }

    /// The index entries of the chunks of `recipes`' one-chunk recipes (chunk digest = blob
    /// digest) that are indexed with the recipe's length, and the GC epoch read before looking:
    /// a push sends such a recipe after its chunk (PROTOCOL.md §9), so this lookup, once done
    /// here while the client still reads files, is not repeated by its COMMIT
    /// (`CommitHints.checkedChunks`). One whose chunk is absent or differs is left to COMMIT.
    private func checkSingleChunkRecipes(_ recipes: [Recipe]) throws(StoreError)
        -> (chunks: [Digest: IndexedChunk], epoch: Int64)
    {
        let singles = recipes.filter(\.isSingleChunkBlob)
        guard !singles.isEmpty else { return ([:], 0) }
        let epoch = try store.gcEpoch()
        var indexed = try store.indexedChunks(singles.map(\.blobDigest))
        for r in singles where indexed[r.blobDigest].map({ $0.rawLength != Int(r.chunks[0].length) }) == true {
            indexed[r.blobDigest] = nil
        }
        return (indexed, epoch)
    }

    /// Appends a part to its staging file; the whole object once the last part is in.
    private func appendPart(_ part: ObjectPartInput, _ object: UploadObjectRef) throws(StoreError) -> [UInt8]? {
        let path = store.stagingPath(id, object)
        try store.checkSpace(part.bytes.count)
        let done: Bool = try store.withLiveUpload(id) { s throws(StoreError) -> Bool in
            let have = s.partial[object] ?? 0
            guard part.offset == have || part.offset == 0 else {
                throw .invalidArgument(
                    "\(object.kind) \(object.digest): part at offset \(part.offset), expected \(have) (or 0 to restart)")
            }
            do {
                let options: FileDescriptor.OpenOptions = part.offset == 0 ? [.create, .truncate] : [.create]
                let fd = try FileDescriptor.open(
                    FilePath(path), .writeOnly, options: options.union(.closeOnExec),
                    permissions: [.ownerReadWrite])
                defer { try? fd.close() }
                _ = try fd.writeAll(toAbsoluteOffset: Int64(part.offset), part.bytes)
            } catch {
                throw FileIO.failure("write staging file", path, FileIO.code(error), needed: part.bytes.count)
            }
            let now = part.offset + UInt64(part.bytes.count)
            s.partial[object] = now == part.totalLength ? nil : now
            return now == part.totalLength
        }
        guard done else { return nil }
        defer { unlink(path) }
        let bytes = try FileIO.readFile(path, limit: Int(part.totalLength))
        guard bytes.count == Int(part.totalLength) else {
            throw .io(op: "read staging file (short)", path: path, errno: EIO)
        }
        return bytes
    }

    /// A staged object, decoded.
    enum Verified {
        case recipe(Recipe)
        case tree(Tree)
    }

    /// A tree must hash to its digest and decode; a recipe must decode and rebuild the blob it is
    /// sent under. Returns the decoded object.
    static func verify(_ object: UploadObjectRef, _ bytes: [UInt8]) throws(StoreError) -> Verified {
        if object.kind == .tree {
            guard SHA256.hash(bytes) == object.digest else {
                throw .uploadCorrupt("tree bytes do not hash to \(object.digest)")
            }
            do { return .tree(try Tree(canonical: bytes)) } catch { throw .invalidObject(error) }  // decoding validates
        } else {
            let recipe: Recipe
            do {
                recipe = try Recipe(canonical: bytes)
                try recipe.validate()
            } catch { throw .invalidObject(error) }
            guard recipe.blobDigest == object.digest else {
                throw .invalidArgument("recipe sent as blob \(object.digest) rebuilds blob \(recipe.blobDigest)")
            }
            return .recipe(recipe)
        }
    }

    /// Commits `tree` with the recipes staged in this session: `.missingObjects` if the tree or
    /// a new file's recipe was not uploaded (or a GC removed it since), `.missingChunks` if
    /// chunks are missing, else durable and registered.
    public func commit(tree digest: Digest) throws(StoreError) -> UploadCommitOutcome {
        let p: PreparedCommit
        switch try prepareCommit(digest) {
        case .answered(let outcome): return outcome
        case .ready(let prepared): p = prepared
        }
        let fromStreams = try streamedBlobStates(p.recipes)
        switch try store.commit(
            recipes: p.recipes, tree: p.tree, streamed: p.streamed, verified: fromStreams.verified,
            resume: fromStreams.resume, hints: p.hints)
        {
        case .missing(let chunks):
            return .missingChunks(chunks)
        case .committed(let committed):
            // Committed objects need no staging entry any more. (No copy of the session's
            // state is alive here: removing entries does not copy its dictionaries.)
            try store.withLiveUpload(id) { s in
                s.trees.remove(digest)
                if !s.recipes.isEmpty { for r in p.recipes { s.recipes[r.blobDigest] = nil } }
                s.decoded.forget(tree: digest, blobs: p.recipes.map(\.blobDigest), keptUsed: p.keptUsed)
            }
            let files = p.tree.entries.filter { $0.kind == .file }.count
            let totalSize = p.tree.totalSize
            if store.options.directRows { Store.releaseAside(p) }
            return .committed(tree: committed, files: files, totalSize: totalSize)
        }
    }

    /// What `commit` hands the store: the tree, the recipes of its files that are not committed
    /// (kept decoded, or read back), what the session knows (`CommitHints`), and how many kept
    /// recipes it used.
    private struct PreparedCommit {
        var tree: Tree
        var recipes: [Recipe] = []
        var hints = CommitHints()
        var streamed: StreamedBlobs
        var keptUsed = 0
        /// Implied one-chunk blobs go to `hints.implied`, not `recipes` (`StoreOptions.directRows`).
        var apart = false

        /// The one-chunk recipes of `files` (blobs of no staged recipe) whose chunk — digest the
        /// blob digest, length the file's size — is indexed, taken as if staged and checked
        /// then: verified by that index entry (its bytes hashed to the digest when stored),
        /// committed as new (rows inserted unless there: a blob committed before is the same
        /// bytes, so the same size). The chunks `sessionChunks` holds (this session stored them)
        /// are taken from there; one lookup per other chunk, after the GC epoch is read; returns
        /// the blobs left (no such chunk), to be looked up as committed blobs or reported missing.
        mutating func implied(
            _ files: [(blob: Digest, size: UInt64)], sessionChunks: SessionChunks, store: Store
        ) throws(StoreError) -> [Digest]
        {
            guard !files.isEmpty else { return [] }
            // Chunks this session stored are indexed (and kept by its lease) since the epoch read
            // before the first of them: not looked up again.
            var lookUp: [(blob: Digest, size: UInt64)] = []
            var fromSession = 0
            if apart {
                hints.implied.reserveCapacity(files.count)
            } else {
                recipes.reserveCapacity(recipes.count + files.count)
                hints.checkedChunks.reserveCapacity(hints.checkedChunks.count + files.count)
            }
            for (blob, size) in files {
                guard let entry = sessionChunks.entries[blob], UInt64(entry.rawLength) == size else {
                    lookUp.append((blob, size))
                    continue
                }
                take(blob, size, entry)
                fromSession += 1
            }
            if fromSession > 0, let epoch = sessionChunks.epoch {
                hints.checkedEpoch = min(hints.checkedEpoch ?? epoch, epoch)
            }
            guard !lookUp.isEmpty else { return [] }
            let epoch = try store.gcEpoch()
            let indexed = try store.indexedChunks(lookUp.map(\.blob))
            var left: [Digest] = []
            for (blob, size) in lookUp {
                guard let entry = indexed[blob], UInt64(entry.rawLength) == size else {
                    left.append(blob)
                    continue
                }
                take(blob, size, entry)
            }
            if left.count < lookUp.count { hints.checkedEpoch = min(hints.checkedEpoch ?? epoch, epoch) }
            return left
        }

        /// Takes `blob` as one chunk of `size` bytes whose digest is the blob digest, checked
        /// against its index entry `entry`: a recipe, or with `apart` an entry of `hints.implied`.
        private mutating func take(_ blob: Digest, _ size: UInt64, _ entry: IndexedChunk) {
            if apart {
                hints.implied[blob] = (size, entry)
                return
            }
            recipes.append(
                Recipe(blobDigest: blob, size: size, chunks: [RecipeChunk(digest: blob, length: UInt32(size))]))
            hints.checkedChunks[blob] = entry
        }

        /// Takes the session's kept decoded recipe of `blob` (staged as object `object`).
        mutating func use(_ recipe: Recipe, of blob: Digest, object: Digest, rowEpoch: Int64?) {
            recipes.append(recipe)
            keptUsed += 1
            hints.recipeObjects[blob] = object
            if let rowEpoch {
                hints.stagedRows[object] = rowEpoch
            } else {
                // Not a catalog row: PUT_OBJECTS wrote it as an object file, durably.
                hints.stagedFiles.insert(object)
            }
        }

        /// The chunks this session stored (``SessionChunks``: blob streams and `PUT_CHUNKS`),
        /// indexed and kept by its lease since `sessionChunks.epoch`: COMMIT takes the recipe
        /// chunks found there, with the length the recipe gives, as checked instead of looking
        /// each up again (16 000 lookups for a streamed GiB); its final transaction re-checks them
        /// if a GC or scrub deleted anything since, as for the chunks it looks up.
        mutating func takeStoredChunks(_ sessionChunks: SessionChunks) {
            guard sessionChunks.epoch != nil, !sessionChunks.entries.isEmpty else { return }
            hints.sessionChunks = sessionChunks
        }
    }

    private enum Preparation {
        case answered(UploadCommitOutcome)
        case ready(PreparedCommit)
    }

    /// The tree and recipes of a commit, from the session's staged objects.
    private func prepareCommit(_ digest: Digest) throws(StoreError) -> Preparation {
        let staged = try store.withLiveUpload(id) { s in
            (recipes: s.recipes, trees: s.trees, streamed: s.streamed, decoded: s.decoded, chunks: s.chunks)
        }
        // A re-push of a committed tree (e.g. an unchanged directory): nothing to check again.
        if let done = try store.recommit(tree: digest) {
            return .answered(.committed(tree: digest, files: done.files, totalSize: done.size))
        }
        let treeRef = UploadObjectRef(kind: .tree, digest: digest)
        var hints = CommitHints()
        let tree: Tree
        if staged.trees.contains(digest), let kept = staged.decoded.tree, kept.digest == digest {
            // Staged by this session: verified (decoding validates) and written durably then.
            tree = kept.tree
            hints.tree = (kept.bytes, validated: true)
            hints.stagedFiles.insert(digest)
        } else {
            guard staged.trees.contains(digest) || store.hasObject(digest) else {
                return .answered(.missingObjects([treeRef]))
            }
            do { tree = try store.readTree(digest) } catch .objectNotFound {
                return .answered(.missingObjects([treeRef]))
            }
        }
        var p = PreparedCommit(tree: tree, hints: hints, streamed: staged.streamed)
        p.apart = store.options.directRows
        var blobs: [Digest] = []
        // Files whose blob has no staged recipe: one chunk whose digest is the blob digest, if so
        // indexed (PROTOCOL.md §9, version 4: a client need not send such recipes).
        var unstaged: [(blob: Digest, size: UInt64)] = []
        var seen = Set<Digest>(minimumCapacity: tree.entries.count)
        for entry in tree.entries where entry.kind == .file {
            guard let blob = entry.blob, seen.insert(blob).inserted else { continue }
            // A kept one-chunk recipe checked against the index when it was staged: treated as
            // new (verified, its row inserted unless there) without looking anything up again.
            if let check = staged.decoded.checked[blob], let kept = staged.decoded.recipes[blob],
                staged.recipes[blob] == kept.object
            {
                p.use(kept.recipe, of: blob, object: kept.object, rowEpoch: kept.rowEpoch)
                p.hints.checkedChunks[blob] = check.chunk
                p.hints.checkedEpoch = min(p.hints.checkedEpoch ?? check.epoch, check.epoch)
            } else if staged.recipes[blob] == nil, entry.size > 0, entry.size <= UInt64(UInt32.max) {
                unstaged.append((blob, entry.size))
            } else {
                blobs.append(blob)
            }
        }
        blobs += try p.implied(unstaged, sessionChunks: staged.chunks, store: store)
        let committed = try store.committedBlobSizes(blobs)
        p.hints.committedSizes = committed
        // Staged recipes not kept decoded, read in one batch (a GC may have removed one since:
        // the client resends).
        var readBack: [Digest] = []
        for blob in blobs where committed[blob] == nil {
            if let kept = staged.decoded.recipes[blob], staged.recipes[blob] == kept.object {
                p.use(kept.recipe, of: blob, object: kept.object, rowEpoch: kept.rowEpoch)
            } else {
                readBack.append(blob)
            }
        }
        let stagedBytes = try store.readObjects(readBack.compactMap { staged.recipes[$0] })
        var missing: [UploadObjectRef] = []
        for blob in readBack {
            if let object = staged.recipes[blob], let bytes = stagedBytes[object] {
                do { p.recipes.append(try Recipe(canonical: bytes)) } catch { throw .invalidObject(error) }
                p.hints.recipeObjects[blob] = object
            } else {
                missing.append(UploadObjectRef(kind: .recipe, digest: blob))
            }
        }
        if !missing.isEmpty { return .answered(.missingObjects(missing)) }
        p.takeStoredChunks(staged.chunks)
        return .ready(p)
    }

    /// Creates a version of a committed tree under this session (see `Store.createVersion`).
    public func createVersion(
        name: String, version: String, tree: Digest, creator: String, message: String = "",
        metadata: [String: MetadataValue] = [:], parents: [VersionKey] = []
    ) throws(StoreError) -> VersionCreateOutcome {
        try touch()
        return try store.createVersion(
            name: name, version: version, tree: tree, creator: creator, message: message, metadata: metadata,
            parents: parents)
    }

    /// Ends the session: its staged-but-uncommitted objects are left to GC, its staging files and
    /// lease row removed. Returns whether it was still live. Ending an ended session is a no-op.
    @discardableResult
    public func end() throws(StoreError) -> Bool {
        try store.endUpload(id)
    }
}
