import TroveCore
import TroveProtocol

/// Everything that can make a client operation fail, each with a human message that says what
/// happened and what to do, and the `trove` exit code it maps to.
public enum ClientError: Error, CustomStringConvertible, Sendable {
    /// The server answered a request with `ERROR`.
    case server(code: ErrorCode, message: String, request: String)
    /// The TCP connection could not be established.
    case cannotConnect(address: String, detail: String)
    /// The connection closed (or broke) while requests were outstanding.
    case connectionClosed(detail: String)
    /// The server broke the protocol (bad framing, an unexpected response type or id).
    case protocolViolation(detail: String)
    /// Bytes from the server failed verification (a chunk, blob or tree digest, a recipe).
    case integrity(detail: String)
    /// A tree holds an entry that would be written outside the destination.
    case unsafeTree(detail: String)
    /// Something the user asked for does not exist (a path in a tree, a chunk the server lacks).
    case notFound(detail: String)
    /// The command line or an input value is invalid.
    case usage(detail: String)
    /// The server could not prove it knows the token (wrong server proof).
    case authentication(detail: String)
    /// The TLS handshake failed: the server's certificate is untrusted, expired or for another
    /// name, or the server does not speak TLS 1.3 there.
    case tls(detail: String)
    /// A local file operation failed.
    case io(path: String, operation: String, errno: Int32)
    /// A local file could not be ingested.
    case ingest(detail: String)
    /// A pull's destination holds files and neither `--force` nor `--merge` was given: the first
    /// `entries` of the `count` names in the way.
    case destinationNotEmpty(path: String, entries: [String], count: Int)
    /// The user stopped the command (Ctrl-C); `detail` says what was kept and how to resume.
    case interrupted(detail: String)
    /// A pull ran out of room on the destination's filesystem (`ENOSPC`, or `EDQUOT`: the user's
    /// quota) while writing `file` (its path in the version; empty: the pull's stage directory
    /// itself); what it had written was removed and the destination is as it was. `free` is what
    /// the filesystem has free afterwards (-1: unknown), `needed` the bytes of the version's files.
    /// With `directory`, `file` is a directory the pull was creating: one of the version's (its
    /// path in the version), or one of the destination's missing parents (its path as given).
    /// With `inodes`, the filesystem ran out of inodes (it has room for `free` more files and
    /// directories, the pull makes `needed`), not bytes.
    case destinationFull(
        destination: String, file: String, errno: Int32, free: Int64, needed: UInt64, directory: Bool = false,
        inodes: (free: Int64, needed: Int)? = nil)
    /// A pull fetched and verified the whole version but could not `rename` its stage directory
    /// to the new `destination` (`errno`: e.g. `ENOTEMPTY` when something created it meanwhile,
    /// `ENOTDIR` when it is a file or a dangling symlink). The stage and the parents the pull made
    /// were removed and the destination was not touched; `stage` is the stage when it could not be
    /// removed (nil: nothing of the pull is left).
    case cannotSwitchIn(destination: String, errno: Int32, stage: String?)

    /// The `trove` exit code: 0 ok, 1 error, 2 usage, 3 not found, 4 conflict, 5 integrity,
    /// 6 authentication or permission denied, 130 interrupted (Ctrl-C).
    public var exitCode: Int32 {
        switch self {
        case .server(let code, _, _): code.exitCode
        case .cannotConnect, .connectionClosed, .protocolViolation, .io, .ingest, .destinationFull,
            .cannotSwitchIn:
            1
        case .integrity, .unsafeTree: 5
        case .notFound: 3
        case .usage: 2
        case .authentication, .tls: 6
        case .destinationNotEmpty: 4
        case .interrupted: 130
        }
    }

    /// The server's error code, when the server sent one.
    public var serverCode: ErrorCode? {
        if case .server(let code, _, _) = self { return code }
        return nil
    }

    /// The message `trove` prints: what failed, why, and what to do, in the user's words (no
    /// protocol message names).
    public var description: String { message(debug: false) }

    /// ``description``; with `debug`, the request and wire error code are appended
    /// (`[GET_REF → not-found]`), for bug reports.
    public func message(debug: Bool) -> String {
        switch self {
        case .server(let code, let message, let request):
            let text = ClientError.explain(code: code, message: message)
            return debug ? "\(text) [\(request.isEmpty ? "connection" : request) → \(code.name)]" : text
        case .cannotConnect(let address, let detail):
            let text = ClientError.explainConnect(address: address, detail: detail)
            return debug ? "\(text) [\(detail)]" : text
        case .connectionClosed(let detail):
            return
                "the connection to troved closed: \(detail); retry (an interrupted push resumes where it stopped)"
        case .protocolViolation(let detail):
            if let answered = ClientError.notTroved(detail) {
                let text =
                    "the server is not troved: \(answered); check --server / TROVE_SERVER "
                    + "(troved listens on port 7420 by default)"
                return debug ? "\(text) [\(detail)]" : text
            }
            return "troved broke the protocol: \(detail); check that client and server versions match "
                + "(`trove --version`, `troved --version`)"
        case .integrity(let detail):
            return
                "integrity check failed: \(detail); nothing was written in place. Run `trove scrub` on the server"
        case .unsafeTree(let detail):
            return "refusing an unsafe tree: \(detail)"
        case .notFound(let detail):
            return detail
        case .usage(let detail):
            return detail
        case .authentication(let detail):
            return "authentication failed: \(detail)"
        case .tls(let detail):
            return detail
        case .io(let path, let operation, let errno):
            return "cannot \(operation) \(path): \(String(cString: strerror(errno)))"
        case .ingest(let detail):
            return detail
        case .destinationNotEmpty(let path, let entries, let count):
            let more = count > entries.count ? " and \(count - entries.count) more" : ""
            return
                "\(path) is not empty (in the way: \(entries.joined(separator: ", "))\(more)); nothing was "
                + "written. Pull into a new or empty directory, or pass --force to replace its contents with "
                + "exactly the version, or --merge to write the version over it and keep other files"
        case .interrupted(let detail):
            return "interrupted: \(detail)"
        case .destinationFull(
            let destination, let file, let errno, let free, let needed, let directory, let inodes):
            let what =
                errno == EDQUOT
                ? "the disk quota is used up on the filesystem of \(destination)"
                : "no space left on the filesystem of \(destination)"
            let writing =
                directory
                ? "creating \(file.isEmpty ? "the stage directory" : "directory \(file)"): "
                : file.isEmpty ? "" : "writing \(file): "
            let kept = "\(destination) is as it was and nothing partly written was kept"
            if let inodes {
                let count = "\(inodes.free) inode\(inodes.free == 1 ? "" : "s") free"
                return "\(what): it has run out of inodes (files), not bytes (\(writing)\(count), the pull "
                    + "makes \(inodes.needed) files and directories): \(kept). Delete files there to free "
                    + "inodes, or pull into a directory on another filesystem, then run the same command "
                    + "again"
            }
            let room = free >= 0 ? "\(Progress.bytes(UInt64(free))) free, " : ""
            return "\(what) (\(writing)\(room)the version takes \(Progress.bytes(needed))): \(kept). Free "
                + "space there, or pull into a directory with room, then run the same command again"
        case .cannotSwitchIn(let destination, let errno, let stage):
            let (why, todo) = ClientError.explainSwitch(destination: destination, errno: errno)
            let left =
                stage.map {
                    "but its stage \($0) could not be removed (remove it: `rm -rf \($0)`), and \(destination) "
                        + "was not touched"
                } ?? "but nothing of it was kept and \(destination) was not touched"
            return "cannot move the pulled version into place at \(destination): "
                + "\(String(cString: strerror(errno)))\(why); the version was fetched and verified, \(left). \(todo)"
        }
    }

    /// Why a pull's final `rename` onto a new destination failed with `errno`, in the user's
    /// words (empty, or starting with ` (`), and what to do.
    static func explainSwitch(destination: String, errno: Int32) -> (why: String, todo: String) {
        let again = "then run the same command again"
        switch errno {
        case ENOTEMPTY, EEXIST:
            return (
                " (\(destination) appeared while the pull ran and is not empty)",
                "Pull into another directory, or run the same command again with --force (make it exactly the "
                    + "version) or --merge (write the version over it, keep other files)"
            )
        case ENOTDIR:
            return (
                " (\(destination) is not a directory: a file, or a symlink to something that does not exist)",
                "Remove it or pull elsewhere, \(again)"
            )
        case EPERM, EACCES:
            return (
                " (the directory holding \(destination) does not allow it: its permissions, or an immutable or "
                    + "append-only attribute, see `lsattr -d`)",
                "Fix that or pull elsewhere, \(again)"
            )
        case EBUSY:
            return (" (\(destination) is in use, e.g. a mount point)", "Pull elsewhere, \(again)")
        case ENOSPC, EDQUOT:
            return ("", "Free space there or pull elsewhere, \(again)")
        default:
            return ("", "Run the same command again")
        }
    }

    /// The user's words for a server `ERROR`: the server's message (which names the version, alias
    /// or limit involved) and what to do next, per code.
    public static func explain(code: ErrorCode, message: String) -> String {
        let m = message.isEmpty ? "no detail given" : message
        switch code {
        case .protocolViolation:
            return "troved refused a malformed request: \(m); check that client and server versions match "
                + "(`trove --version`, `troved --version`)"
        case .badRequest:
            return "troved refused the request: \(m)"
        case .authRequired:
            return m.contains("token")
                ? m : "troved requires a token: \(m); pass --token-file FILE or set TROVE_TOKEN"
        case .authFailed:
            return "authentication failed: \(m); check the token (--token-file / TROVE_TOKEN, NAME:SECRET)"
        case .permissionDenied:
            return "permission denied: \(m); ask an admin for a token with the needed scope or name prefix"
        case .notFound:
            return "\(m); see `trove ls` for what exists"
        case .conflict:
            return m
        case .staleExpectation:
            return "\(m); re-read with `trove alias ls NAME` and decide again"
        case .integrity:
            return
                "troved found damaged data: \(m); run `trove scrub`, then push the content again to heal it"
        case .leaseExpired:
            return
                "the push lease expired: \(m); run the same push again (nothing already stored is sent twice)"
        case .busy:
            return "troved is busy: \(m); retry in a moment"
        case .readOnly:
            return "the store is read-only after a disk failure: \(m); an operator must fix the disk, "
                + "run `troved fsck` and restart troved"
        case .limitExceeded:
            return "over a server limit: \(m)"
        case .shuttingDown:
            return "troved is shutting down (\(m)); retry when it is back"
        case .timeout:
            return "troved closed the connection after a timeout: \(m); retry"
        case .retired:
            return "\(m); retired versions are no longer served (`trove log NAME --all` lists them)"
        case .inUse:
            return "\(m) (`trove alias ls NAME` lists the aliases)"
        case .internalError:
            return "troved failed: \(m); this is a server-side problem, see troved's log"
        case .noSpace:
            return "troved's disk is full: \(m)"
        case .unknown(let v):
            return "troved answered with error code \(v), which this trove does not know: \(m); "
                + "upgrade trove (`trove --version`)"
        }
    }

    /// What a connection failure means for the user: refused, timed out, unknown host.
    static func explainConnect(address: String, detail: String) -> String {
        let d = detail.lowercased()
        let hint = "--server / TROVE_SERVER"
        if d.contains("refused") || d.contains("errno: 111") {
            return "cannot reach troved at \(address): connection refused — nothing listens there. "
                + "Is troved running? Start it with `troved`, or point \(hint) at the right address"
        }
        if d.contains("timed out") || d.contains("timeout") {
            return "cannot reach troved at \(address): connection timed out — no answer within 10 s. "
                + "Check the host and port (\(hint)) and any firewall in between"
        }
        if d.contains("unreachable") {
            return "cannot reach troved at \(address): network unreachable. Check the address (\(hint))"
        }
        if d.contains("resolve") || d.contains("name") || d.contains("unknown host") {
            return
                "cannot reach troved at \(address): the host name does not resolve. Check the address (\(hint))"
        }
        return "cannot reach troved at \(address): \(detail) — is it running? (\(hint))"
    }

    /// When a connection failed on the first bytes the server sent (not the Trove preamble): what
    /// answered instead, e.g. "an HTTP server answered"; nil for other protocol violations.
    static func notTroved(_ detail: String) -> String? {
        guard detail.contains("did not start with a Trove preamble") else { return nil }
        // The preamble error shows the first five bytes in hex: `magic is ["48", "54", "54", "50", "2f"]`.
        var bytes: [UInt8] = []
        if let open = detail.firstRange(of: "magic is ["),
            let close = detail[open.upperBound...].firstIndex(of: "]")
        {
            bytes = detail[open.upperBound..<close].split(separator: ",").compactMap {
                UInt8($0.filter { $0 != " " && $0 != "\"" }, radix: 16)
            }
        }
        let text = String(decoding: bytes, as: UTF8.self)
        if text.hasPrefix("HTTP") { return "an HTTP server answered" }
        if text.hasPrefix("SSH-") { return "an SSH server answered" }
        if bytes.count == 5, bytes.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "something else answered (it sent \"\(text)…\")"
        }
        return "something else answered (it did not send the Trove preamble)"
    }
}

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif
