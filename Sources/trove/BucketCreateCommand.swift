import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove bucket create NAME [--write-once]`.
struct BucketCreateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a bucket (--write-once: keys can be neither overwritten nor deleted).",
        discussion: """
            Names follow S3's rules: 3 to 63 of a-z 0-9 . -, starting and ending with a letter or \
            digit; `versions` is reserved. An existing bucket exits 4. A write-once bucket protects \
            every key written to it, whatever the writer's token: the protection restic and kopia \
            users want against a compromised client.
            """)

    @Argument(help: "Bucket name.") var name: String
    @Flag(name: .customLong("write-once"), help: "Keys, once written, can be neither overwritten nor deleted.")
    var writeOnce = false
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let b = try Remote(connection: conn).createBucket(name, writeOnce: writeOnce)
            if json {
                printJSON(BucketLsCommand.object(b))
                return
            }
            print("created bucket \(b.name)\(b.writeOnce ? " (write-once)" : "")")
        }
    }
}
