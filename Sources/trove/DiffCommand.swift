import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveProtocol

/// `trove diff A B`: files added, removed, changed and unchanged between two versions.
struct DiffCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "diff",
        abstract:
            "Compare two versions: metadata and files added, removed, changed, unchanged.",
        discussion: """
            The metadata section comes first (when either version has metadata): keys added, \
            removed and changed, numbers with their delta and relative change \
            (auc 0.912 → 0.931 (+0.019, +2.1 %)); --meta-only prints only it. \
            Files are compared by blob digest; for changed files the recipes are fetched to count the \
            bytes of the new file made of chunks the old file also has (what a pull of B next to A \
            would not transfer again).
            """)

    @Argument(help: "Old ref (NAME:VERSION, NAME:ALIAS, NAME:ALIAS@TIME or NAME@sha256:HEX).") var a: String
    @Argument(help: "New ref.") var b: String
    @Flag(help: "Print one JSON document instead of text.") var json = false
    @Flag(help: "Compare only the metadata (no trees or recipes are fetched).") var metaOnly = false
    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            let conn = try client.connect()
            defer { conn.close() }
            var found: (Message.RefInfo, Message.RefInfo, TreeDiff?)?
            try NotFound.explaining([(nil, a), (nil, b)], connection: conn) { () throws(ClientError) in
                let remote = Remote(connection: conn)
                found = metaOnly ? (try remote.resolve(a), try remote.resolve(b), nil) : try remote.diff(a, b)
            }
            guard let (ra, rb, tree) = found else { return }
            let meta = MetadataDiff.compare(ra.version?.metadata ?? [], rb.version?.metadata ?? [])
            if !json && (metaOnly || !meta.isEmpty) {
                Self.printMetadata(meta)
                if tree != nil { print("files") }
            }
            guard let d = tree else {
                if json { printJSON(["a": a, "b": b, "metadata": Self.metadataJSON(meta)]) }
                return
            }
            let shared = d.changed.reduce(UInt64(0)) { $0 + $1.sharedBytes }
            if json {
                func entry(_ e: TreeEntry) -> [String: Any] {
                    ["path": e.path, "type": Self.kind(e.kind), "size": e.size]
                }
                printJSON([
                    "a": a, "b": b, "metadata": Self.metadataJSON(meta),
                    "added": d.added.map(entry), "removed": d.removed.map(entry),
                    "changed": d.changed.map { c -> [String: Any] in
                        [
                            "path": c.path, "sizeBefore": c.sizeBefore, "sizeAfter": c.sizeAfter,
                            "sizeChange": c.sizeChange, "sharedBytes": c.sharedBytes, "modeOnly": c.modeOnly,
                            "typeBefore": Self.kind(c.kindBefore), "typeAfter": Self.kind(c.kindAfter),
                        ]
                    },
                    "unchanged": d.unchanged.count,
                    "totals": [
                        "added": d.added.count, "removed": d.removed.count, "changed": d.changed.count,
                        "unchanged": d.unchanged.count, "bytesBefore": d.bytesBefore,
                        "bytesAfter": d.bytesAfter,
                        "addedBytes": d.added.reduce(UInt64(0)) { $0 + $1.size },
                        "removedBytes": d.removed.reduce(UInt64(0)) { $0 + $1.size },
                        "changedSharedBytes": shared,
                    ] as [String: Any],
                ])
                return
            }
            for e in d.added { print("A  \(Self.describe(e))") }
            for e in d.removed { print("D  \(Self.describe(e))") }
            for c in d.changed {
                if c.modeOnly {
                    print("M  \(c.path)  (mode only)")
                } else {
                    let sign = c.sizeChange >= 0 ? "+" : ""
                    print(
                        "M  \(c.path)  \(c.sizeBefore) -> \(c.sizeAfter) bytes (\(sign)\(c.sizeChange)), "
                            + "\(c.sharedBytes) bytes shared")
                }
            }
            print(
                "\(d.added.count) added, \(d.removed.count) removed, \(d.changed.count) changed, "
                    + "\(d.unchanged.count) unchanged; \(Progress.bytes(d.bytesBefore)) -> "
                    + "\(Progress.bytes(d.bytesAfter)); changed files share \(Progress.bytes(shared))")
        }
    }

    /// The metadata section: `A  key = value`, `D  key = value`, `M  auc 0.912 → 0.931 (+0.019,
    /// +2.1 %)`, then a count line.
    static func printMetadata(_ m: MetadataDiff) {
        print("metadata")
        for e in m.added { print("A  \(e.key) = \(e.value.description)") }
        for e in m.removed { print("D  \(e.key) = \(e.value.description)") }
        for c in m.changed { print("M  \(c.text)") }
        print(
            "metadata: \(m.added.count) added, \(m.removed.count) removed, \(m.changed.count) changed, "
                + "\(m.unchanged.count) unchanged")
    }

    static func metadataJSON(_ m: MetadataDiff) -> [String: Any] {
        func entry(_ e: MetadataEntry) -> [String: Any] { ["key": e.key, "value": VersionJSON.value(e.value)] }
        return [
            "added": m.added.map(entry), "removed": m.removed.map(entry),
            "changed": m.changed.map { c -> [String: Any] in
                var o: [String: Any] = [
                    "key": c.key, "before": VersionJSON.value(c.before), "after": VersionJSON.value(c.after),
                ]
                if let d = c.delta { o["delta"] = VersionJSON.value(d) }
                if let r = c.relative { o["relative"] = r }
                return o
            },
            "unchanged": m.unchanged.count,
        ]
    }

    /// `path  (N bytes)` for a file, `path/` for a directory, `path -> target` for a symlink.
    static func describe(_ e: TreeEntry) -> String {
        switch e.kind {
        case .file: "\(e.path)  (\(e.size) bytes)"
        case .directory: "\(e.path)/"
        case .symlink: "\(e.path) -> \(e.target ?? "")"
        }
    }

    static func kind(_ k: TreeEntryKind) -> String {
        switch k {
        case .file: "file"
        case .symlink: "symlink"
        case .directory: "directory"
        }
    }
}
