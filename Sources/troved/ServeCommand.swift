import ArgumentParser
import Foundation
import Logging
import ServiceLifecycle
import TroveCore
import TroveServer
import TroveStore
import TroveTLS
import UnixSignals

/// `troved [serve]`: runs the daemon until SIGTERM/SIGINT.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve", abstract: "Serve the store (the default when no subcommand is given).")

    @Option(name: .long, help: "TOML configuration file (see etc/troved.toml).")
    var config: String?

    @Option(name: .long, help: "Store root (default ./trove-data; created on first start).")
    var root: String?

    @Option(
        name: .long,
        help: "Address to listen on, HOST:PORT (default 127.0.0.1:7420; port 0 picks a free one).")
    var listen: String?

    @Flag(name: .long, help: "Allow open access (no tokens) and plaintext (no TLS) on a non-loopback address.")
    var insecure = false

    @Option(name: .long, help: "TLS certificate chain, PEM: both listeners speak TLS 1.3 only (reloaded on SIGHUP).")
    var tlsCert: String?

    @Option(name: .long, help: "TLS private key, PEM (with --tls-cert).")
    var tlsKey: String?

    @Option(
        name: .long, help: "Write the bound HOST:PORT to this file once listening (for scripts and tests).")
    var portFile: String?

    @Option(name: .long, help: "Also serve the S3 API on HOST:PORT (off by default; docs/S3.md).")
    var s3Listen: String?

    @Option(name: .long, help: "Write the S3 listener's bound HOST:PORT to this file once listening.")
    var s3PortFile: String?

    @Option(name: .long, help: "Serve Prometheus /metrics, /healthz and /readyz on HOST:PORT (off by default).")
    var metricsListen: String?

    @Option(name: .long, help: "Write the metrics listener's bound HOST:PORT to this file once listening.")
    var metricsPortFile: String?

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Flag(
        name: .customLong("allow-readable-config"),
        help: "Start even if the config file can be read or written by group or others (a warning then).")
    var allowReadableConfig = false

    func run() async throws {
        Allocator.tuneForTransfers()
        var cfg = ServerConfig()
        do {
            if let path = config {
                guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                    throw ConfigError("cannot read config file \(path): \(String(cString: strerror(errno)))")
                }
                cfg = try ServerConfig.parse(toml: text, path: path)
            }
            if let root { cfg.root = root }
            if let listen {
                let l = try ServerConfig.parseListen(listen)
                cfg.host = l.host
                cfg.port = l.port
            }
            if insecure { cfg.insecure = true }
            if let tlsCert { cfg.tlsCertificate = tlsCert }
            if let tlsKey { cfg.tlsKey = tlsKey }
            if let s3Listen { cfg.s3Listen = s3Listen }
            if let metricsListen {
                _ = try ServerConfig.parseListen(metricsListen)
                cfg.metricsListen = metricsListen
            }
            if let logLevel { cfg.logLevel = logLevel }
            try cfg.validate()
            try validateS3(cfg)
        } catch let e as ConfigError {
            printError("troved: \(e)")
            throw ExitCode(2)
        }
        guard let level = Logger.Level(rawValue: cfg.logLevel) else {
            printError(
                "troved: unknown log level '\(cfg.logLevel)' (trace, debug, info, notice, warning, error, critical)"
            )
            throw ExitCode(2)
        }
        LoggingSystem.bootstrap { label in
            var h = StreamLogHandler.standardError(label: label)
            h.logLevel = level
            return h
        }
        let logger = Logger(label: "troved")
        if let path = config, let warning = ServerConfig.permissionWarning(path: path) {
            guard allowReadableConfig else {
                printError("troved: refusing to start: \(warning) (or pass --allow-readable-config)")
                throw ExitCode(2)
            }
            logger.warning("\(warning)")
        }
        ServeCommand.tuneProcess(logger: logger)
        let certificates: ServerCertificates?
        do { certificates = try loadCertificates(cfg, logger: logger) } catch {
            printError("troved: \(error)")
            throw ExitCode(2)
        }

        let store: Store
        do {
            let (s, created) = try openOrCreateStore(cfg)
            store = s
            if created {
                logger.notice(
                    "created a new store", metadata: ["root": "\(cfg.root)", "id": "\(s.config.storeID)"])
            }
        } catch {
            printError("troved: cannot open the store at \(cfg.root): \(error)")
            // A missing, wrong or unreadable key is a configuration problem, like a bad config.
            if case StoreError.encryption = error { throw ExitCode(2) }
            throw ExitCode(1)
        }
        if let note = store.takeDiskNote() { logger.warning("\(note)") }
        armFaultsForTesting(root: cfg.root, logger: logger)
        if Int(cfg.limits.maxFramePayload) < store.config.chunking.max + 4096 {
            printError(
                "troved: limits.max_frame must be at least the store's chunk_max + 4096 (\(store.config.chunking.max + 4096))"
            )
            throw ExitCode(2)
        }
        if cfg.tokens.isEmpty {
            logger.notice("no tokens configured: open access (loopback only unless --insecure)")
        }

        let portFile = self.portFile
        let readiness = Readiness(store: store)
        // Before the servers exist: metric handles are made against the backend bootstrapped here.
        let metrics = try makeMetricsListener(
            cfg, store: store, readiness: readiness, logger: logger, portFile: metricsPortFile)
        let server = TroveServer(
            config: cfg, store: store, logger: logger, tls: certificates,
            onReady: { host, port in
                if let portFile { writePortFile(portFile, "\(host):\(port)\n") }
                readiness.set(true)
                SystemdNotify.send("READY=1\nSTATUS=serving on \(host):\(port)")
            },
            onStopping: {
                readiness.set(false)
                SystemdNotify.send("STOPPING=1")
            })
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: server)]
        if let metrics { services.append(.init(service: metrics)) }
        if let s3 = try makeS3Server(cfg, store: store, logger: logger, tls: certificates, portFile: s3PortFile) {
            services.append(.init(service: s3))
        }
        if let certificates {
            services.append(
                .init(
                    service: CertificateReloader(
                        certificates: certificates, hangups: await UnixSignalsSequence(trapping: .sighup), logger: logger),
                    successTerminationBehavior: .ignore))
        }
        let group = ServiceGroup(
            configuration: .init(
                services: services, gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        do {
            try await group.run()
        } catch {
            printError("troved: \(error)")
            throw ExitCode(1)
        }
    }
}

extension ServeCommand {
    /// Process settings for a daemon facing many connections: the open-file limit raised to its
    /// hard limit (every connection is a descriptor), and large allocations (frame buffers) always
    /// mapped on their own so that freeing them returns the memory to the system at once; glibc
    /// would otherwise raise its mmap threshold after the first such free and keep later frame
    /// buffers in its heap after the connections that needed them are gone.
    static func tuneProcess(logger: Logger) {
        var limit = rlimit()
        if getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max
            if setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) != 0 {
                logger.notice("could not raise the open-file limit", metadata: ["errno": "\(errno)"])
            }
        }
        #if canImport(Glibc)
            // mallopt(M_MMAP_THRESHOLD = -3, 256 KiB); malloc.h is not in the Glibc module.
            typealias Mallopt = @convention(c) (Int32, Int32) -> Int32
            if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") {
                _ = unsafeBitCast(symbol, to: Mallopt.self)(-3, 256 << 10)
            }
        #endif
    }
}

/// Debug builds only: `TROVE_FAULTS=OP:N:ERRNO[:sticky]` (e.g. `write:3:ENOSPC`, `fsync:1:EIO`)
/// makes the store's Nth file call of that kind fail (`FileFaults`), for the fault-injection tests.
func armFaultsForTesting(root: String, logger: Logger) {
    #if DEBUG
        guard let spec = ProcessInfo.processInfo.environment["TROVE_FAULTS"], !spec.isEmpty else { return }
        guard let plan = FileFaults.Plan.parse(spec) else {
            logger.error("TROVE_FAULTS=\(spec) is not OP:N:ERRNO[:sticky]; no fault armed")
            return
        }
        FileFaults.arm(plan, root: root)
        logger.notice("fault injection armed", metadata: ["plan": "\(plan)"])
    #endif
}

/// Writes `text` to `path` atomically (a reader never sees a partial line).
func writePortFile(_ path: String, _ text: String) {
    let tmp = path + ".tmp"
    FileManager.default.createFile(atPath: tmp, contents: Data(text.utf8))
    rename(tmp, path)
}

/// Prints to standard error.
func printError(_ s: String) {
    FileHandle.standardError.write(Data((s + "\n").utf8))
}
