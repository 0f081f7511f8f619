import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove ls [PREFIX]`: lists versions.
struct LsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls",
        abstract: "List versions whose name is under PREFIX (component-wise; all when omitted).",
        discussion: "One line per version: NAME:VERSION, created (UTC), tree digest, aliases.")

    @Argument(help: "Name prefix, e.g. models or models/churn.")
    var prefix: String = ""

    @Option(
        name: .customLong("where"),
        help: "Only versions whose metadata KEY has text VALUE (repeatable; all must match).")
    var filters: [String] = []

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            var wheres: [MetadataFilter] = []
            for f in filters {
                guard let eq = f.firstIndex(of: "="), eq != f.startIndex else {
                    throw .usage(detail: "invalid --where \"\(f)\": expected KEY=VALUE")
                }
                wheres.append(MetadataFilter(key: String(f[..<eq]), value: String(f[f.index(after: eq)...])))
            }
            let versions = try Remote(connection: conn).listVersions(prefix: prefix, filters: wheres)
            if json {
                printJSON(versions.map(VersionJSON.object))
                return
            }
            for v in versions {
                var line = "\(v.name):\(v.version)\t\(isoTime(v.createdAt))\t\(v.tree.prefixed)"
                if !v.aliases.isEmpty { line += "\t" + v.aliases.joined(separator: ",") }
                print(line)
            }
        }
    }
}

/// JSON shapes shared by ls and show.
enum VersionJSON {
    static func object(_ v: VersionInfo) -> [String: Any] {
        var o: [String: Any] = [
            "name": v.name, "version": v.version, "tree": v.tree.prefixed, "created": isoTime(v.createdAt),
            "createdMillis": v.createdAt, "message": v.message, "parents": v.parents, "aliases": v.aliases,
            "retired": v.retired, "metadata": metadata(v.metadata),
        ]
        o["creator"] = Actor.json(v.creator)
        return o
    }

    static func metadata(_ entries: [MetadataEntry]) -> [String: Any] {
        var m: [String: Any] = [:]
        for e in entries { m[e.key] = value(e.value) }
        return m
    }

    /// A metadata value as its JSON type (string, number, boolean).
    static func value(_ v: MetadataValue) -> Any {
        switch v {
        case .string(let s): s
        case .integer(let i): i
        case .number(let d): d
        case .bool(let b): b
        }
    }
}
