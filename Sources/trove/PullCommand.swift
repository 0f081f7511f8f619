import ArgumentParser
import Foundation
import Synchronization
import TroveClient
import TroveCore

/// `trove pull REF [DEST]`: writes a version's tree under DEST.
struct PullCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "pull",
        abstract: "Pull NAME:VERSION, NAME:ALIAS or NAME@sha256:HEX into a directory.",
        discussion: """
            DEST (default: the current directory) must be absent or empty: afterwards it holds exactly \
            the version. A non-empty DEST is refused (exit 4, naming what is in the way) unless --force \
            (replace its contents: the result is exactly the version; files replaced and removed are \
            reported) or --merge (write the version over it, keeping other files). The tree is built in \
            a stage directory and switched into place only when every chunk and every file's blob digest \
            verified, so a failure leaves DEST as it was; an interrupted pull (Ctrl-C, a broken \
            connection) keeps the stage, and running the same command again verifies it chunk by chunk \
            and fetches only the rest. Nothing is written outside DEST: absolute paths, '..', and symlinks \
            that resolve outside DEST are refused (exit 5) before anything is written, and existing \
            symlinks in DEST are never written through. --allow-external-symlinks creates links pointing \
            outside DEST anyway (as links only).
            """)

    /// Connections a pull fetches chunks over. troved builds one frame at a time for each
    /// connection, each frame's pack reads one after the other, so the connections are the pull's
    /// depth of pack reads: with four, a 1 GiB restore took 1.08 s against 1.22 with two
    /// (docs/PERFORMANCE.md, "Session 19"); the `GET_CHUNKS` window stays shared (`Puller.window`).
    static let connections = 4

    @Argument(help: "NAME:VERSION, NAME:ALIAS or NAME@sha256:HEX.")
    var ref: String

    @Argument(help: "Destination directory (created if missing; default: current directory).")
    var dest: String = "."

    @Flag(help: "Replace DEST's contents so that it holds exactly the version.")
    var force = false

    @Flag(help: "Write the version over DEST's contents, keeping files that are not in the version.")
    var merge = false

    @Flag(
        name: .customLong("allow-external-symlinks"), help: "Create symlinks whose targets lie outside DEST.")
    var allowExternalSymlinks = false

    @Flag(
        name: .customLong("preserve-special-modes"),
        help: "Keep setuid, setgid and sticky bits from the version (dropped by default).")
    var preserveSpecialModes = false

    @Flag(help: "Print one JSON document instead of text.")
    var json = false

    @OptionGroup var client: ClientOptions
    @OptionGroup var debugOption: DebugOption

    func run() throws {
        try runClient { () throws(ClientError) in
            if force && merge { throw .usage(detail: "give --force or --merge, not both") }
            Interrupt.install(
                message:
                    "\ntrove: interrupted: \(dest) is unchanged. A pull stopped while fetching keeps what "
                    + "it verified in a stage directory; running the same command again resumes from it\n")
            // Benchmark A/B hook: TROVE_RECV_MAX=BYTES, the largest socket read.
            if let n = Self.abInt("TROVE_RECV_MAX"), n > 0 {
                Connection.maxReadBytes.store(n, ordering: .relaxed)
            }
            let conn = try client.connect()
            defer { conn.close() }
            // Benchmark A/B hook: TROVE_PULL_CONNECTIONS=N connections to fetch chunks over (1–4).
            let connections = Self.abInt("TROVE_PULL_CONNECTIONS") ?? Self.connections
            let extra = client.extraConnections(min(max(connections, 1), 4) - 1)
            defer { for c in extra { c.close() } }
            // Ctrl-C once the pull handles it (shouldStop): end any wait for the server at once.
            Interrupt.whenRequested {
                for c in [conn] + extra { c.close() }
            }
            let puller = Puller(connection: conn, progress: Progress.forTerminal())
            puller.extraConnections = extra
            puller.allowExternalSymlinks = allowExternalSymlinks
            puller.preserveSpecialModes = preserveSpecialModes
            puller.mode = force ? .force : merge ? .merge : .exact
            // Benchmark A/B hook: TROVE_PULL_WRITERS=0 writes every file on the pulling thread.
            if let n = Self.abInt("TROVE_PULL_WRITERS"), n >= 0 {
                puller.writerThreads = min(n, 8)
            }
            // Benchmark A/B hook: TROVE_PULL_WAKE=BYTES, how much is queued before the writer wakes.
            if let n = Self.abInt("TROVE_PULL_WAKE"), n >= 0 {
                puller.writerWakeBytes = n
            }
            // Benchmark A/B hook: TROVE_PULL_DIRECT=0 writes large files through the page cache, 1 (the
            // default) direct.
            switch ProcessInfo.processInfo.environment["TROVE_PULL_DIRECT"] {
            case "1": puller.directWrites = true
            case "0": puller.directWrites = false
            default: break
            }
            // Benchmark A/B hook: TROVE_PULL_DIRECT_DEPTH=N direct writes in flight per file.
            if let n = Self.abInt("TROVE_PULL_DIRECT_DEPTH"), n >= 1 {
                puller.directWritesInFlight = min(n, 8)
            }
            // Benchmark A/B hook: TROVE_PULL_HASH=arrival|fused (where chunk digests are checked; default:
            // on arrival where they take sixteen lanes, Puller.hashOnArrival).
            if let h = ProcessInfo.processInfo.environment["TROVE_PULL_HASH"] {
                puller.hashOnArrival = h == "arrival"
            }
            // Test hook: behave as if Ctrl-C came after N chunks were fetched.
            let stopAfter = ProcessInfo.processInfo.environment["TROVE_TEST_INTERRUPT_AFTER_CHUNKS"].flatMap {
                Int($0)
            }
            puller.shouldStop = { fetched in
                // From before the pull makes its first directory on, Ctrl-C stops it at its next
                // check, and it reports what it kept (or that it removed what it made).
                Interrupt.cooperative = true
                return Interrupt.requested || stopAfter.map { fetched >= $0 } ?? false
            }
            var pulled: PullResult?
            try NotFound.explaining([(nil, ref)], connection: conn) { () throws(ClientError) in
                pulled = try puller.pull(ref: ref, into: dest)
            }
            guard let r = pulled else { return }
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
                    "bytesFetched": r.bytesFetched, "chunksReused": r.chunksReused,
                    "bytesReused": r.bytesReused, "bytesChecked": r.bytesChecked,
                    "destination": dest, "mode": puller.mode.rawValue, "replaced": r.replaced,
                    "removed": r.removed,
                ]
                if let v = r.info.version { o["version"] = v.version }
                if let a = r.info.resolvedAlias { o["alias"] = a }
                printJSON(o)
            } else {
                print("pulled \(resolved) into \(dest)")
                print("tree \(r.info.tree.prefixed)")
                var line =
                    "\(r.files) file\(r.files == 1 ? "" : "s"), \(Progress.bytes(r.bytesWritten)); fetched "
                    + "\(r.chunksFetched) chunks, \(Progress.bytes(r.bytesFetched))"
                if r.chunksReused > 0 {
                    line +=
                        "; resumed: \(r.chunksReused) chunks (\(Progress.bytes(r.bytesReused))) kept from the interrupted pull"
                }
                print(line)
                if puller.mode == .force {
                    print(
                        "replaced \(r.replaced.count) file\(r.replaced.count == 1 ? "" : "s"), removed \(r.removed.count)"
                    )
                    for p in r.replaced { print("  replaced  \(p)") }
                    for p in r.removed { print("  removed   \(p)") }
                }
            }
        }
    }

    /// A benchmark A/B hook's integer from the environment (nil: unset or not a number).
    private static func abInt(_ name: String) -> Int? {
        ProcessInfo.processInfo.environment[name].flatMap { Int($0) }
    }
}
