import TroveClient
import TroveCore
import TroveProtocol

/// Turns "does not exist" into what the user can do next: the nearest versions and aliases of
/// the name, or the nearest names when the name itself is unknown, and which option held the
/// missing reference (`--parent datasets/demo:9 does not exist`).
enum NotFound {
    /// `remote.resolve(ref)`; a reference that does not exist becomes a ``ClientError/notFound``
    /// that names `option` (if given) and lists what exists nearby.
    static func resolve(_ remote: Remote, _ ref: String, option: String? = nil) throws(ClientError)
        -> Message.RefInfo
    {
        do {
            return try remote.resolve(ref)
        } catch {
            guard error.serverCode == .notFound, !isTimeTravel(ref) else { throw error }
            throw .notFound(detail: describe(ref: ref, option: option, remote: remote) + debugDetail(error))
        }
    }

    /// With --debug, the original error's request and wire code.
    static func debugDetail(_ error: ClientError) -> String {
        debugErrors ? " [\(error.message(debug: true))]" : ""
    }

    /// Runs `body`; when it fails because something does not exist, finds which of `refs`
    /// (label, reference) is missing and says so with suggestions. Other errors pass unchanged.
    static func explaining(
        _ refs: [(label: String?, ref: String)], connection: Connection,
        _ body: () throws(ClientError) -> Void
    ) throws(ClientError) {
        do {
            try body()
        } catch {
            guard error.serverCode == .notFound else { throw error }
            let remote = Remote(connection: connection)
            for (label, ref) in refs {
                do { _ = try remote.resolve(ref) } catch {
                    if error.serverCode == .notFound && isTimeTravel(ref) { throw error }
                    if error.serverCode == .notFound {
                        throw .notFound(
                            detail: describe(ref: ref, option: label, remote: remote) + debugDetail(error))
                    }
                }
            }
            throw error
        }
    }

    /// `NAME:ALIAS@TIME`: the server's message already says when the alias pointed somewhere.
    static func isTimeTravel(_ ref: String) -> Bool {
        if case .aliasAt? = try? Ref(parsing: ref) { true } else { false }
    }

    /// `NAME` has no versions: the message, with the nearest existing names.
    static func unknownName(_ name: String, remote: Remote) -> String {
        var text = "there is no artifact named \(name)"
        let names = (try? remote.listVersions(prefix: "", filters: []).map(\.name)) ?? []
        let near = Nearest.matches(name, in: Array(Set(names)))
        if !near.isEmpty { text += "; did you mean \(near.joined(separator: " or "))?" }
        return text + " (`trove ls` lists every version)"
    }

    /// The message for a reference that does not resolve.
    static func describe(ref: String, option: String?, remote: Remote) -> String {
        let subject = option.map { "\($0) \(ref)" } ?? ref
        guard case .tag(let name, let tag)? = try? Ref(parsing: ref) else {
            // NAME@sha256:… — no near digests to offer.
            return "\(subject) does not exist (no tree with that digest under that name); see `trove ls`"
        }
        let versions = (try? remote.log(name: name, includeRetired: true)) ?? []
        if versions.isEmpty {
            return "\(subject) does not exist: " + unknownName(name, remote: remote)
        }
        let live = versions.filter { !$0.retired }.map(\.version)
        let aliases = Set(versions.flatMap(\.aliases)).sorted()
        var text = "\(subject) does not exist"
        let near = Nearest.matches(tag, in: live + aliases)
        if !near.isEmpty {
            text += "; nearest: " + near.map { "\(name):\($0)" }.joined(separator: ", ")
        } else {
            let newest = live.prefix(3).map { "\(name):\($0)" }
            if !newest.isEmpty { text += "; newest versions: \(newest.joined(separator: ", "))" }
            if !aliases.isEmpty { text += "; aliases: \(aliases.joined(separator: ", "))" }
        }
        return text + " (see `trove log \(name)`)"
    }
}
