import Logging
import TroveCore
import TroveProtocol
import TroveStore

/// The server's request path after the handshake, as a table: the session decodes a frame into a
/// ``Message``; ``handle(_:grant:codecs:)`` finds the request's ``Route``, checks the access the
/// request type declares (``WireRequest/access``, the table of PROTOCOL.md §6) in one place,
/// then runs the handler — one call into the store — whose reply goes back to the session.
///
/// Handlers live by area in `PushHandlers.swift`, `BlobStreamHandlers.swift`, `CommitHandlers.swift`, `PullHandlers.swift`,
/// `ListingHandlers.swift`, `AliasHandlers.swift`, `AdminHandlers.swift`, `BucketHandlers.swift`
/// and `BucketKeyHandlers.swift`. Every handler blocks (fsync, SQLite, pack reads) and runs on a worker
/// thread, never on an event loop.
final class RequestRouter: Sendable {
    let store: Store
    let config: ServerConfig
    let logger: Logger

    init(store: Store, config: ServerConfig, logger: Logger) {
        self.store = store
        self.config = config
        self.logger = logger
    }

    var limits: SessionLimits { config.limits }

    /// Runs one request from an authenticated session; `codecs` are the codecs the client accepts.
    func handle(_ message: Message, grant: Grant, codecs: Set<Codec>) throws(ServerError) -> Response {
        guard let route = Self.routes[message.type] else {
            throw ServerError(.protocolViolation, "\(message.type) is not a request a client may send here")
        }
        return try route.run(self, message, Caller(grant: grant, codecs: codecs))
    }

    /// Every request a client may send after authentication, and its handler: a method of the
    /// router (`$0`) taking the request and its ``Caller``. The route checks access before
    /// calling it.
    static let routes: [MessageType: Route] = Route.table([
        // Push (PushHandlers.swift, CommitHandlers.swift)
        Route(Message.BeginPush.self) { $0.beginPush },
        Route(Message.Has.self) { $0.has },
        Route(Message.PutChunks.self) { $0.putChunks },
        Route(Message.PutObjects.self) { $0.putObjects },
        Route(Message.Commit.self, stream: { $0.commit }),
        Route(Message.CreateVersion.self) { $0.createVersion },
        Route(Message.EndPush.self) { $0.endPush },
        // Push: blob streams, protocol version 2 (BlobStreamHandlers.swift)
        Route(Message.BlobOpen.self) { $0.blobOpen },
        Route(Message.BlobChunks.self) { $0.blobChunks },
        Route(Message.BlobClose.self) { $0.blobClose },
        Route(Message.BlobSeal.self) { $0.blobSeal },
        // Pull (PullHandlers.swift)
        Route(Message.GetRef.self) { $0.getRef },
        Route(Message.GetObjects.self, stream: { $0.getObjects }),
        Route(Message.GetChunks.self, stream: { $0.getChunks }),
        // Listing (ListingHandlers.swift)
        Route(Message.ListVersions.self, stream: { $0.listVersions }),
        Route(Message.QueryVersions.self, stream: { $0.queryVersions }),
        Route(Message.Log.self, stream: { $0.log }),
        Route(Message.Stat.self) { $0.stat },
        // Aliases (AliasHandlers.swift)
        Route(Message.AliasSet.self) { $0.aliasSet },
        Route(Message.AliasList.self, stream: { $0.aliasList }),
        Route(Message.AliasHistory.self, stream: { $0.aliasHistory }),
        Route(Message.AliasRemove.self) { $0.aliasRemove },
        // Administration (AdminHandlers.swift)
        Route(Message.Retire.self) { $0.retire },
        Route(Message.GC.self, stream: { $0.gc }),
        Route(Message.Scrub.self, stream: { $0.scrub }),
        // Push leases (LeaseHandlers.swift)
        Route(Message.LeaseList.self) { $0.leaseList },
        Route(Message.LeaseEnd.self) { $0.leaseEnd },
        // Buckets (BucketHandlers.swift)
        Route(Message.BucketList.self, stream: { $0.bucketList }),
        Route(Message.BucketCreate.self) { $0.bucketCreate },
        Route(Message.BucketRemove.self) { $0.bucketRemove },
        Route(Message.BucketKeys.self, stream: { $0.bucketKeys }),
        Route(Message.Snapshot.self) { $0.snapshot },
        // Bucket keys bound to pushed blobs (BucketKeyHandlers.swift)
        Route(Message.BindKey.self) { $0.bindKey },
        Route(Message.LookupKey.self) { $0.lookupKey },
    ])
}

/// Who sent a request: the session's grant and the codecs its client accepts in CHUNKS.
struct Caller {
    var grant: Grant
    var codecs: Set<Codec>

    /// The creator recorded on versions and alias moves.
    var actor: String { grant.actor }
}

/// One row of ``RequestRouter/routes``: a request type and its handler, with the access check.
struct Route: Sendable {
    let type: MessageType
    let run: @Sendable (RequestRouter, Message, Caller) throws(ServerError) -> Response

    /// A handler: a method of the router taking the request and its caller.
    typealias Handler<R, Reply> = @Sendable (RequestRouter) -> (R, Caller) throws(ServerError) -> Reply

    /// A request answered by a stream of frames (or a single one) that the handler builds.
    init<R: WireRequest>(_: R.Type, stream handler: @escaping Handler<R, Response>) {
        type = R.type
        run = { router, message, caller throws(ServerError) in
            guard let request = message.as(R.self) else {
                throw ServerError(.internalError, "\(message.type) was routed as \(R.type)")
            }
            try caller.grant.check(R.access, name: request.scopedName)
            return try handler(router)(request, caller)
        }
    }

    /// A request answered by one frame of its reply type.
    init<R: WireRequest>(_: R.Type, _ handler: @escaping Handler<R, R.Reply>)
    where R.Reply: SingleFrameResponse {
        self.init(
            R.self,
            stream: { router in
                { request, caller throws(ServerError) in
                    .single(Message(try handler(router)(request, caller)))
                }
            })
    }

    /// The rows keyed by request type (one row per type).
    static func table(_ routes: [Route]) -> [MessageType: Route] {
        Dictionary(routes.map { ($0.type, $0) }, uniquingKeysWith: { first, _ in first })
    }
}

extension Grant {
    /// The access check of every request (PROTOCOL.md §6, §7): the request's name must be valid,
    /// the token's scope high enough, and the name under one of its prefixes when the request
    /// type says so.
    func check(_ access: Access, name: String?) throws(ServerError) {
        let prefixName = access.names == .prefix ? name : nil
        if let prefixName { try RequestRouter.validName(prefixName) }
        if let needed = access.scope, !allows(needed) {
            throw ServerError(
                .permissionDenied,
                "token '\(actor)' has scope \(scope) but this needs \(needed); ask an admin for a token with \(needed)"
            )
        }
        if let prefixName, !covers(name: prefixName) {
            throw ServerError(
                .permissionDenied,
                "token '\(actor)' may only touch names under \(prefixes.joined(separator: ", ")), not '\(prefixName)'"
            )
        }
    }
}

// MARK: Helpers shared by the handlers

extension RequestRouter {
    /// Runs a store call, mapping its failure to a protocol error.
    @inline(__always)
    func s<T>(_ body: () throws(StoreError) -> T) throws(ServerError) -> T {
        do { return try body() } catch { throw ServerError(error) }
    }

    static func validName(_ name: String) throws(ServerError) {
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
}
