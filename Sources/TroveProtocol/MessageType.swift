/// The type byte of a frame. Requests are `0x01…0x7F`; a request's main response is the request
/// code with the high bit set; `COMMIT_MISSING` (0xF4) and `ERROR` (0xFF) are the other responses.
public enum MessageType: UInt8, CaseIterable, Sendable, CustomStringConvertible {
    case hello = 0x01
    case auth = 0x02
    case ping = 0x03
    case beginPush = 0x10
    case has = 0x11
    case putChunks = 0x12
    case putObjects = 0x13
    case commit = 0x14
    case createVersion = 0x15
    case endPush = 0x16
    case blobOpen = 0x17
    case blobChunks = 0x18
    case blobClose = 0x19
    case blobSeal = 0x1A
    case getRef = 0x20
    case getObjects = 0x21
    case getChunks = 0x22
    case listVersions = 0x23
    case log = 0x24
    case stat = 0x25
    case queryVersions = 0x26
    case aliasSet = 0x30
    case aliasList = 0x31
    case aliasHistory = 0x32
    case aliasRemove = 0x33
    case retire = 0x40
    case gc = 0x41
    case scrub = 0x42
    case leaseList = 0x43
    case leaseEnd = 0x44
    case bucketList = 0x50
    case bucketCreate = 0x51
    case bucketRemove = 0x52
    case bucketKeys = 0x53
    case snapshot = 0x54
    case bindKey = 0x60
    case lookupKey = 0x61

    case helloOK = 0x81
    case authOK = 0x82
    case pong = 0x83
    case pushBegun = 0x90
    case hasResult = 0x91
    case putChunksOK = 0x92
    case putObjectsOK = 0x93
    case commitOK = 0x94
    case versionCreated = 0x95
    case pushEnded = 0x96
    case blobOpened = 0x97
    case blobChunksOK = 0x98
    case blobClosed = 0x99
    case blobSealed = 0x9A
    case refInfo = 0xA0
    case objects = 0xA1
    case chunks = 0xA2
    case versionList = 0xA3
    case stats = 0xA5
    case aliasSetOK = 0xB0
    case aliases = 0xB1
    case aliasHistoryList = 0xB2
    case aliasRemoved = 0xB3
    case retired = 0xC0
    case gcReport = 0xC1
    case scrubReport = 0xC2
    case leases = 0xC3
    case leaseEnded = 0xC4
    case buckets = 0xD0
    case bucketCreated = 0xD1
    case bucketRemoved = 0xD2
    case keyList = 0xD3
    case snapshotOK = 0xD4
    case keyBound = 0xE0
    case keyInfo = 0xE1
    case commitMissing = 0xF4
    case error = 0xFF

    /// Whether a client sends this type (as opposed to a server).
    public var isRequest: Bool { rawValue < 0x80 }

    /// The lowest protocol version that has this type: the blob streams (PROTOCOL.md §9a) came
    /// with version 2, BLOB_SEAL (the server computes the blob digest) with version 3; everything
    /// else is version 1. On a connection that negotiated an older
    /// version the type is unknown (``FrameDecoder`` refuses it, a protocol violation).
    public var sinceVersion: UInt8 {
        switch self {
        case .blobOpen, .blobChunks, .blobClose, .blobOpened, .blobChunksOK, .blobClosed: 2
        case .blobSeal, .blobSealed: 3
        default: 1
        }
    }

    /// The name used in PROTOCOL.md, e.g. `PUT_CHUNKS`.
    public var description: String {
        switch self {
        case .hello: "HELLO"
        case .auth: "AUTH"
        case .ping: "PING"
        case .beginPush: "BEGIN_PUSH"
        case .has: "HAS"
        case .putChunks: "PUT_CHUNKS"
        case .putObjects: "PUT_OBJECTS"
        case .commit: "COMMIT"
        case .createVersion: "CREATE_VERSION"
        case .endPush: "END_PUSH"
        case .blobOpen: "BLOB_OPEN"
        case .blobChunks: "BLOB_CHUNKS"
        case .blobClose: "BLOB_CLOSE"
        case .blobSeal: "BLOB_SEAL"
        case .getRef: "GET_REF"
        case .getObjects: "GET_OBJECTS"
        case .getChunks: "GET_CHUNKS"
        case .listVersions: "LIST_VERSIONS"
        case .log: "LOG"
        case .stat: "STAT"
        case .queryVersions: "QUERY_VERSIONS"
        case .aliasSet: "ALIAS_SET"
        case .aliasList: "ALIAS_LIST"
        case .aliasHistory: "ALIAS_HISTORY"
        case .aliasRemove: "ALIAS_RM"
        case .retire: "RETIRE"
        case .gc: "GC"
        case .scrub: "SCRUB"
        case .leaseList: "LEASE_LIST"
        case .leaseEnd: "LEASE_END"
        case .bucketList: "BUCKET_LIST"
        case .bucketCreate: "BUCKET_CREATE"
        case .bucketRemove: "BUCKET_RM"
        case .bucketKeys: "BUCKET_KEYS"
        case .snapshot: "SNAPSHOT"
        case .bindKey: "BIND_KEY"
        case .lookupKey: "LOOKUP_KEY"
        case .helloOK: "HELLO_OK"
        case .authOK: "AUTH_OK"
        case .pong: "PONG"
        case .pushBegun: "PUSH_BEGUN"
        case .hasResult: "HAS_RESULT"
        case .putChunksOK: "PUT_CHUNKS_OK"
        case .putObjectsOK: "PUT_OBJECTS_OK"
        case .commitOK: "COMMIT_OK"
        case .versionCreated: "VERSION_CREATED"
        case .pushEnded: "PUSH_ENDED"
        case .blobOpened: "BLOB_OPENED"
        case .blobChunksOK: "BLOB_CHUNKS_OK"
        case .blobClosed: "BLOB_CLOSED"
        case .blobSealed: "BLOB_SEALED"
        case .refInfo: "REF_INFO"
        case .objects: "OBJECTS"
        case .chunks: "CHUNKS"
        case .versionList: "VERSION_LIST"
        case .stats: "STATS"
        case .aliasSetOK: "ALIAS_SET_OK"
        case .aliases: "ALIASES"
        case .aliasHistoryList: "ALIAS_HISTORY_LIST"
        case .aliasRemoved: "ALIAS_REMOVED"
        case .retired: "RETIRED"
        case .gcReport: "GC_REPORT"
        case .scrubReport: "SCRUB_REPORT"
        case .leases: "LEASES"
        case .leaseEnded: "LEASE_ENDED"
        case .buckets: "BUCKETS"
        case .bucketCreated: "BUCKET_CREATED"
        case .bucketRemoved: "BUCKET_REMOVED"
        case .keyList: "KEY_LIST"
        case .snapshotOK: "SNAPSHOT_OK"
        case .keyBound: "KEY_BOUND"
        case .keyInfo: "KEY_INFO"
        case .commitMissing: "COMMIT_MISSING"
        case .error: "ERROR"
        }
    }
}
