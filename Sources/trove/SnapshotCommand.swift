import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove snapshot BUCKET[/PREFIX] NAME:VERSION`: makes bucket keys an immutable version.
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Make the keys of a bucket under PREFIX the immutable version NAME:VERSION (no bytes move).",
        discussion: """
            Every key under the directory PREFIX (`data/v2` and `data/v2/` both mean the keys starting \
            with `data/v2/`; none: the whole bucket) becomes a file of the version at its key minus the \
            prefix; zero-length keys ending in / (directory markers) are left out. The objects' blobs \
            become the version's files as they are: nothing is read, copied or uploaded. The keys stay \
            in the bucket, mutable; the version does not change when they do. A key that is no file \
            path (a//b, ../x) or that is both a file and a directory (a and a/b) refuses the snapshot \
            (exit 2). Running the same snapshot again is a no-op; other keys for an existing \
            NAME:VERSION exit 4, as `trove push` does.
            """)

    @Argument(help: "BUCKET or BUCKET/PREFIX (s3://BUCKET/PREFIX also works).") var source: String
    @Argument(help: "NAME:VERSION to create.") var ref: String
    @Option(name: .customLong("meta"), help: "Metadata KEY=VALUE (repeatable; values are strings).")
    var meta: [String] = []
    @Option(
        name: .customLong("meta-file"), help: "Metadata from a flat JSON object of string, number and boolean values.")
    var metaFile: String?
    @Option(name: .customLong("parent"), help: "Parent version REF (repeatable).") var parents: [String] = []
    @Option(name: .long, help: "A message describing this version.") var message: String = ""
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            guard let path = BucketPath(source) else {
                throw .usage(detail: "'\(source)' is not BUCKET or BUCKET/PREFIX")
            }
            let (name, version) = try PushCommand.parseTarget(ref)
            var metadata = try PushCommand.parseMetadata(meta)
            if let metaFile { metadata = try MetaFile.merge(metadata, MetaFile.load(metaFile)) }
            guard message.utf8.count <= ProtocolLimits.maxMessageLength else {
                throw .usage(detail: "--message is longer than \(ProtocolLimits.maxMessageLength) bytes")
            }
            let conn = try client.connect()
            defer { conn.close() }
            var parentKeys: [String] = []
            for p in parents {
                let info = try NotFound.resolve(Remote(connection: conn), p, option: "--parent")
                parentKeys.append(info.version.map { "\($0.name):\($0.version)" } ?? p)
            }
            let r = try Remote(connection: conn).snapshot(
                bucket: path.bucket, prefix: path.prefix, name: name, version: version, message: message,
                metadata: metadata, parents: parents)
            if !r.created {
                try PushCommand.checkSameRecord(
                    conn, name: name, version: version, message: message, metadata: metadata, parents: parentKeys)
            }
            if json {
                printJSON([
                    "name": r.name, "version": r.version, "tree": r.tree.prefixed, "created": r.created,
                    "files": r.files, "logicalBytes": r.totalSize, "bucket": path.bucket, "prefix": path.prefix,
                ])
                return
            }
            print("\(r.created ? "snapshot" : "unchanged") \(r.name):\(r.version)")
            print("tree \(r.tree.prefixed)")
            print(
                "\(r.files) file\(r.files == 1 ? "" : "s"), \(Progress.bytes(r.totalSize)) from "
                    + "s3://\(path.bucket)/\(path.prefix); no bytes moved")
        }
    }
}
