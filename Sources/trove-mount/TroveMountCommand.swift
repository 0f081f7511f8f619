import ArgumentParser
import Foundation
import TroveClient
import TroveMount

/// `trove-mount`: the FUSE helper that `trove mount` runs (the only executable that links
/// libfuse3, so `trove` itself runs on hosts without FUSE).
///
/// `trove mount` parses and checks the user's options (docs/MOUNT.md is the contract), resolves
/// the defaults (server address, cache directory, cache size in bytes) and replaces itself with
/// this program; the token comes in `TROVE_TOKEN`. Output and exit codes are those of `trove mount`.
@main
struct TroveMountCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trove-mount",
        abstract: "The FUSE helper of `trove mount` (run `trove mount` instead; see docs/MOUNT.md).")

    @Argument(help: "An existing empty directory to mount on.")
    var mountpoint: String

    @Option(help: "troved address HOST:PORT.")
    var server: String

    @Option(name: .customLong("cache-dir"), help: "Chunk cache directory.")
    var cacheDir: String

    @Option(name: .customLong("cache-size"), help: "Bound of the on-disk chunk cache, bytes; 0 disables it.")
    var cacheSize: Int

    @Option(help: "Seconds before listings are fetched again.")
    var ttl: Double

    @Option(name: .customLong("reconnect-timeout"), help: "Seconds a read retries while troved is unreachable.")
    var reconnectTimeout: Double

    @Flag(help: "Stay in the foreground (log to standard error).")
    var foreground = false

    @Flag(name: .customLong("allow-other"), help: "Let other users read the mount.")
    var allowOther = false

    @Flag(help: "Print libfuse's request trace.")
    var debug = false

    @Flag(name: .customLong("daemon-child"), help: .hidden)
    var daemonChild = false

    func run() throws {
        // Before any thread exists, so every thread started later inherits the mask and the
        // stop signals reach only the main thread (libfuse's handlers).
        FuseMount.blockStopSignals()
        if !foreground && !daemonChild {
            throw ExitCode(Background.mount(mountpoint: mountpoint))
        }
        if daemonChild { _ = setsid() }
        var address: ServerAddress
        let credentials: Credentials?
        do {
            address = try ServerAddress(parsing: server)
            if address.tls, let ca = ProcessInfo.processInfo.environment["TROVE_TLS_CA"], !ca.isEmpty {
                address.caFile = ca
            }
            let token = ProcessInfo.processInfo.environment["TROVE_TOKEN"] ?? ""
            credentials = token.isEmpty ? nil : try Credentials(parsing: token, source: "TROVE_TOKEN")
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(error.exitCode)
        }
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
            let cache = try ChunkCache(directory: cacheDir, capacity: cacheSize)
            let fs = try MountFileSystem(backend: backend, cache: cache, listingTTL: ttl)
            var options = FuseMount.Options()
            options.allowOther = allowOther
            options.debug = debug
            let path = URL(fileURLWithPath: mountpoint).standardizedFileURL.path
            try FuseMount.serve(fs, at: path, options: options) {
                if daemonChild {
                    Background.reportReadyAndDetach()
                } else {
                    note(
                        "trove: mounted \(address) at \(path) (cache \(cacheSize > 0 ? cacheDir : "off")); "
                            + "Ctrl-C or `fusermount3 -u \(path)` unmounts")
                }
            }
            backend.closeAll()
        } catch {
            note("trove: error: \(error)")
            throw ExitCode(1)
        }
    }
}

/// Writes a line to standard error.
func note(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
