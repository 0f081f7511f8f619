import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove show REF`: a version's details and its tree.
struct ShowCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "show",
        abstract: "Show a version: tree entries with sizes, metadata, parents, creation, message, aliases.")

    @Argument(help: "NAME:VERSION, NAME:ALIAS, NAME:ALIAS@TIME (where the alias pointed then) or NAME@sha256:HEX.")
    var ref: String

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let remote = Remote(connection: conn)
            let info = try NotFound.resolve(remote, ref)
            let tree = try remote.tree(info.tree)
            let files = tree.entries.filter { $0.kind == .file }
            if json {
                var o: [String: Any] = info.version.map(VersionJSON.object) ?? [:]
                o["name"] = info.name
                o["tree"] = info.tree.prefixed
                if let a = info.resolvedAlias { o["resolvedAlias"] = a }
                o["files"] = files.count
                o["totalSize"] = tree.totalSize
                o["entries"] = tree.entries.map { e -> [String: Any] in
                    var x: [String: Any] = ["path": e.path, "mode": String(e.mode, radix: 8)]
                    switch e.kind {
                    case .file:
                        x["type"] = "file"
                        x["size"] = e.size
                        x["blob"] = e.blob!.prefixed
                    case .symlink:
                        x["type"] = "symlink"
                        x["target"] = e.target ?? ""
                    case .directory:
                        x["type"] = "directory"
                    }
                    return x
                }
                printJSON(o)
                return
            }
            if let v = info.version {
                print(
                    "\(v.name):\(v.version)\(info.resolvedAlias.map { " (via alias \($0))" } ?? "")"
                        + (v.retired ? " [retired]" : ""))
                print("tree     \(info.tree.prefixed)")
                print("created  \(isoTime(v.createdAt)) by \(Actor.text(v.creator))")
                if !v.message.isEmpty { print("message  \(v.message)") }
                if !v.aliases.isEmpty { print("aliases  \(v.aliases.joined(separator: ", "))") }
                if !v.parents.isEmpty { print("parents  \(v.parents.joined(separator: ", "))") }
                if !v.metadata.isEmpty {
                    print("metadata")
                    for m in v.metadata { print("  \(m.key) = \(m.value.description)") }
                }
            } else {
                print("\(info.name)@\(info.tree.prefixed)")
                print("tree     \(info.tree.prefixed)")
            }
            print("files    \(files.count), \(Progress.bytes(tree.totalSize)) (\(tree.totalSize) bytes)")
            for e in tree.entries {
                switch e.kind {
                case .file:
                    print("  \(String(e.mode, radix: 8).leftPad(4)) \(String(e.size).leftPad(12))  \(e.path)")
                case .symlink:
                    print("  link \(String("").leftPad(12))  \(e.path) -> \(e.target ?? "")")
                case .directory:
                    print("  \(String(e.mode, radix: 8).leftPad(4)) \("dir".leftPad(12))  \(e.path)/")
                }
            }
        }
    }
}

extension String {
    func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: " ", count: n - count) + self }
}
