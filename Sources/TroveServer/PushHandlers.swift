import Foundation
import TroveCore
import TroveProtocol
import TroveStore

/// Push, part 1 (PROTOCOL.md §9): the lease, HAS, uploads of chunks and objects, END_PUSH.
/// The upload session (lease, staged objects, staging files) lives in the store
/// (`TroveStore.UploadSession`); each handler checks the request against the announced limits
/// and makes one call on the session its lease names.
extension RequestRouter {
    /// The live upload session `lease` names (`lease-expired` if it is gone).
    func upload(_ lease: LeaseID) throws(ServerError) -> UploadSession {
        try s { () throws(StoreError) in try store.upload(lease.description) }
    }

    /// Runs a request under a push lease. A failure the push cannot resume from (a version
    /// conflict, a bad or oversized request, a missing parent, a read-only or full store) ends the lease
    /// there, so it no longer keeps data from GC for its whole life; a retryable one (integrity,
    /// busy, an expired lease) leaves it for the client to resume.
    func underLease<T>(_ lease: LeaseID, _ body: () throws(ServerError) -> T) throws(ServerError) -> T {
        do {
            return try body()
        } catch {
            switch error.code {
            case .conflict, .badRequest, .limitExceeded, .notFound, .retired, .permissionDenied, .readOnly,
                .noSpace:
                if (try? store.endUpload(lease.description)) == true {
                    logger.info(
                        "push lease ended by a failed request",
                        metadata: ["lease": "\(lease)", "error": "\(error.code.name)"])
                }
            default: break
            }
            throw error
        }
    }

    func beginPush(_ m: Message.BeginPush, _: Caller) throws(ServerError) -> Message.PushBegun {
        let session = try s { () throws(StoreError) in
            try store.beginUpload(
                name: m.name, ttlSeconds: Int64(limits.leaseTTLSeconds), resume: m.resume?.description)
        }
        guard let id = LeaseID(hex: session.id) else {
            throw ServerError(
                .internalError, "store issued a lease id that is not 32 hex digits: \(session.id)")
        }
        return .init(lease: id, expiresAt: session.expiresAt, resumed: session.resumed)
    }

    func has(_ m: Message.Has, _: Caller) throws(ServerError) -> Message.HasResult {
        try underLease(m.lease) { () throws(ServerError) in
            try checkCount(m.digests.count, limits.maxDigestsPerRequest, "digests")
            let session = try upload(m.lease)
            let present = try s { () throws(StoreError) in try session.has(UploadKind(m.kind), m.digests) }
            if m.kind == .chunk { ServerMetrics.chunksDeduplicated.increment(by: present.lazy.filter { $0 }.count) }
            return .init(present: PresenceBitmap(present))
        }
    }

    func putChunks(_ m: Message.PutChunks, _: Caller) throws(ServerError) -> Message.PutChunksOK {
        try underLease(m.lease) { () throws(ServerError) in try putChunksUnderLease(m) }
    }

    private func putChunksUnderLease(_ m: Message.PutChunks) throws(ServerError) -> Message.PutChunksOK {
        try checkCount(m.chunks.count, limits.maxChunksPerPut, "chunks")
        let session = try upload(m.lease)
        let inputs = m.chunks.map { ChunkInput(received: $0) }
        let result = try s { () throws(StoreError) in try session.putChunks(inputs) }
        if let bad = result.rejected.first {
            throw ServerError(
                .integrity,
                "\(result.rejected.count) chunk(s) refused, e.g. \(bad.digest): \(bad.reason); the client's data or "
                    + "network corrupted them — retry the push")
        }
        ServerMetrics.chunksNew.increment(by: result.stored)
        ServerMetrics.chunksDeduplicated.increment(by: result.duplicates)
        return .init(stored: UInt32(result.stored), alreadyPresent: UInt32(result.duplicates))
    }

    func putObjects(_ m: Message.PutObjects, _: Caller) throws(ServerError) -> Message.PutObjectsOK {
        try underLease(m.lease) { () throws(ServerError) in try putObjectsUnderLease(m) }
    }

    private func putObjectsUnderLease(_ m: Message.PutObjects) throws(ServerError) -> Message.PutObjectsOK {
        let session = try upload(m.lease)
        var parts: [ObjectPartInput] = []
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
            parts.append(
                ObjectPartInput(
                    kind: UploadKind(part.kind), digest: part.digest, offset: part.offset,
                    totalLength: part.totalLength, bytes: Array(part.data.readableBytesView)))
        }
        let completed = try s { () throws(StoreError) in try session.putObjects(parts) }
        return .init(completed: UInt32(completed))
    }

    func endPush(_ m: Message.EndPush, _: Caller) throws(ServerError) -> Message.PushEnded {
        let released = try s { () throws(StoreError) in try store.endUpload(m.lease.description) }
        return .init(released: released)
    }
}

extension UploadKind {
    /// The store's name for a protocol content kind.
    init(_ kind: ContentKind) {
        switch kind {
        case .chunk: self = .chunk
        case .recipe: self = .recipe
        case .tree: self = .tree
        }
    }
}

extension ContentKind {
    /// The protocol's name for a store upload kind.
    init(_ kind: UploadKind) {
        switch kind {
        case .chunk: self = .chunk
        case .recipe: self = .recipe
        case .tree: self = .tree
        }
    }
}
