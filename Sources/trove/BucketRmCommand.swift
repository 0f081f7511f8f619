import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove bucket rm NAME`: deletes an empty bucket.
struct BucketRmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "Delete an empty bucket.",
        discussion: """
            A bucket with keys or unfinished multipart uploads is refused (exit 4): delete its keys \
            first (e.g. `aws s3 rm --recursive s3://NAME`). A missing bucket exits 3.
            """)

    @Argument(help: "Bucket name.") var name: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            try Remote(connection: conn).removeBucket(name)
            if json {
                printJSON(["name": name, "removed": true])
                return
            }
            print("removed bucket \(name)")
        }
    }
}
