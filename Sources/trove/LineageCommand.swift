import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove lineage REF [--up|--down] [--depth N]`: parents or children as an indented tree.
struct LineageCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract:
            "Show what a version was built from (--up, the default) or what was built from it (--down).",
        discussion: """
            Edges are the --parent refs given at push. A version reached twice is expanded once \
            (later occurrences end in \"(see above)\"); \"…\" marks where --depth stopped the walk.
            """)

    @Argument(help: "NAME:VERSION or NAME:ALIAS.") var ref: String
    @Flag(name: .customLong("up"), help: "Follow parents (default).") var up = false
    @Flag(name: .customLong("down"), help: "Follow children.") var down = false
    @Option(help: "Maximum depth (0: unlimited).") var depth: Int = 0
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            if up && down { throw .usage(detail: "give --up or --down, not both") }
            if depth < 0 { throw .usage(detail: "--depth must be 0 (unlimited) or more") }
            let conn = try client.connect()
            defer { conn.close() }
            var found: LineageNode?
            try NotFound.explaining([(nil, ref)], connection: conn) { () throws(ClientError) in
                found = try Remote(connection: conn).lineage(
                    of: ref, direction: down ? .down : .up, depth: depth)
            }
            guard let root = found else { return }
            if json {
                printJSON(Self.object(root))
                return
            }
            Self.printTree(root, indent: 0)
        }
    }

    static func object(_ n: LineageNode) -> [String: Any] {
        var o: [String: Any] = ["ref": n.ref, "next": n.next.map(object)]
        o["found"] = n.info != nil
        if let v = n.info {
            o["created"] = isoTime(v.createdAt)
            o["tree"] = v.tree.prefixed
            o["retired"] = v.retired
        }
        if n.repeated { o["repeated"] = true }
        if n.truncated { o["truncated"] = true }
        return o
    }

    static func printTree(_ n: LineageNode, indent: Int) {
        var line = String(repeating: "  ", count: indent) + n.ref
        if let v = n.info {
            line += "  \(isoTime(v.createdAt))"
            if v.retired { line += " [retired]" }
        } else {
            line += "  [missing]"
        }
        if n.repeated { line += "  (see above)" }
        if n.truncated { line += "  …" }
        print(line)
        for c in n.next { printTree(c, indent: indent + 1) }
    }
}
