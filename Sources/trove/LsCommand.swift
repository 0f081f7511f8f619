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
        discussion: """
            One line per version: NAME:VERSION, created (UTC), tree digest, aliases. \
            With s3://BUCKET[/PREFIX], lists the keys of a bucket starting with PREFIX instead \
            (a plain string prefix, as S3's): modified (UTC), size, key.
            """)

    @Argument(help: "Name prefix, e.g. models or models/churn; or s3://BUCKET[/PREFIX].")
    var prefix: String = ""

    @Option(
        name: .customLong("where"),
        help: ArgumentHelp(
            "Only versions whose metadata meets KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY<=VALUE, KEY>VALUE or "
                + "KEY>=VALUE (repeatable; all must hold).",
            discussion: "VALUE is a number (0.9), true/false, or text (\"12\" in quotes is text). = also "
                + "matches the value's text form; orderings compare numbers numerically and text by bytes, "
                + "and refuse keys holding other types."))
    var filters: [String] = []

    @Option(
        name: .customLong("sort"), parsing: .unconditional,
        help: "Order by metadata KEY ascending, or -KEY descending (versions without it last).")
    var sort: String?

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            if prefix.hasPrefix("s3://") {
                guard filters.isEmpty, sort == nil else {
                    throw .usage(detail: "--where and --sort apply to versions, not to s3:// bucket keys")
                }
                guard let path = BucketPath(prefix) else {
                    throw .usage(detail: "'\(prefix)' is not s3://BUCKET or s3://BUCKET/PREFIX")
                }
                let conn = try client.connect()
                defer { conn.close() }
                return try LsBucketKeys.run(path, connection: conn, json: json)
            }
            let conn = try client.connect()
            defer { conn.close() }
            var conditions: [MetadataCondition] = []
            for f in filters {
                guard let c = MetadataCondition(parsing: f) else {
                    throw .usage(
                        detail: "invalid --where \"\(f)\": expected KEY=VALUE, KEY!=VALUE, KEY<VALUE, KEY<=VALUE, "
                            + "KEY>VALUE or KEY>=VALUE")
                }
                conditions.append(c)
            }
            var order: VersionSort?
            if let sort {
                let key = sort.hasPrefix("-") ? String(sort.dropFirst()) : sort
                guard !key.isEmpty, key.utf8.count <= ProtocolLimits.maxMetadataKeyLength else {
                    throw .usage(detail: "invalid --sort \"\(sort)\": expected KEY or -KEY")
                }
                order = VersionSort(key: key, descending: sort.hasPrefix("-"))
            }
            let versions = try Remote(connection: conn).queryVersions(
                prefix: prefix, conditions: conditions, sort: order)
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
