import ArgumentParser
import Foundation
import TroveClient
import TroveCore
import TroveMount

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

    @Flag(name: .customLong("daemon-child"), help: .hidden)
    var daemonChild = false

    @OptionGroup var client: ClientOptions

    func validate() throws {
        guard ttl >= 0, ttl <= 3600 else { throw ValidationError("--ttl must be between 0 and 3600 seconds") }
        guard reconnectTimeout >= 0 else { throw ValidationError("--reconnect-timeout must not be negative") }
    }

    func run() throws {
        // Before any thread exists, so every thread started later inherits the mask and the
        // stop signals reach only the main thread (libfuse's handlers).
        FuseMount.blockStopSignals()
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
        if !foreground && !daemonChild {
            throw ExitCode(try runInBackground())
        }
        if daemonChild { _ = setsid() }
        let address: ServerAddress
        let credentials: Credentials?
        do {
            address = try client.address()
            credentials = try client.credentials()
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(error.exitCode)
        }
        let dir = cacheDir ?? Self.defaultCacheDirectory()
        // Fail fast on a wrong address or token (reads retry; the first contact does not).
        do {
            try Connection.open(to: address, credentials: credentials, clientName: "trove-mount/0.1.0")
                .close()
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(error.exitCode)
        }
        do {
            let backend = ClientBackend(
                address: address, credentials: credentials, retryWindow: reconnectTimeout)
            let cache = try ChunkCache(directory: dir, capacity: capacity)
            let fs = try MountFileSystem(backend: backend, cache: cache, listingTTL: ttl)
            var options = FuseMount.Options()
            options.allowOther = allowOther
            options.debug = debug
            let path = URL(fileURLWithPath: mountpoint).standardizedFileURL.path
            try FuseMount.serve(fs, at: path, options: options) {
                if daemonChild {
                    FileHandle.standardOutput.write(Data("ready\n".utf8))
                    let null = open("/dev/null", O_RDWR)
                    if null >= 0 {
                        dup2(null, 0)
                        dup2(null, 1)
                        dup2(null, 2)
                        if null > 2 { close(null) }
                    }
                } else {
                    note(
                        "trove: mounted \(address) at \(path) (cache \(capacity > 0 ? dir : "off")); "
                            + "Ctrl-C or `fusermount3 -u \(path)` unmounts")
                }
            }
            backend.closeAll()
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(1)
        }
    }

    static func defaultCacheDirectory() -> String {
        let env = ProcessInfo.processInfo.environment
        if let x = env["XDG_CACHE_HOME"], !x.isEmpty { return x + "/trove/mount" }
        return (env["HOME"] ?? NSTemporaryDirectory()) + "/.cache/trove/mount"
    }

    /// Starts this command again as a detached child (`--daemon-child`) and waits until it reports
    /// the mount ready (exit 0) or fails (its message is shown, its status returned).
    private func runInBackground() throws -> Int32 {
        let child = Process()
        child.executableURL = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
        child.arguments = Array(CommandLine.arguments.dropFirst()) + ["--daemon-child"]
        let pipe = Pipe()
        child.standardOutput = pipe
        child.standardError = pipe
        child.standardInput = FileHandle.nullDevice
        do { try child.run() } catch {
            note("trove: error: cannot start the background mount process: \(error)")
            return 1
        }
        try? pipe.fileHandleForWriting.close()
        var output = Data()
        let reader = pipe.fileHandleForReading
        while true {
            let more = reader.availableData
            if more.isEmpty { break }
            output += more
            if let text = String(data: output, encoding: .utf8), text.hasPrefix("ready\n") || text == "ready"
            {
                note(
                    "trove: mounted at \(mountpoint) (pid \(child.processIdentifier)); unmount with "
                        + "`fusermount3 -u \(mountpoint)`")
                return 0
            }
        }
        child.waitUntilExit()
        FileHandle.standardError.write(output)
        return child.terminationStatus == 0 ? 1 : child.terminationStatus
    }
}
