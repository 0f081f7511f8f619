// Fields in wire order. PROTOCOL.md ("Messages", "Records") lists the same fields: keep both in sync.
import NIOCore
import TroveCore

/// Every message of protocol version 1: a request (client → server) or a response.
///
/// The associated structs hold the fields in wire order; see PROTOCOL.md for types and limits.
public enum Message: Equatable, Sendable {
    /// `HELLO`: First frame a client sends.
    case hello(Hello)
    /// `HELLO_OK`: The server's answer to HELLO.
    case helloOK(HelloOK)
    /// `AUTH`: Proves a token without sending its secret.
    case auth(Auth)
    /// `AUTH_OK`: Authentication succeeded.
    case authOK(AuthOK)
    /// `PING`: Keep-alive; may be sent at any time after HELLO_OK.
    case ping(Ping)
    /// `PONG`: Answer to PING.
    case pong(Pong)
    /// `ERROR`: A request failed (or, with request id 0, the connection is being closed).
    case error(ErrorReply)
    /// `BEGIN_PUSH`: Starts (or resumes) a push and obtains a lease that protects its chunks from GC.
    case beginPush(BeginPush)
    /// `PUSH_BEGUN`: The lease for a push.
    case pushBegun(PushBegun)
    /// `HAS`: Asks which chunks or objects the store already holds; present ones are protected by the lease.
    case has(Has)
    /// `HAS_RESULT`: Answer to HAS.
    case hasResult(HasResult)
    /// `PUT_CHUNKS`: Uploads chunks; the server decompresses and re-hashes every one.
    case putChunks(PutChunks)
    /// `PUT_CHUNKS_OK`: Every chunk of the PUT_CHUNKS is durable.
    case putChunksOK(PutChunksOK)
    /// `PUT_OBJECTS`: Uploads recipes and trees (canonical bytes), possibly in parts.
    case putObjects(PutObjects)
    /// `PUT_OBJECTS_OK`: The parts were accepted.
    case putObjectsOK(PutObjectsOK)
    /// `COMMIT`: Asks the server to check a tree is complete: tree, recipes and all chunks durable.
    case commit(Commit)
    /// `COMMIT_OK`: The tree, every recipe it needs and every chunk are durable; blob digests verified.
    case commitOK(CommitOK)
    /// `COMMIT_MISSING`: COMMIT refused: these are missing (possibly several frames, `more` flag).
    case commitMissing(CommitMissing)
    /// `CREATE_VERSION`: Creates `name:version` → tree (create-only).
    case createVersion(CreateVersion)
    /// `VERSION_CREATED`: The version exists and points at the tree.
    case versionCreated(VersionCreated)
    /// `END_PUSH`: Releases a lease early.
    case endPush(EndPush)
    /// `PUSH_ENDED`: The lease is released.
    case pushEnded(PushEnded)
    /// `GET_REF`: Resolves a reference.
    case getRef(GetRef)
    /// `REF_INFO`: What a reference resolves to.
    case refInfo(RefInfo)
    /// `GET_OBJECTS`: Fetches recipes or trees.
    case getObjects(GetObjects)
    /// `OBJECTS`: Answer to GET_OBJECTS (possibly several frames, `more` flag).
    case objects(Objects)
    /// `GET_CHUNKS`: Fetches chunks.
    case getChunks(GetChunks)
    /// `CHUNKS`: Answer to GET_CHUNKS (possibly several frames, `more` flag).
    case chunks(Chunks)
    /// `LIST_VERSIONS`: Lists versions whose name is under a prefix and whose metadata matches every filter.
    case listVersions(ListVersions)
    /// `LOG`: The versions of one name, newest first.
    case log(Log)
    /// `VERSION_LIST`: Answer to LIST_VERSIONS and LOG (possibly several frames, `more` flag).
    case versionList(VersionList)
    /// `STAT`: Asks for store statistics.
    case stat(Stat)
    /// `STATS`: Store statistics.
    case stats(Stats)
    /// `ALIAS_SET`: Points `name:alias` at `name:version`, by compare-and-swap.
    case aliasSet(AliasSet)
    /// `ALIAS_SET_OK`: The alias moved.
    case aliasSetOK(AliasSetOK)
    /// `ALIAS_LIST`: Lists the aliases of a name.
    case aliasList(AliasList)
    /// `ALIASES`: Answer to ALIAS_LIST (possibly several frames).
    case aliases(Aliases)
    /// `ALIAS_HISTORY`: The moves of one alias, newest first.
    case aliasHistory(AliasHistory)
    /// `ALIAS_HISTORY_LIST`: Answer to ALIAS_HISTORY (possibly several frames).
    case aliasHistoryList(AliasHistoryList)
    /// `ALIAS_RM`: Removes an alias (recorded in its history).
    case aliasRemove(AliasRemove)
    /// `ALIAS_REMOVED`: The alias is gone.
    case aliasRemoved(AliasRemoved)
    /// `RETIRE`: Retires a version (admin): unlisted, unpullable, its data collectable.
    case retire(Retire)
    /// `RETIRED`: The version is retired.
    case retired(Retired)
    /// `GC`: Runs garbage collection (admin).
    case gc(GC)
    /// `GC_REPORT`: GC finished (possibly several frames: concatenate `json`).
    case gcReport(GCReport)
    /// `SCRUB`: Runs an integrity scrub (admin).
    case scrub(Scrub)
    /// `SCRUB_REPORT`: Scrub finished (possibly several frames: concatenate `json`).
    case scrubReport(ScrubReport)

    /// The frame type of this message.
    public var type: MessageType {
        switch self {
        case .hello: .hello
        case .helloOK: .helloOK
        case .auth: .auth
        case .authOK: .authOK
        case .ping: .ping
        case .pong: .pong
        case .error: .error
        case .beginPush: .beginPush
        case .pushBegun: .pushBegun
        case .has: .has
        case .hasResult: .hasResult
        case .putChunks: .putChunks
        case .putChunksOK: .putChunksOK
        case .putObjects: .putObjects
        case .putObjectsOK: .putObjectsOK
        case .commit: .commit
        case .commitOK: .commitOK
        case .commitMissing: .commitMissing
        case .createVersion: .createVersion
        case .versionCreated: .versionCreated
        case .endPush: .endPush
        case .pushEnded: .pushEnded
        case .getRef: .getRef
        case .refInfo: .refInfo
        case .getObjects: .getObjects
        case .objects: .objects
        case .getChunks: .getChunks
        case .chunks: .chunks
        case .listVersions: .listVersions
        case .log: .log
        case .versionList: .versionList
        case .stat: .stat
        case .stats: .stats
        case .aliasSet: .aliasSet
        case .aliasSetOK: .aliasSetOK
        case .aliasList: .aliasList
        case .aliases: .aliases
        case .aliasHistory: .aliasHistory
        case .aliasHistoryList: .aliasHistoryList
        case .aliasRemove: .aliasRemove
        case .aliasRemoved: .aliasRemoved
        case .retire: .retire
        case .retired: .retired
        case .gc: .gc
        case .gcReport: .gcReport
        case .scrub: .scrub
        case .scrubReport: .scrubReport
        }
    }

    /// Appends the payload (fields in order) to `buffer`.
    public func encode(into buffer: inout ByteBuffer) {
        switch self {
        case .hello(let m): m.encode(into: &buffer)
        case .helloOK(let m): m.encode(into: &buffer)
        case .auth(let m): m.encode(into: &buffer)
        case .authOK(let m): m.encode(into: &buffer)
        case .ping(let m): m.encode(into: &buffer)
        case .pong(let m): m.encode(into: &buffer)
        case .error(let m): m.encode(into: &buffer)
        case .beginPush(let m): m.encode(into: &buffer)
        case .pushBegun(let m): m.encode(into: &buffer)
        case .has(let m): m.encode(into: &buffer)
        case .hasResult(let m): m.encode(into: &buffer)
        case .putChunks(let m): m.encode(into: &buffer)
        case .putChunksOK(let m): m.encode(into: &buffer)
        case .putObjects(let m): m.encode(into: &buffer)
        case .putObjectsOK(let m): m.encode(into: &buffer)
        case .commit(let m): m.encode(into: &buffer)
        case .commitOK(let m): m.encode(into: &buffer)
        case .commitMissing(let m): m.encode(into: &buffer)
        case .createVersion(let m): m.encode(into: &buffer)
        case .versionCreated(let m): m.encode(into: &buffer)
        case .endPush(let m): m.encode(into: &buffer)
        case .pushEnded(let m): m.encode(into: &buffer)
        case .getRef(let m): m.encode(into: &buffer)
        case .refInfo(let m): m.encode(into: &buffer)
        case .getObjects(let m): m.encode(into: &buffer)
        case .objects(let m): m.encode(into: &buffer)
        case .getChunks(let m): m.encode(into: &buffer)
        case .chunks(let m): m.encode(into: &buffer)
        case .listVersions(let m): m.encode(into: &buffer)
        case .log(let m): m.encode(into: &buffer)
        case .versionList(let m): m.encode(into: &buffer)
        case .stat(let m): m.encode(into: &buffer)
        case .stats(let m): m.encode(into: &buffer)
        case .aliasSet(let m): m.encode(into: &buffer)
        case .aliasSetOK(let m): m.encode(into: &buffer)
        case .aliasList(let m): m.encode(into: &buffer)
        case .aliases(let m): m.encode(into: &buffer)
        case .aliasHistory(let m): m.encode(into: &buffer)
        case .aliasHistoryList(let m): m.encode(into: &buffer)
        case .aliasRemove(let m): m.encode(into: &buffer)
        case .aliasRemoved(let m): m.encode(into: &buffer)
        case .retire(let m): m.encode(into: &buffer)
        case .retired(let m): m.encode(into: &buffer)
        case .gc(let m): m.encode(into: &buffer)
        case .gcReport(let m): m.encode(into: &buffer)
        case .scrub(let m): m.encode(into: &buffer)
        case .scrubReport(let m): m.encode(into: &buffer)
        }
    }

    /// Decodes the payload of a frame of type `type`. Never traps; the whole payload must be used.
    public static func decode(type: MessageType, payload: ByteBuffer) throws(ProtocolError) -> Message {
        var r = WireReader(payload)
        let m: Message =
            switch type {
            case .hello: .hello(try Message.Hello(from: &r))
            case .helloOK: .helloOK(try Message.HelloOK(from: &r))
            case .auth: .auth(try Message.Auth(from: &r))
            case .authOK: .authOK(try Message.AuthOK(from: &r))
            case .ping: .ping(try Message.Ping(from: &r))
            case .pong: .pong(try Message.Pong(from: &r))
            case .error: .error(try Message.ErrorReply(from: &r))
            case .beginPush: .beginPush(try Message.BeginPush(from: &r))
            case .pushBegun: .pushBegun(try Message.PushBegun(from: &r))
            case .has: .has(try Message.Has(from: &r))
            case .hasResult: .hasResult(try Message.HasResult(from: &r))
            case .putChunks: .putChunks(try Message.PutChunks(from: &r))
            case .putChunksOK: .putChunksOK(try Message.PutChunksOK(from: &r))
            case .putObjects: .putObjects(try Message.PutObjects(from: &r))
            case .putObjectsOK: .putObjectsOK(try Message.PutObjectsOK(from: &r))
            case .commit: .commit(try Message.Commit(from: &r))
            case .commitOK: .commitOK(try Message.CommitOK(from: &r))
            case .commitMissing: .commitMissing(try Message.CommitMissing(from: &r))
            case .createVersion: .createVersion(try Message.CreateVersion(from: &r))
            case .versionCreated: .versionCreated(try Message.VersionCreated(from: &r))
            case .endPush: .endPush(try Message.EndPush(from: &r))
            case .pushEnded: .pushEnded(try Message.PushEnded(from: &r))
            case .getRef: .getRef(try Message.GetRef(from: &r))
            case .refInfo: .refInfo(try Message.RefInfo(from: &r))
            case .getObjects: .getObjects(try Message.GetObjects(from: &r))
            case .objects: .objects(try Message.Objects(from: &r))
            case .getChunks: .getChunks(try Message.GetChunks(from: &r))
            case .chunks: .chunks(try Message.Chunks(from: &r))
            case .listVersions: .listVersions(try Message.ListVersions(from: &r))
            case .log: .log(try Message.Log(from: &r))
            case .versionList: .versionList(try Message.VersionList(from: &r))
            case .stat: .stat(try Message.Stat(from: &r))
            case .stats: .stats(try Message.Stats(from: &r))
            case .aliasSet: .aliasSet(try Message.AliasSet(from: &r))
            case .aliasSetOK: .aliasSetOK(try Message.AliasSetOK(from: &r))
            case .aliasList: .aliasList(try Message.AliasList(from: &r))
            case .aliases: .aliases(try Message.Aliases(from: &r))
            case .aliasHistory: .aliasHistory(try Message.AliasHistory(from: &r))
            case .aliasHistoryList: .aliasHistoryList(try Message.AliasHistoryList(from: &r))
            case .aliasRemove: .aliasRemove(try Message.AliasRemove(from: &r))
            case .aliasRemoved: .aliasRemoved(try Message.AliasRemoved(from: &r))
            case .retire: .retire(try Message.Retire(from: &r))
            case .retired: .retired(try Message.Retired(from: &r))
            case .gc: .gc(try Message.GC(from: &r))
            case .gcReport: .gcReport(try Message.GCReport(from: &r))
            case .scrub: .scrub(try Message.Scrub(from: &r))
            case .scrubReport: .scrubReport(try Message.ScrubReport(from: &r))
            }
        try r.finish(type.description)
        return m
    }
}
