import ArgumentParser
import Foundation
import TroveClient
import TroveCore

/// `trove cat REF [PATH] [--range START-END]`: a file, or a byte range of it, to standard output.
struct CatCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cat",
        abstract: "Write one file of a version, or a byte range of it, to standard output.",
        discussion: """
            PATH may be omitted when the version holds exactly one file. --range START-END selects \
            bytes START through END inclusive (HTTP style: 0-1023 is the first KiB); START- runs to the \
            end of the file; an END past the end is clipped; a START at or past the end exits 2. Only \
            the chunks covering the range are fetched, each verified; a whole file is also checked \
            against its blob digest (exit 5 on mismatch).
            """)

    @Argument(help: "NAME:VERSION, NAME:ALIAS or NAME@sha256:HEX.")
    var ref: String

    @Argument(help: "Path of the file inside the version.")
    var path: String?

    @Option(name: .long, help: "Byte range START-END (inclusive) or START-.")
    var range: String?

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let r = try range.map { (t) throws(ClientError) in try ByteRange(parsing: t) }
            let conn = try client.connect()
            defer { conn.close() }
            try NotFound.explaining([(nil, ref)], connection: conn) { () throws(ClientError) in
                try Catter(connection: conn).cat(ref: ref, path: path, range: r, to: 1)
            }
        }
    }
}
