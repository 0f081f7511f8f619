import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Everything `troved` is configured with: from `--config FILE` (TOML, see `etc/troved.toml`),
/// overridden by command-line flags.
public struct ServerConfig: Sendable {
    /// Store root; created on first start. With packs in S3 it is the local working area.
    public var root: String = "./trove-data"
    /// `[storage]`: where packs live.
    public var storage = StorageSettings()
    /// `[catalog]`: where the catalog lives (absent: SQLite in the root).
    public var catalog = CatalogSettings()
    /// Address to listen on.
    public var host: String = "127.0.0.1"
    /// Port (0: any free port, reported through `--port-file`).
    public var port: Int = 7420
    /// Allow open access (no tokens) and plaintext (no TLS) on a non-loopback address.
    public var insecure = false
    /// TLS certificate chain, PEM (`[tls] cert`, `--tls-cert`); with ``tlsKey``, both listeners
    /// speak TLS 1.3 only.
    public var tlsCertificate: String?
    /// TLS private key, PEM (`[tls] key`, `--tls-key`).
    public var tlsKey: String?
    /// Metrics listener address, `HOST:PORT` (`[metrics] listen`, `--metrics-listen`): Prometheus
    /// `/metrics`, `/healthz`, `/readyz`; nil: none.
    public var metricsListen: String?
    /// Configured tokens; none means open access (loopback only, unless `insecure`).
    public var tokens: [TokenSpec] = []
    /// Limits announced in HELLO_OK and enforced.
    public var limits: SessionLimits = ServerConfig.defaultLimits
    /// Open connections at most; more get `busy`.
    public var maxConnections = 256
    /// Open connections per token at most.
    public var maxConnectionsPerToken = 64
    /// Connections still in their handshake (not yet authenticated) at most, counted apart from
    /// `maxConnections`. When full, the oldest pending handshake (over a second old) is closed to
    /// make room, else the new connection is closed at accept.
    public var maxHandshakes = 64
    /// Memory for request frames being received or waiting to run, all connections together;
    /// past it connections wait (they stop being read). At least `limits.maxFramePayload` + 14.
    public var receiveMemory = 256 << 20
    /// While connections wait for `receiveMemory`, a connection whose partly received frame made
    /// no progress for this long is closed.
    public var frameStallMillis = 5000
    /// Requests of one connection that may execute at once (responses stay in request order).
    public var requestsPerConnection = 4
    /// Threads doing store work (fsync, SQLite, pack reads).
    public var workerThreads = 4
    /// Seconds a graceful shutdown waits for in-flight requests.
    public var shutdownGraceSeconds = 30
    /// Chunking for a store created by this start (ignored for an existing store).
    public var chunking = ChunkerParameters.default
    /// Format policy (container-aware chunk boundaries) for a store created by this start.
    public var formats = FormatPolicy.auto
    /// Codec and level for a store created by this start.
    public var codec: Codec = .zstd
    public var level = 3
    /// Pack seal threshold.
    public var packSize = 64 << 20
    /// Pack segments through direct I/O (`O_DIRECT`) where the filesystem allows (`store.direct_io`).
    public var directIO = true
    /// Encryption at rest (`[store] encryption_key_file`): the key file (32 bytes) new data is
    /// sealed with; a store created with it stays encrypted. Nil: a plaintext store.
    public var encryptionKeyFile: String?
    /// Key files of earlier keys (`[store] encryption_old_key_files`), to read data written
    /// before a rotation.
    public var encryptionOldKeyFiles: [String] = []
    /// New data (chunks, objects) is refused with `no-space` when it would leave less than this
    /// free on the store's filesystem, keeping room for the catalog, fsck and GC (0: no floor).
    public var minFreeSpace = 64 << 20
    /// Size of the pre-allocated reserve file (`ROOT/reserve`), released when the store opens or
    /// a GC starts on a disk with less free space than it holds (0: none).
    public var diskReserve = 16 << 20
    /// swift-log level name.
    public var logLevel = "info"
    /// S3 listener address, `HOST:PORT` (`[s3] listen`, `--s3-listen`); nil: no S3 listener.
    public var s3Listen: String?
    /// Buckets created write-once at start if missing (`[s3] write_once`); see docs/S3.md.
    public var s3WriteOnce: [String] = []
    /// Multipart uploads older than this many seconds are aborted (`[s3] multipart_max_age`).
    public var s3MultipartMaxAge = 7 * 86_400
    /// Seconds a client may stay silent in the middle of an S3 request (`[s3] idle_timeout`).
    public var s3IdleTimeout = 120
    /// Seconds a request head may take to arrive from its first byte (`[s3] header_timeout`).
    public var s3HeaderTimeout = 20
    /// Bytes per second a request body must average, per header_timeout window (`[s3] min_body_rate`; 0: off).
    public var s3MinBodyRate = 1024

    /// The reference limits, with the object cap matched to what the store will read back.
    public static let defaultLimits: SessionLimits = {
        var l = SessionLimits.default
        l.maxObjectLength = 256 << 20
        return l
    }()

    public init() {}

    /// Whether `host` is loopback: every address it resolves to (numerically or through the
    /// resolver) is in 127.0.0.0/8 or is ::1 (or ::ffff:127.x.y.z). A name that does not resolve
    /// is not loopback, so `127.evil.example` is judged by where it points, not by its text.
    public static func isLoopback(_ host: String) -> Bool {
        let addresses = LoopbackCheck.resolve(host)
        return !addresses.isEmpty && addresses.allSatisfy(LoopbackCheck.isLoopback)
    }

    /// A warning when the configuration file at `path` can be read or written by group or others
    /// (its token hashes are HMAC keys: whoever reads them can authenticate); nil when it is private.
    public static func permissionWarning(path: String) -> String? {
        var st = stat()
        guard stat(path, &st) == 0 else { return nil }
        let mode = st.st_mode & 0o777
        guard mode & 0o066 != 0 else { return nil }
        return
            "config file \(path) has mode \(String(mode, radix: 8)): group or others can read or change it, "
            + "and its token hashes are HMAC keys that let anyone holding them authenticate; "
            + "run `chmod 600 \(path)`"
    }

    /// Parses `HOST:PORT` (or `[V6]:PORT`).
    public static func parseListen(_ text: String) throws(ConfigError) -> (host: String, port: Int) {
        var host: Substring
        var portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]"), text[text.index(after: close)...].hasPrefix(":")
            else {
                throw ConfigError("listen address '\(text)' is not [IPV6]:PORT")
            }
            host = text[text.index(after: text.startIndex)..<close]
            portText = text[text.index(close, offsetBy: 2)...]
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw ConfigError("listen address '\(text)' is not HOST:PORT (e.g. 127.0.0.1:7420)")
            }
            host = text[..<colon]
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty, let port = Int(portText), (0...65535).contains(port) else {
            throw ConfigError("listen address '\(text)' is not HOST:PORT with a port in 0...65535")
        }
        return (String(host), port)
    }

    /// Reads a configuration file's text. Unknown keys are refused, so typos do not go unnoticed.
    public static func parse(toml text: String, path: String) throws(ConfigError) -> ServerConfig {
        let doc: [String: TOMLValue]
        do { doc = try TOML.parse(text) } catch { throw ConfigError("\(path): \(error)") }
        var c = ServerConfig()
        let reader = TableReader(path: path)
        for (key, value) in doc {
            switch key {
            case "server":
                let t = try reader.table(value, "server")
                for (k, v) in t {
                    switch k {
                    case "root": c.root = try reader.string(v, "server.root")
                    case "listen":
                        let l = try parseListen(try reader.string(v, "server.listen"))
                        c.host = l.host
                        c.port = l.port
                    case "insecure": c.insecure = try reader.bool(v, "server.insecure")
                    case "max_connections":
                        c.maxConnections = try reader.int(v, "server.max_connections", 1...1_000_000)
                    case "max_connections_per_token":
                        c.maxConnectionsPerToken = try reader.int(
                            v, "server.max_connections_per_token", 1...1_000_000)
                    case "max_handshakes":
                        c.maxHandshakes = try reader.int(v, "server.max_handshakes", 1...1_000_000)
                    case "receive_memory":
                        c.receiveMemory = try reader.size(v, "server.receive_memory", 1 << 20...1 << 40)
                    case "min_free_space":
                        c.minFreeSpace = try reader.size(v, "server.min_free_space", 0...1 << 50)
                    case "disk_reserve":
                        c.diskReserve = try reader.size(v, "server.disk_reserve", 0...1 << 40)
                    case "frame_stall_ms":
                        c.frameStallMillis = try reader.int(v, "server.frame_stall_ms", 100...3_600_000)
                    case "requests_per_connection":
                        c.requestsPerConnection = try reader.int(v, "server.requests_per_connection", 1...64)
                    case "worker_threads":
                        c.workerThreads = try reader.int(v, "server.worker_threads", 1...256)
                    case "shutdown_grace_seconds":
                        c.shutdownGraceSeconds = try reader.int(v, "server.shutdown_grace_seconds", 0...3600)
                    case "log_level":
                        c.logLevel = try reader.string(v, "server.log_level")
                        let levels = ["trace", "debug", "info", "notice", "warning", "error", "critical"]
                        guard levels.contains(c.logLevel) else {
                            throw ConfigError(
                                "\(path): server.log_level must be one of \(levels.joined(separator: ", "))")
                        }
                    default: throw ConfigError("\(path): unknown key server.\(k)")
                    }
                }
            case "limits":
                let t = try reader.table(value, "limits")
                for (k, v) in t {
                    switch k {
                    case "max_frame":
                        c.limits.maxFramePayload = UInt32(
                            try reader.size(
                                v, "limits.max_frame", 64 << 10...ProtocolLimits.absoluteMaxPayload))
                    case "max_digests_per_request":
                        c.limits.maxDigestsPerRequest = UInt32(
                            try reader.int(
                                v, "limits.max_digests_per_request", 1...ProtocolLimits.maxDigestsPerRequest))
                    case "max_chunks_per_put":
                        c.limits.maxChunksPerPut = UInt32(
                            try reader.int(
                                v, "limits.max_chunks_per_put", 1...ProtocolLimits.maxChunksPerFrame))
                    case "max_in_flight":
                        c.limits.maxInFlight = UInt32(try reader.int(v, "limits.max_in_flight", 1...1024))
                    case "max_object":
                        c.limits.maxObjectLength = UInt64(
                            try reader.size(v, "limits.max_object", 1 << 20...1 << 30))
                    case "handshake_timeout_ms":
                        c.limits.handshakeTimeoutMillis = UInt32(
                            try reader.int(v, "limits.handshake_timeout_ms", 100...600_000))
                    case "idle_timeout_ms":
                        c.limits.idleTimeoutMillis = UInt32(
                            try reader.int(v, "limits.idle_timeout_ms", 1000...86_400_000))
                    case "lease_ttl_seconds":
                        c.limits.leaseTTLSeconds = UInt32(
                            try reader.int(v, "limits.lease_ttl_seconds", 10...604_800))
                    default: throw ConfigError("\(path): unknown key limits.\(k)")
                    }
                }
            case "store":
                let t = try reader.table(value, "store")
                var min = c.chunking.min
                var avg = c.chunking.avg
                var max = c.chunking.max
                var norm = c.chunking.normalization
                for (k, v) in t {
                    switch k {
                    case "codec":
                        let name = try reader.string(v, "store.codec")
                        guard let codec = Codec(name: name) else {
                            throw ConfigError("\(path): store.codec must be zstd, lz4 or raw, not '\(name)'")
                        }
                        c.codec = codec
                    case "level": c.level = try reader.int(v, "store.level", 1...19)
                    case "pack_size": c.packSize = try reader.size(v, "store.pack_size", 1 << 20...1 << 30)
                    case "direct_io": c.directIO = try reader.bool(v, "store.direct_io")
                    case "chunk_min": min = try reader.size(v, "store.chunk_min", 1...Int.max)
                    case "chunk_avg": avg = try reader.size(v, "store.chunk_avg", 1...Int.max)
                    case "chunk_max": max = try reader.size(v, "store.chunk_max", 1...Int.max)
                    case "normalization": norm = try reader.int(v, "store.normalization", 0...3)
                    case "formats":
                        let text = try reader.string(v, "store.formats")
                        do { c.formats = try FormatPolicy(parsing: text) } catch {
                            throw ConfigError("\(path): store.formats: \(error)")
                        }
                    case "encryption_key_file": c.encryptionKeyFile = try reader.string(v, "store.encryption_key_file")
                    case "encryption_old_key_files":
                        guard let files = v.stringArray else {
                            throw ConfigError("\(path): store.encryption_old_key_files must be an array of strings")
                        }
                        c.encryptionOldKeyFiles = files
                    default: throw ConfigError("\(path): unknown key store.\(k)")
                    }
                }
                c.chunking = ChunkerParameters(min: min, avg: avg, max: max, normalization: norm)
                do { try c.chunking.validate() } catch {
                    throw ConfigError("\(path): [store] chunking: \(error)")
                }
            case "s3":
                for (k, v) in try reader.table(value, "s3") {
                    switch k {
                    case "listen":
                        c.s3Listen = try reader.string(v, "s3.listen")
                        _ = try parseListen(c.s3Listen!)
                    case "write_once":
                        guard let a = v.stringArray else {
                            throw ConfigError("\(path): s3.write_once must be an array of bucket names")
                        }
                        c.s3WriteOnce = a
                    case "multipart_max_age":
                        c.s3MultipartMaxAge = try reader.int(v, "s3.multipart_max_age", 3600...365 * 86_400)
                    case "idle_timeout":
                        c.s3IdleTimeout = try reader.int(v, "s3.idle_timeout", 1...86_400)
                    case "header_timeout":
                        c.s3HeaderTimeout = try reader.int(v, "s3.header_timeout", 1...3600)
                    case "min_body_rate":
                        c.s3MinBodyRate = try reader.int(v, "s3.min_body_rate", 0...(1 << 30))
                    default:
                        throw ConfigError(
                            "\(path): unknown key s3.\(k) (known: listen, write_once, multipart_max_age, idle_timeout, "
                                + "header_timeout, min_body_rate)")
                    }
                }
            case "storage": c.storage = try StorageSettings.parse(value, reader)
            case "catalog": c.catalog = try CatalogSettings.parse(value, reader)
            case "tls":
                for (k, v) in try reader.table(value, "tls") {
                    switch k {
                    case "cert": c.tlsCertificate = try reader.string(v, "tls.cert")
                    case "key": c.tlsKey = try reader.string(v, "tls.key")
                    default: throw ConfigError("\(path): unknown key tls.\(k) (known: cert, key)")
                    }
                }
            case "metrics":
                for (k, v) in try reader.table(value, "metrics") {
                    guard k == "listen" else { throw ConfigError("\(path): unknown key metrics.\(k) (known: listen)") }
                    c.metricsListen = try reader.string(v, "metrics.listen")
                    _ = try parseListen(c.metricsListen!)
                }
            case "tokens":
                let t = try reader.table(value, "tokens")
                for (name, v) in t.sorted(by: { $0.key < $1.key }) {
                    c.tokens.append(try reader.token(name: name, v))
                }
            default:
                throw ConfigError(
                    "\(path): unknown section or key '\(key)' (known: server, limits, store, storage, catalog, s3, tls, metrics, tokens)")
            }
        }
        return c
    }

    /// Whether both listeners speak TLS (a certificate and a key are configured).
    public var tlsEnabled: Bool { tlsCertificate != nil && tlsKey != nil }

    /// Refuses a non-loopback `host` (the `listener`'s) without TLS, unless `insecure`.
    public func requireTLSOffLoopback(host: String, listener: String) throws(ConfigError) {
        if !tlsEnabled && !insecure && !ServerConfig.isLoopback(host) {
            throw ConfigError(
                "refusing to serve \(listener) on \(host) in plaintext: tokens, names and data would cross the network "
                    + "unencrypted. Set [tls] cert and key (or --tls-cert and --tls-key), listen on 127.0.0.1, "
                    + "or pass --insecure if the network is trusted.")
        }
    }

    /// Checks cross-field rules: security of the listen address, limits against chunking.
    public func validate() throws(ConfigError) {
        if (tlsCertificate == nil) != (tlsKey == nil) {
            throw ConfigError(
                "TLS needs both a certificate and a key: set [tls] cert and key (or --tls-cert and --tls-key)")
        }
        if tokens.isEmpty && !ServerConfig.isLoopback(host) && !insecure {
            throw ConfigError(
                "refusing to listen on \(host) without tokens: anyone who can reach it could read and overwrite "
                    + "the store. Add [tokens.NAME] entries to the config (see `troved token new`), listen on "
                    + "127.0.0.1, or pass --insecure if the network is trusted.")
        }
        try requireTLSOffLoopback(host: host, listener: "the Trove protocol")
        if receiveMemory < Int(limits.maxFramePayload) + Frame.overhead {
            throw ConfigError(
                "server.receive_memory (\(receiveMemory)) must be at least limits.max_frame + 14 (\(Int(limits.maxFramePayload) + Frame.overhead)): one frame must fit"
            )
        }
        if Int(limits.maxFramePayload) < chunking.max + 4096 {
            throw ConfigError(
                "limits.max_frame (\(limits.maxFramePayload)) must be at least chunk_max + 4096 (\(chunking.max + 4096))"
            )
        }
    }
}

/// A configuration problem; the message names the file and key and says what is allowed.
public struct ConfigError: Error, CustomStringConvertible, Equatable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// Typed access to TOML values with messages that name the key.
struct TableReader {
    let path: String

    func table(_ v: TOMLValue, _ key: String) throws(ConfigError) -> [String: TOMLValue] {
        guard let t = v.table else {
            throw ConfigError("\(path): [\(key)] must be a table, not \(v.typeName)")
        }
        return t
    }

    func string(_ v: TOMLValue, _ key: String) throws(ConfigError) -> String {
        guard let s = v.string else {
            throw ConfigError("\(path): \(key) must be a string, not \(v.typeName)")
        }
        return s
    }

    func bool(_ v: TOMLValue, _ key: String) throws(ConfigError) -> Bool {
        guard let b = v.bool else {
            throw ConfigError("\(path): \(key) must be true or false, not \(v.typeName)")
        }
        return b
    }

    func int(_ v: TOMLValue, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        guard let i = v.integer, let n = Int(exactly: i), range.contains(n) else {
            throw ConfigError(
                "\(path): \(key) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return n
    }

    /// A size: an integer of bytes or a string like "8MiB".
    func size(_ v: TOMLValue, _ key: String, _ range: ClosedRange<Int>) throws(ConfigError) -> Int {
        var n: Int?
        if let i = v.integer { n = Int(exactly: i) } else if let s = v.string { n = try? ByteSize.parse(s) }
        guard let n, range.contains(n) else {
            throw ConfigError(
                "\(path): \(key) must be a size (bytes, or a string like \"8MiB\") in \(range.lowerBound)...\(range.upperBound)"
            )
        }
        return n
    }

    func token(name: String, _ v: TOMLValue) throws(ConfigError) -> TokenSpec {
        let key = "tokens.\(name)"
        guard name.utf8.count <= ProtocolLimits.maxIdentifierLength,
            name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) })
        else {
            throw ConfigError("\(path): token name '\(name)' must be ASCII letters, digits, '-', '_' or '.'")
        }
        let t = try table(v, key)
        var hash: Digest?
        var scope: AccessScope?
        var prefixes: [String] = []
        for (k, value) in t {
            switch k {
            case "sha256":
                let s = try string(value, "\(key).sha256")
                guard let d = Digest(hex: s) else {
                    throw ConfigError("\(path): \(key).sha256 must be 64 hex digits (SHA-256 of the secret)")
                }
                hash = d
            case "scope":
                let s = try string(value, "\(key).scope")
                switch s {
                case "read": scope = .read
                case "write": scope = .write
                case "admin": scope = .admin
                default: throw ConfigError("\(path): \(key).scope must be read, write or admin, not '\(s)'")
                }
            case "prefixes":
                guard let a = value.stringArray else {
                    throw ConfigError("\(path): \(key).prefixes must be an array of strings")
                }
                prefixes = a
            default: throw ConfigError("\(path): unknown key \(key).\(k) (known: sha256, scope, prefixes)")
            }
        }
        guard let hash else {
            throw ConfigError("\(path): \(key) needs sha256 = \"<SHA-256 of the secret>\"")
        }
        guard let scope else {
            throw ConfigError("\(path): \(key) needs scope = \"read\" | \"write\" | \"admin\"")
        }
        return TokenSpec(name: name, key: hash, scope: scope, prefixes: prefixes)
    }
}
