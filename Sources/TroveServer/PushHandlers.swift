import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Push, part 1 (PROTOCOL.md §9): the lease, HAS, uploads of chunks and objects, END_PUSH.
extension RequestRouter {
    func leaseSeconds() -> Int64 { Int64(limits.leaseTTLSeconds) }

    func beginPush(_ m: Message.BeginPush, _: Caller) throws(ServerError) -> Message.PushBegun {
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
                return .init(lease: resume, expiresAt: lease.expires, resumed: true)
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
        return .init(lease: id, expiresAt: lease.expires, resumed: false)
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

    func has(_ m: Message.Has, _: Caller) throws(ServerError) -> Message.HasResult {
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
        return .init(present: PresenceBitmap(present))
    }

    func putChunks(_ m: Message.PutChunks, _: Caller) throws(ServerError) -> Message.PutChunksOK {
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
        return .init(stored: UInt32(result.stored), alreadyPresent: UInt32(result.duplicates))
    }

    func putObjects(_ m: Message.PutObjects, _: Caller) throws(ServerError) -> Message.PutObjectsOK {
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
        return .init(completed: UInt32(complete.count))
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

    func endPush(_ m: Message.EndPush, _: Caller) throws(ServerError) -> Message.PushEnded {
        let entry = leases.remove(m.lease)
        if let entry {
            for key in entry.partial.keys {
                unlink(store.stagingPath("\(m.lease)-\(key.kind)-\(key.digest.hex)"))
            }
        }
        try s { () throws(StoreError) in try store.endLease(id: m.lease.description) }
        return .init(released: entry != nil)
    }
}
