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

    @Argument(
        help: ArgumentHelp(
            "NAME ALIAS VERSION or NAME:ALIAS VERSION, e.g. models/churn prod 1.4.0.",
            valueName: "name-alias-version"))
    var target: [String]
    @Option(help: "Only move the alias if it currently points at this version.") var expect: String?
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let (name, alias, rest) = try AliasTarget.parse(target, then: ["VERSION"])
            let version = rest[0]
            let conn = try client.connect()
            defer { conn.close() }
            var moved: Message.AliasSetOK?
            try NotFound.explaining([(nil, "\(name):\(version)")], connection: conn) {
                () throws(ClientError) in
                do throws(ClientError) {
                    moved = try Remote(connection: conn).setAlias(
                        name: name, alias: alias, version: version, expect: expect)
                } catch {
                    guard error.serverCode == .staleExpectation else { throw error }
                    throw staleExpectation(conn, name: name, alias: alias)
                }
            }
            guard let r = moved else { return }
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

extension AliasSetCommand {
    /// A lost compare-and-swap in the user's words: where the alias points now and what was
    /// expected (`models/churn:prod points at 2, --expect said 1`).
    func staleExpectation(_ conn: Connection, name: String, alias: String) -> ClientError {
        let current = try? Remote(connection: conn).aliases(name: name).first { $0.alias == alias }
        let now = current.map { "points at \($0.version)" } ?? "is not set"
        let said =
            expect.map { "--expect said \($0)" } ?? "it was moved by someone else after this command read it"
        return .server(
            code: .staleExpectation, message: "\(name):\(alias) \(now), \(said); nothing was changed",
            request: "ALIAS_SET")
    }
}

/// `trove alias ls NAME`.
struct AliasLsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "ls", abstract: "List the aliases of NAME: alias, version, when and by whom it moved.")

    @Argument(help: "Artifact name.") var name: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

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
                            "movedBy": Actor.json($0.movedBy),
                        ] as [String: Any]
                    })
                return
            }
            for a in list {
                print("\(a.alias)\t\(a.version)\t\(isoTime(a.movedAt))\t\(Actor.text(a.movedBy))")
            }
        }
    }
}

/// `trove alias history NAME ALIAS`.
struct AliasHistoryCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "history",
        abstract: "Every move of NAME:ALIAS, newest first: when, who, from which version to which.")

    @Argument(
        help: ArgumentHelp("NAME ALIAS or NAME:ALIAS, e.g. models/churn prod.", valueName: "name-alias"))
    var target: [String]
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let (name, alias, _) = try AliasTarget.parse(target, then: [])
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
                            "at": isoTime($0.at), "atMillis": $0.at, "by": Actor.json($0.by),
                            "from": orNull($0.from), "to": orNull($0.to),
                        ] as [String: Any]
                    })
                return
            }
            for e in events {
                print(
                    "\(isoTime(e.at))\t\(Actor.text(e.by))\t\(e.from ?? "(none)") -> \(e.to ?? "(removed)")")
            }
        }
    }
}

/// `trove alias rm NAME ALIAS`.
struct AliasRmCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "rm", abstract: "Remove NAME:ALIAS (the removal is recorded in its history).")

    @Argument(
        help: ArgumentHelp("NAME ALIAS or NAME:ALIAS, e.g. models/churn prod.", valueName: "name-alias"))
    var target: [String]
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let (name, alias, _) = try AliasTarget.parse(target, then: [])
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

/// The alias an alias command works on, written as listings print it (`NAME:ALIAS`) or as two
/// words (`NAME ALIAS`), followed by the command's other arguments.
enum AliasTarget {
    /// Splits `words` into name, alias and the `then.count` arguments that follow (named in
    /// `then` for the usage message).
    static func parse(_ words: [String], then: [String]) throws(ClientError) -> (String, String, [String]) {
        let usage =
            (["NAME ALIAS"] + then).joined(separator: " ") + " or "
            + (["NAME:ALIAS"] + then)
            .joined(separator: " ")
        let name: String
        let alias: String
        let rest: [String]
        if let first = words.first, let colon = first.lastIndex(of: ":") {
            name = String(first[..<colon])
            alias = String(first[first.index(after: colon)...])
            rest = Array(words.dropFirst())
        } else if words.count >= 2 {
            name = words[0]
            alias = words[1]
            rest = Array(words.dropFirst(2))
        } else {
            throw .usage(detail: "expected \(usage)")
        }
        guard rest.count == then.count, !name.isEmpty, !alias.isEmpty else {
            throw .usage(detail: "expected \(usage), got \(words.joined(separator: " "))")
        }
        return (name, alias, rest)
    }
}

/// Who created a version or moved an alias, shown one way everywhere: the token name, or
/// `anonymous` in text (null in JSON) for open access without a token.
enum Actor {
    static func text(_ actor: String?) -> String { actor.flatMap { $0.isEmpty ? nil : $0 } ?? "anonymous" }
    static func json(_ actor: String?) -> Any {
        guard let actor, actor != "anonymous" else { return NSNull() }
        return actor
    }
}
