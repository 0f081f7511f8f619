import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove rm NAME:VERSION [--force]`: retire a version (admin).
struct RmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract:
            "Retire a version (admin): no longer listed or pullable; its data becomes collectable by GC.",
        discussion: """
            The tag stays taken and the ref log keeps the record. Refused (exit 4) while an alias points \
            at the version, unless --force, which also removes those aliases (each move is recorded). \
            Disk space comes back at the next `trove gc`.
            """)

    @Argument(help: "NAME:VERSION to retire.")
    var ref: String

    @Flag(help: "Also remove the aliases that point at it.")
    var force = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            guard let colon = ref.lastIndex(of: ":"), !ref.contains("@") else {
                throw .usage(detail: "'\(ref)' is not NAME:VERSION")
            }
            let name = String(ref[..<colon])
            let version = String(ref[ref.index(after: colon)...])
            do {
                try Names.validateName(name)
                try Names.validateTag(version, what: "version")
            } catch { throw .usage(detail: "'\(ref)': \(error)") }
            let conn = try client.connect()
            defer { conn.close() }
            var done: Message.Retired?
            try NotFound.explaining([(nil, ref)], connection: conn) { () throws(ClientError) in
                done = try Remote(connection: conn).retire(name: name, version: version, force: force)
            }
            guard let r = done else { return }
            if json {
                printJSON(["name": r.name, "version": r.version, "detachedAliases": r.detachedAliases])
                return
            }
            print("retired \(r.name):\(r.version)")
            for a in r.detachedAliases { print("removed alias \(r.name):\(a)") }
        }
    }
}
