import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove log NAME`: the versions of a name, newest first.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "log",
        abstract: "The versions of NAME, newest first: created, creator, message, tree digest, aliases.")

    @Argument(help: "Artifact name, e.g. models/churn.") var name: String
    @Flag(help: "Include retired versions.") var all = false
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let versions = try Remote(connection: conn).log(name: name, includeRetired: all)
            guard !versions.isEmpty else {
                throw .notFound(detail: NotFound.unknownName(name, remote: Remote(connection: conn)))
            }
            if json {
                printJSON(versions.map(VersionJSON.object))
                return
            }
            for (i, v) in versions.enumerated() {
                if i > 0 { print("") }
                var head = "\(v.name):\(v.version)"
                if !v.aliases.isEmpty { head += " (\(v.aliases.sorted().joined(separator: ", ")))" }
                if v.retired { head += " [retired]" }
                print(head)
                print("  created  \(isoTime(v.createdAt)) by \(Actor.text(v.creator))")
                print("  tree     \(v.tree.prefixed)")
                if !v.parents.isEmpty { print("  parents  \(v.parents.joined(separator: ", "))") }
                if !v.message.isEmpty { print("  message  \(v.message)") }
            }
        }
    }
}
