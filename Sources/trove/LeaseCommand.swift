import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove lease ls|rm`: the push leases that keep data from GC (admin).
struct LeaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lease",
        abstract: "List or end push leases (admin): each keeps what its push touched from GC until it ends.",
        subcommands: [LeaseLsCommand.self, LeaseRmCommand.self])
}

/// `trove lease ls [--json]`.
struct LeaseLsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List the live push leases, oldest first: ID, name, began, expires (UTC).",
        discussion: "`trove gc --dry-run` says how much data they pin. Exit 0, 6 without admin scope.")

    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let r = try Remote(connection: conn).leases()
            if json {
                printJSON([
                    "leases": r.leases.map {
                        [
                            "id": $0.lease.description, "name": $0.name, "created": $0.created,
                            "expires": $0.expires,
                        ]
                    },
                    "truncated": r.truncated,
                ])
                return
            }
            for l in r.leases {
                print("\(l.lease)\t\(l.name)\t\(isoTime(l.created))\t\(isoTime(l.expires))")
            }
            if r.truncated { note("note: more leases exist than one answer holds; end some and list again") }
        }
    }
}

/// `trove lease rm ID`.
struct LeaseRmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm",
        abstract: "End a push lease (admin): what only it kept becomes collectable by the next GC.",
        discussion: """
            A push still using the lease fails with lease-expired and can be run again (nothing \
            already stored is sent twice). Exit 0 ended, 3 no such live lease, 2 bad ID, 6 not admin.
            """)

    @Argument(help: "The lease ID (32 hex digits, from `trove lease ls`).") var id: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            guard let lease = LeaseID(hex: id) else {
                throw .usage(detail: "'\(id)' is not a lease ID (32 hex digits, see `trove lease ls`)")
            }
            let conn = try client.connect()
            defer { conn.close() }
            let existed = try Remote(connection: conn).endLease(lease)
            if json {
                printJSON(["id": lease.description, "ended": existed])
            } else if existed {
                print("ended push lease \(lease)")
            }
            if !existed { throw .notFound(detail: "push lease \(lease) is not live (see `trove lease ls`)") }
        }
    }
}
