import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove alias set|ls|history|rm`: named pointers (prod, staging…) to versions of a name.
struct AliasCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alias",
        abstract: "Point aliases (prod, staging, …) at versions; list them; show who moved them and when.",
        subcommands: [
            AliasSetCommand.self, AliasLsCommand.self, AliasHistoryCommand.self, AliasRmCommand.self,
        ])
}

/// `trove alias set NAME ALIAS VERSION [--expect OLD]`.
struct AliasSetCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Point NAME:ALIAS at NAME:VERSION (compare-and-swap).",
        discussion: """
            The version must be a live version of the same name. The move is a compare-and-swap: \
            with --expect OLD it succeeds only if the alias currently points at OLD; without it, \
            only if the alias has not moved since this command read it. A lost race exits 4.
            """)

    @Argument(help: "Artifact name, e.g. models/churn.") var name: String
    @Argument(help: "Alias, e.g. prod.") var alias: String
    @Argument(help: "Version to point at.") var version: String
    @Option(help: "Only move the alias if it currently points at this version.") var expect: String?
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let r = try Remote(connection: conn).setAlias(
                name: name, alias: alias, version: version, expect: expect)
            if json {
                printJSON([
                    "name": r.name, "alias": r.alias, "version": r.version, "previous": orNull(r.previous),
                ])
                return
            }
            print("\(r.name):\(r.alias) -> \(r.version)\(r.previous.map { " (was \($0))" } ?? "")")
        }
    }
}

/// `trove alias ls NAME`.
struct AliasLsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the aliases of NAME: alias, version, when and by whom it moved.")

    @Argument(help: "Artifact name.") var name: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let list = try Remote(connection: conn).aliases(name: name).sorted { $0.alias < $1.alias }
            if json {
                printJSON(
                    list.map {
                        [
                            "alias": $0.alias, "version": $0.version, "moved": isoTime($0.movedAt),
                            "movedBy": orNull($0.movedBy),
                        ] as [String: Any]
                    })
                return
            }
            for a in list {
                print("\(a.alias)\t\(a.version)\t\(isoTime(a.movedAt))\t\(a.movedBy ?? "-")")
            }
        }
    }
}

/// `trove alias history NAME ALIAS`.
struct AliasHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every move of NAME:ALIAS, newest first: when, who, from which version to which.")

    @Argument(help: "Artifact name.") var name: String
    @Argument(help: "Alias.") var alias: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let events = try Remote(connection: conn).aliasHistory(name: name, alias: alias)
            guard !events.isEmpty else {
                throw .notFound(
                    detail: "alias \(name):\(alias) has never been set; see `trove alias ls \(name)`")
            }
            if json {
                printJSON(
                    events.map {
                        [
                            "at": isoTime($0.at), "atMillis": $0.at, "by": orNull($0.by),
                            "from": orNull($0.from), "to": orNull($0.to),
                        ] as [String: Any]
                    })
                return
            }
            for e in events {
                print("\(isoTime(e.at))\t\(e.by ?? "-")\t\(e.from ?? "(none)") -> \(e.to ?? "(removed)")")
            }
        }
    }
}

/// `trove alias rm NAME ALIAS`.
struct AliasRmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove NAME:ALIAS (the removal is recorded in its history).")

    @Argument(help: "Artifact name.") var name: String
    @Argument(help: "Alias.") var alias: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let r = try Remote(connection: conn).removeAlias(name: name, alias: alias)
            if json {
                printJSON(["name": r.name, "alias": r.alias, "previous": r.previous])
                return
            }
            print("removed \(r.name):\(r.alias) (was \(r.previous))")
        }
    }
}

/// A JSON value: the string, or null.
func orNull(_ s: String?) -> Any { s.map { $0 as Any } ?? NSNull() }
