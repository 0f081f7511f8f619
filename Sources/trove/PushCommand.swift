import ArgumentParser
import Foundation
import Synchronization
import TroveClient
import TroveCore
import TroveProtocol

/// `trove push PATH NAME:VERSION`: sends a file or directory as a new version.
struct PushCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "push",
        abstract: "Push a file or directory as NAME:VERSION, sending only what the server lacks.",
        discussion: """
            A file becomes a tree with one entry named after it; a directory, its contents (relative \
            paths, permission bits, symlinks stored as links, empty directories). Files are chunked \
            locally with the store's parameters; only chunks the server lacks are sent (compressed). \
            Prints the tree digest and, for a single file, its blob digest (what sha256sum prints). \
            Versions are immutable: pushing other content to an existing NAME:VERSION exits 4; pushing \
            the same content again is a no-op (exit 0). An interrupted push, run again, resends nothing \
            the server already stored.
            """)

    @Argument(help: "File or directory to push.")
    var path: String

    @Argument(help: "NAME:VERSION to create.")
    var ref: String

    @Option(name: .customLong("meta"), help: "Metadata KEY=VALUE (repeatable; values are strings).")
    var meta: [String] = []

    @Option(
        name: .customLong("meta-file"),
        help: "Metadata from a flat JSON object of string, number and boolean values.")
    var metaFile: String?

    @Option(
        name: .customLong("parent"),
        help: "Parent version REF (repeatable), e.g. the dataset a model was trained on.")
    var parents: [String] = []

    @Option(name: .long, help: "A message describing this version.")
    var message: String = ""

    @Flag(
        name: .customLong("no-cache"),
        help: "Read every file (ignore the stat cache in $TROVE_CACHE_DIR or ~/.cache/trove).")
    var noCache = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let (name, version) = try PushCommand.parseTarget(ref)
            var metadata = try PushCommand.parseMetadata(meta)
            if let metaFile { metadata = try MetaFile.merge(metadata, MetaFile.load(metaFile)) }
            for p in parents {
                do { _ = try Ref(parsing: p) } catch { throw .usage(detail: "invalid --parent: \(error)") }
            }
            guard message.utf8.count <= ProtocolLimits.maxMessageLength else {
                throw .usage(detail: "--message is longer than \(ProtocolLimits.maxMessageLength) bytes")
            }
            Interrupt.install(
                message:
                    "\ntrove: interrupted: no version was created. Chunks the server already stored stay "
                    + "there, held by the push lease (about an hour); run the same command again to resume "
                    + "without sending them again\n")
            let conn = try client.connect()
            defer { conn.close() }
            // Parents must exist: say which one does not before uploading anything.
            var parentKeys: [String] = []
            for p in parents {
                let info = try NotFound.resolve(Remote(connection: conn), p, option: "--parent")
                parentKeys.append(info.version.map { "\($0.name):\($0.version)" } ?? p)
            }
            let extra = client.extraConnections(1)
            defer { for c in extra { c.close() } }
            let pusher = Pusher(connection: conn, progress: Progress.forTerminal())
            pusher.uploadConnections = extra
            let environment = ProcessInfo.processInfo.environment
            // The two-pass path for large files, for A/B measurements (docs/PERFORMANCE.md).
            if environment["TROVE_PUSH_BLOB_STREAMS"] == "0" { pusher.streamLargeFiles = false }
            if environment["TROVE_PUSH_READ_AHEAD"] == "1" { pusher.readAhead = true }
            if environment["TROVE_PUSH_RECIPES_PER_BATCH"] == "1" { pusher.singleRecipesAtEnd = false }
            if environment["TROVE_PUSH_IMPLIED_RECIPES"] == "0" { pusher.impliedRecipes = false }
            // The client computes every blob digest itself (protocol-2 behaviour), for A/B runs.
            if environment["TROVE_PUSH_SERVER_DIGEST"] == "0" { pusher.serverDigests = false }
            // Frames copied whole instead of written in pieces (A/B runs; the same bytes go out).
            if environment["TROVE_SCATTER_FRAMES"] == "0" { Connection.scatterFrames.store(false, ordering: .relaxed) }
            if let n = environment["TROVE_PUSH_SMALL_ENCODERS"].flatMap(Int.init), n > 0 {
                pusher.smallEncodeThreads = min(n, 4)
            }
            if environment["TROVE_PUSH_SMALL_CHUNKS_CONN"] == "0" { pusher.smallChunksOnUploadConnection = false }
            if environment["TROVE_SCAN_THREADS"] == "1" { pusher.parallelScan = false }
            if let w = environment["TROVE_PUSH_STREAM_WINDOW"].flatMap(Int.init), w > 0 { pusher.streamWindow = w }
            if let m = environment["TROVE_PUSH_STREAM_BATCH_MIB"].flatMap(Int.init), m > 0 {
                pusher.streamBatchBytes = m << 20
            }
            if !noCache, environment["TROVE_NO_STAT_CACHE"] == nil,
                let dir = StatCache.defaultDirectory(environment: environment)
            {
                pusher.statCache = StatCache(
                    directory: dir, parameters: conn.chunkerParameters, formats: conn.formatPolicy)
            }
            let leases = LeaseState(
                server: conn.address, name: name, version: version,
                environment: ProcessInfo.processInfo.environment)
            let r: PushResult
            let began = LeaseBox()
            do throws(ClientError) {
                r = try pusher.push(
                    PushRequest(
                        path: path, name: name, version: version, message: message, metadata: metadata,
                        parents: parents), resume: leases.load(),
                    onLease: {
                        leases.save($0)
                        began.lease = $0
                    })
            } catch {
                // Keep the lease only when a re-run can resume (the connection broke, or retry later);
                // else end it on the server too, so it does not keep data from GC until it expires.
                switch error {
                case .connectionClosed: break
                case .server(let code, _, _) where code.isRetryable: break
                default:
                    leases.clear()
                    if let lease = began.lease { PushCommand.endLease(lease, conn, client) }
                }
                throw error
            }
            leases.clear()
            if !r.created {
                try PushCommand.checkSameRecord(
                    conn, name: name, version: version, message: message, metadata: metadata,
                    parents: parentKeys)
            }
            for s in r.skipped { note("trove: skipped \(s) (not a file, directory or symlink)") }
            if json {
                var o: [String: Any] = [
                    "name": r.name, "version": r.version, "tree": r.tree.prefixed, "created": r.created,
                    "files": r.files, "logicalBytes": r.logicalBytes, "chunks": r.chunks,
                    "chunksSent": r.chunksSent, "rawBytesSent": r.rawBytesSent,
                    "chunkBytesSent": r.chunkBytesSent,
                    "objectBytesSent": r.objectBytesSent, "bytesSent": r.bytesSent,
                    "bytesDeduplicated": r.bytesDeduplicated, "bytesAlreadyOnServer": r.bytesDeduplicated,
                    "resumedLease": r.resumedLease,
                ]
                if let b = r.blob { o["blob"] = b.prefixed }
                o["filesFromCache"] = pusher.statCache?.hits ?? 0
                printJSON(o)
            } else {
                print("\(r.created ? "pushed" : "unchanged") \(r.name):\(r.version)")
                print("tree \(r.tree.prefixed)")
                if let b = r.blob { print("\(b.prefixed)  \(LocalName.base(path))") }
                // "Already on the server": chunks the server had (other versions, or an interrupted
                // run of this push); "repeated": content occurring more than once in this push.
                let unique = r.bytesDeduplicated + r.rawBytesSent
                let repeated = r.logicalBytes > unique ? r.logicalBytes - unique : 0
                var line =
                    "\(r.files) file\(r.files == 1 ? "" : "s"), \(Progress.bytes(r.logicalBytes)); sent \(r.chunksSent) "
                    + "of \(r.chunks) chunks, \(Progress.bytes(r.bytesSent)) on the wire; "
                    + "\(Progress.bytes(r.bytesDeduplicated)) already on the server"
                if r.resumedLease { line += " (this push resumed an interrupted one)" }
                if repeated > 0 {
                    line += "; \(Progress.bytes(repeated)) repeated within this push (stored once)"
                }
                print(line)
            }
        }
    }

    /// A re-push of content that is already `NAME:VERSION` is a no-op only when the message,
    /// metadata and parents are the same too: they are part of the immutable version, so other
    /// values are a conflict (exit 4), never silently dropped.
    static func checkSameRecord(
        _ conn: Connection, name: String, version: String, message: String, metadata: [MetadataEntry],
        parents: [String]
    ) throws(ClientError) {
        guard let existing = try Remote(connection: conn).resolve("\(name):\(version)").version else {
            return
        }
        var differs: [String] = []
        if existing.message != message {
            differs.append("--message (it has \"\(existing.message)\", this push said \"\(message)\")")
        }
        func text(_ m: [MetadataEntry]) -> [String] { m.map { "\($0.key)=\($0.value.description)" }.sorted() }
        if text(existing.metadata) != text(metadata) {
            let has = text(existing.metadata).joined(separator: " ")
            let said = text(metadata).joined(separator: " ")
            differs.append("--meta (it has [\(has)], this push said [\(said)])")
        }
        if existing.parents.sorted() != parents.sorted() {
            differs.append(
                "--parent (it has [\(existing.parents.joined(separator: " "))], this push said "
                    + "[\(parents.joined(separator: " "))])")
        }
        guard !differs.isEmpty else { return }
        throw .server(
            code: .conflict,
            message: "\(name):\(version) already exists with the same content but other metadata: "
                + differs.joined(separator: "; ")
                + ". Metadata is part of an immutable version: push a new version to change it",
            request: "CREATE_VERSION")
    }

    static func parseTarget(_ text: String) throws(ClientError) -> (String, String) {
        let parsed: Ref
        do { parsed = try Ref(parsing: text) } catch { throw .usage(detail: "\(error)") }
        guard case .tag(let name, let version) = parsed else {
            throw .usage(detail: "push needs NAME:VERSION, not a digest reference (\(text))")
        }
        return (name, version)
    }

    static func parseMetadata(_ items: [String]) throws(ClientError) -> [MetadataEntry] {
        var out: [String: MetadataEntry] = [:]
        for item in items {
            guard let eq = item.firstIndex(of: "="), eq != item.startIndex else {
                throw .usage(detail: "invalid --meta \"\(item)\": expected KEY=VALUE")
            }
            let key = String(item[..<eq])
            let value = String(item[item.index(after: eq)...])
            guard key.utf8.count <= ProtocolLimits.maxMetadataKeyLength else {
                throw .usage(detail: "--meta key \"\(key.prefix(40))…\" is longer than 128 bytes")
            }
            guard value.utf8.count <= ProtocolLimits.maxMetadataValueLength else {
                throw .usage(detail: "--meta \(key): value longer than 4096 bytes")
            }
            guard out[key] == nil else { throw .usage(detail: "--meta \(key) given twice") }
            out[key] = MetadataEntry(key: key, value: .string(value))
        }
        guard out.count <= ProtocolLimits.maxMetadataEntries else {
            throw .usage(detail: "at most \(ProtocolLimits.maxMetadataEntries) --meta entries")
        }
        return out.keys.sorted().map { out[$0]! }
    }
}

enum LocalName {
    static func base(_ path: String) -> String {
        URL(fileURLWithPath: path).lastPathComponent
    }
}

extension PushCommand {
    /// Ends `lease` after a push failed for good: on the push's connection, or on a new one if
    /// that one is no longer usable. Best effort (the server also ends leases of pushes that fail
    /// on its side, and expires the rest).
    static func endLease(_ lease: LeaseID, _ conn: Connection, _ client: ClientOptions) {
        if (try? conn.call(Message.EndPush(lease: lease))) != nil { return }
        guard let fresh = try? client.connect() else { return }
        defer { fresh.close() }
        _ = try? fresh.call(Message.EndPush(lease: lease))
    }
}

/// The lease a push began (set from its `onLease` callback).
final class LeaseBox: Sendable {
    private let value = Mutex<LeaseID?>(nil)
    var lease: LeaseID? {
        get { value.withLock { $0 } }
        set { value.withLock { $0 = newValue } }
    }
}
