import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove bucket ls`: the buckets the token sees.
struct BucketLsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the buckets the token sees.",
        discussion: "One line per bucket: NAME, keys, total size, created (UTC), and write-once if it is.")

    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let buckets = try Remote(connection: conn).buckets()
            if json {
                printJSON(buckets.map(BucketLsCommand.object))
                return
            }
            for b in buckets {
                print(
                    "\(b.name)\t\(b.keys) key\(b.keys == 1 ? "" : "s")\t\(Progress.bytes(b.bytes))\t"
                        + "\(isoTime(b.createdAt))\(b.writeOnce ? "\twrite-once" : "")")
            }
        }
    }

    /// A bucket as JSON (shared with `bucket create --json`).
    static func object(_ b: BucketRecord) -> [String: Any] {
        [
            "name": b.name, "keys": b.keys, "bytes": b.bytes, "created": isoTime(b.createdAt),
            "createdMillis": b.createdAt, "writeOnce": b.writeOnce,
        ]
    }
}
