import Logging
import TroveS3
import TroveServer
import TroveStore
import TroveTLS

/// Checks the S3 listener's settings: its address parses, and without tokens it stays on
/// loopback unless --insecure (the binary protocol's rule).
func validateS3(_ cfg: ServerConfig) throws(ConfigError) {
    guard let listen = cfg.s3Listen else { return }
    let l = try ServerConfig.parseListen(listen)
    if cfg.tokens.isEmpty && !ServerConfig.isLoopback(l.host) && !cfg.insecure {
        throw ConfigError(
            "refusing to serve S3 on \(l.host) without tokens: anyone who can reach it could read and overwrite "
                + "buckets. Add [tokens.NAME] entries (see `troved token new`), listen on 127.0.0.1, or pass --insecure.")
    }
    try cfg.requireTLSOffLoopback(host: l.host, listener: "S3")
}

/// The S3 listener configured by `cfg` (nil when `[s3] listen` / `--s3-listen` is not set).
/// Each token is an S3 credential: access key id = token name, secret derived from the
/// SHA-256 of the token's secret that the config holds (docs/S3.md).
func makeS3Server(
    _ cfg: ServerConfig, store: Store, logger: Logger, tls: ServerCertificates?, portFile: String?
) throws -> S3Server? {
    guard let listen = cfg.s3Listen else { return nil }
    let l = try ServerConfig.parseListen(listen)
    var s3 = S3Config(host: l.host, port: l.port)
    s3.openAccess = cfg.tokens.isEmpty
    s3.workerThreads = cfg.workerThreads
    s3.tls = tls
    s3.writeOnceBuckets = cfg.s3WriteOnce
    s3.multipartMaxAgeSeconds = Int64(cfg.s3MultipartMaxAge)
    s3.idleTimeoutSeconds = Int64(cfg.s3IdleTimeout)
    s3.headerTimeoutSeconds = Int64(cfg.s3HeaderTimeout)
    s3.minBodyRate = cfg.s3MinBodyRate
    s3.credentials = cfg.tokens.map { t in
        let access = S3Access(rawValue: Int(t.scope.rawValue)) ?? .read
        return S3Credential(
            accessKeyId: t.name, secretAccessKey: S3Credential.secret(fromKey: t.key), access: access, prefixes: t.prefixes)
    }
    return S3Server(
        config: s3, store: store, logger: logger,
        onReady: { host, port in
            if let portFile { writePortFile(portFile, "\(host):\(port)\n") }
        })
}
