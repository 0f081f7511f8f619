import Foundation
import NIOHTTP1
import TroveCore

/// The git-lfs HTTP API's pieces that are pure values (docs/GIT-LFS.md): routes under `/_lfs/`,
/// the batch request (decoded from hostile input, bounded) and the JSON answers.
enum LFSRoute: Equatable {
    /// `POST /_lfs/REPO/objects/batch`
    case batch(repo: String)
    /// `PUT` / `GET /_lfs/REPO/objects/OID` (the basic transfer's hrefs)
    case object(repo: String, oid: String)
    /// `POST /_lfs/REPO/objects/verify`
    case verify(repo: String)
    /// `/_lfs/REPO/locks…`: locking is not supported (404, so clients skip it)
    case locks
    /// Anything else under `/_lfs/`.
    case unknown(String)

    static let prefix = "/_lfs/"

    /// Routes a request path (without the query), e.g. `/_lfs/models/objects/batch`.
    init(path: String) {
        let parts = path.dropFirst(Self.prefix.count).split(separator: "/", omittingEmptySubsequences: false)
            .map(String.init)
        guard let repo = parts.first, LFSNames.bucket(repository: repo) != nil else {
            self = .unknown("repository names are 1 to 59 of a-z 0-9 . - (the bucket is lfs-REPO)")
            return
        }
        switch parts.count {
        case 3 where parts[1] == "objects" && parts[2] == "batch": self = .batch(repo: repo)
        case 3 where parts[1] == "objects" && parts[2] == "verify": self = .verify(repo: repo)
        case 3 where parts[1] == "objects" && LFSNames.digest(oid: parts[2]) != nil:
            self = .object(repo: repo, oid: parts[2])
        case 2... where parts[1] == "locks": self = .locks
        default: self = .unknown("no git-lfs endpoint at this path")
        }
    }
}

/// A refused git-lfs request: HTTP status and a message (sent as `{"message": …}`).
struct LFSError: Error, Equatable, CustomStringConvertible {
    var status: HTTPResponseStatus
    var message: String
    /// Close the connection after answering (the body was not read to its end).
    var close = false

    init(_ status: HTTPResponseStatus, _ message: String, close: Bool = false) {
        self.status = status
        self.message = message
        self.close = close
    }

    var description: String { "\(status.code): \(message)" }
}

/// A git-lfs batch request, validated: operation, and objects with lowercase-hex oids.
struct LFSBatchRequest: Equatable {
    enum Operation: String { case upload, download }

    struct Object: Equatable {
        var oid: String
        var size: UInt64
    }

    var operation: Operation
    var objects: [Object]

    /// Largest batch body accepted, and most objects per batch (git-lfs sends 100).
    static let maxBody = 1 << 20
    static let maxObjects = 1000

    /// Decodes a batch body; anything malformed is a 422 with what is wrong.
    init(json body: [UInt8]) throws(LFSError) {
        guard body.count <= Self.maxBody else {
            throw LFSError(.payloadTooLarge, "a batch request is at most \(Self.maxBody) bytes")
        }
        guard let root = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else {
            throw LFSError(.unprocessableEntity, "the batch request is not a JSON object")
        }
        guard let op = root["operation"] as? String, let operation = Operation(rawValue: op) else {
            throw LFSError(.unprocessableEntity, "operation must be \"upload\" or \"download\"")
        }
        if let algo = root["hash_algo"] {
            guard algo as? String == "sha256" else {
                throw LFSError(.conflict, "only hash_algo sha256 is supported")
            }
        }
        if let transfers = root["transfers"] {
            guard let list = transfers as? [Any], list.allSatisfy({ $0 is String }) else {
                throw LFSError(.unprocessableEntity, "transfers must be a list of strings")
            }
        }
        guard let list = root["objects"] as? [Any] else {
            throw LFSError(.unprocessableEntity, "objects must be a list of {oid, size}")
        }
        guard list.count <= Self.maxObjects else {
            throw LFSError(.unprocessableEntity, "at most \(Self.maxObjects) objects per batch")
        }
        var objects: [Object] = []
        for item in list {
            guard let o = item as? [String: Any], let oid = o["oid"] as? String,
                LFSNames.digest(oid: oid) != nil
            else {
                throw LFSError(.unprocessableEntity, "every object needs an oid of 64 lowercase hex digits")
            }
            guard let n = o["size"] as? NSNumber, let size = UInt64(exactly: n.doubleValue) else {
                throw LFSError(
                    .unprocessableEntity, "object \(oid) needs a size that is a whole number of bytes")
            }
            objects.append(Object(oid: oid, size: size))
        }
        self.operation = operation
        self.objects = objects
    }

    /// A `{"oid": …, "size": …}` body (the verify request).
    static func verifyObject(json body: [UInt8]) throws(LFSError) -> Object {
        guard let o = try? JSONSerialization.jsonObject(with: Data(body)) as? [String: Any],
            let oid = o["oid"] as? String, LFSNames.digest(oid: oid) != nil,
            let n = o["size"] as? NSNumber, let size = UInt64(exactly: n.doubleValue)
        else {
            throw LFSError(
                .unprocessableEntity, "a verify request is {\"oid\": 64 lowercase hex, \"size\": bytes}")
        }
        return Object(oid: oid, size: size)
    }
}

/// JSON answers of the git-lfs API (`application/vnd.git-lfs+json`).
enum LFSJSON {
    static let contentType = "application/vnd.git-lfs+json"

    /// An action: where to send the object's bytes, with the request's Authorization header.
    static func action(_ href: String, authorization: String?) -> [String: Any] {
        var a: [String: Any] = ["href": href]
        if let authorization { a["header"] = ["Authorization": authorization] }
        return a
    }

    static func encode(_ object: Any) -> [UInt8] {
        Array(
            (try? JSONSerialization.data(
                withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data("{}".utf8))
    }
}

extension S3Decoders {
    /// The git-lfs API's decoders of hostile bytes (fuzz target 10): a batch request body and a
    /// request path under `/_lfs/`. Returns the accepted objects' oids (empty when refused) and
    /// the route's description.
    public static func lfs(body: [UInt8], path: String) -> (oids: [String], route: String) {
        let oids = (try? LFSBatchRequest(json: body))?.objects.map(\.oid) ?? []
        return (oids, "\(LFSRoute(path: LFSRoute.prefix + path))")
    }
}
