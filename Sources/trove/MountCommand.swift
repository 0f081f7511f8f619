import ArgumentParser
import Foundation
import TroveClient
import TroveCore

#if canImport(Glibc)
    import Glibc
#endif

/// `trove mount MOUNTPOINT`: a read-only FUSE view of the store.
struct MountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mount",
        abstract: "Mount the store read-only (FUSE): MOUNTPOINT/NAME/VERSION/<files>, aliases as symlinks.",
        discussion: """
            Names with slashes become nested directories; an alias is a symlink to its version \
            (models/churn/prod -> 1.4.0). Listings come from troved and refresh after --ttl seconds, so \
            new versions appear without remounting. Files are read by byte range: only the chunks a \
            read covers are fetched, each verified (SHA-256), and kept in a bounded on-disk LRU cache \
            shared by all readers. Every write fails with EROFS. Without --foreground the command \
            returns once the mount is ready and keeps serving in the background; unmount with \
            `fusermount3 -u MOUNTPOINT` (or SIGTERM to the mount process). See docs/MOUNT.md.
            """)

    @Argument(help: "An existing empty directory to mount on.")
    var mountpoint: String

    @Option(name: .customLong("cache-dir"), help: "Chunk cache directory (default: ~/.cache/trove/mount).")
    var cacheDir: String?

    @Option(
        name: .customLong("cache-size"),
        help: "Bound of the on-disk chunk cache, e.g. 512M, 20G; 0 disables it.")
    var cacheSize: String = "2G"

    @Option(name: .long, help: "Seconds before listings (names, versions, aliases) are fetched again.")
    var ttl: Double = 2

    @Option(
        name: .customLong("reconnect-timeout"),
        help:
            "Seconds a read keeps retrying while troved is unreachable (restarting) before it fails with EIO."
    )
    var reconnectTimeout: Double = 30

    @Flag(
        name: .long,
        help: "Stay in the foreground (log to standard error) instead of running in the background.")
    var foreground = false

    @Flag(
        name: .customLong("allow-other"),
        help: "Let other users read the mount (non-root needs user_allow_other in /etc/fuse.conf).")
    var allowOther = false

    @Flag(name: .long, help: "Print libfuse's request trace (implies nothing else).")
    var debug = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard ttl >= 0, ttl <= 3600 else { throw ValidationError("--ttl must be between 0 and 3600 seconds") }
        guard reconnectTimeout >= 0 else { throw ValidationError("--reconnect-timeout must not be negative") }
    }

    func run() throws {
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: mountpoint, isDirectory: &isDir), isDir.boolValue else {
            note("trove: error: the mount point \(mountpoint) is not an existing directory; create it first")
            throw ExitCode(2)
        }
        let capacity: Int
        do { capacity = try ByteSize.parse(cacheSize) } catch {
            note("trove: error: invalid --cache-size \"\(cacheSize)\": \(error)")
            throw ExitCode(2)
        }
        let address: ServerAddress
        let credentials: Credentials?
        do {
            address = try client.address()
            credentials = try client.credentials()
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(error.exitCode)
        }
        guard let helper = MountHelper.find() else {
            note("trove: error: \(MountHelper.missingMessage)")
            throw ExitCode(1)
        }
        var arguments = [
            "--server", address.description, "--cache-dir", cacheDir ?? Self.defaultCacheDirectory(),
            "--cache-size", String(capacity), "--ttl", String(ttl),
            "--reconnect-timeout", String(reconnectTimeout),
        ]
        if foreground { arguments.append("--foreground") }
        if allowOther { arguments.append("--allow-other") }
        if debug { arguments.append("--debug") }
        arguments += ["--", mountpoint]
        // The helper reads the token from the environment (never from its visible arguments).
        // A private CA goes the same way (the address carries tls:// itself).
        if let ca = address.caFile { setenv("TROVE_TLS_CA", ca, 1) } else { unsetenv("TROVE_TLS_CA") }
        if let credentials {
            setenv("TROVE_TOKEN", "\(credentials.name):\(credentials.secret)", 1)
        } else {
            unsetenv("TROVE_TOKEN")
        }
        Output.flush()  // exec drops whatever this process still buffers
        let reason = MountHelper.exec(helper, arguments)
        note("trove: error: cannot run the mount helper \(helper): \(reason)")
        throw ExitCode(1)
    }

    static func defaultCacheDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/trove/mount" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/trove/mount"
    }
}

/// Locates and runs `trove-mount`, the FUSE helper executable of `trove mount` (the only one that
/// links libfuse3, so `trove` runs on hosts without FUSE).
enum MountHelper {
    /// The helper's file name.
    static let name = "trove-mount"

    /// The helper next to this `trove` binary, else the first on `PATH`; nil when neither exists.
    static func find() -> String? {
        let fm = FileManager.default
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        var dirs = [own.path]
        dirs += (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for dir in dirs where !dir.isEmpty {
            let candidate = dir + "/" + name
            if fm.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// What to tell the user when the helper is missing.
    static var missingMessage: String {
        let own = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().deletingLastPathComponent()
        return "trove mount needs the \(name) helper, which is neither next to trove (in \(own.path)) "
            + "nor on PATH: install \(name) (built with trove: swift build --product \(name)) next to trove, "
            + "and FUSE 3 (apt install fuse3)"
    }

    /// Replaces this process with the helper (same pid, standard streams and signals); returns
    /// only if that failed, with the reason.
    static func exec(_ path: String, _ arguments: [String]) -> String {
        let argv = ([name] + arguments).map { strdup($0) } + [nil]
        execv(path, argv)
        let reason = String(cString: strerror(errno))
        for p in argv { free(p) }
        return reason
    }
}
