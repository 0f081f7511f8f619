import ArgumentParser
import Foundation
import TroveClient
import TroveCore

/// `trove pull REF [DEST]`: writes a version's tree under DEST.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull NAME:VERSION, NAME:ALIAS or NAME@sha256:HEX into a directory.",
        discussion: """
            Writes the tree under DEST (default: the current directory). Every chunk and every file's \
            blob digest is verified before a file is renamed into place; nothing is written outside \
            DEST: absolute paths, '..', and symlinks that resolve outside DEST are refused (exit 5) \
            before anything is written, and existing symlinks in DEST are never written through. \
            --allow-external-symlinks creates links pointing outside DEST anyway (as links only).
            """)

    @Argument(help: "NAME:VERSION, NAME:ALIAS or NAME@sha256:HEX.")
    var ref: String

    @Argument(help: "Destination directory (created if missing; default: current directory).")
    var dest: String = "."

    @Flag(
        name: .customLong("allow-external-symlinks"), help: "Create symlinks whose targets lie outside DEST.")
    var allowExternalSymlinks = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            let extra = client.extraConnections(1)
            defer { for c in extra { c.close() } }
            let puller = Puller(connection: conn, progress: Progress.forTerminal())
            puller.extraConnections = extra
            puller.allowExternalSymlinks = allowExternalSymlinks
            let r = try puller.pull(ref: ref, into: dest)
            let resolved =
                r.info.version.map { "\($0.name):\($0.version)" } ?? "\(r.info.name)@\(r.info.tree.prefixed)"
            if let alias = r.info.resolvedAlias, !json {
                note("\(r.info.name):\(alias) -> \(resolved)")
            }
            if json {
                var o: [String: Any] = [
                    "name": r.info.name, "tree": r.info.tree.prefixed, "files": r.files,
                    "symlinks": r.symlinks,
                    "bytesWritten": r.bytesWritten, "chunksFetched": r.chunksFetched,
                    "bytesFetched": r.bytesFetched,
                    "destination": dest,
                ]
                if let v = r.info.version { o["version"] = v.version }
                if let a = r.info.resolvedAlias { o["alias"] = a }
                printJSON(o)
            } else {
                print("pulled \(resolved) into \(dest)")
                print("tree \(r.info.tree.prefixed)")
                print(
                    "\(r.files) file\(r.files == 1 ? "" : "s"), \(Progress.bytes(r.bytesWritten)); fetched \(r.chunksFetched) "
                        + "chunks, \(Progress.bytes(r.bytesFetched))")
            }
        }
    }
}
