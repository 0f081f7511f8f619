import NIOSSL
import PostgresNIO

extension PostgresCatalogConfig.TLSMode {
    /// postgres-nio's TLS setting for this mode, with its context (made once per catalog: loading
    /// a trust store is not free). A CA file that cannot be read is an error naming it.
    func connectionTLS() throws(PostgresCatalogError) -> PostgresConnection.Configuration.TLS {
        var config = TLSConfiguration.makeClientConfiguration()
        let caFile: String?
        switch self {
        case .disable: return .disable
        case .require:
            config.certificateVerification = .none
            caFile = nil
        case .verifyCA(let file):
            config.certificateVerification = .noHostnameVerification
            caFile = file
        case .verifyFull(let file):
            config.certificateVerification = .fullVerification
            caFile = file
        }
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else {
                    throw PostgresCatalogError(.other, "cannot read the catalog's sslrootcert \(caFile): no PEM certificate in it")
                }
                config.trustRoots = .certificates(roots)
            } catch let e as PostgresCatalogError {
                throw e
            } catch {
                throw PostgresCatalogError(.other, "cannot read the catalog's sslrootcert \(caFile): \(error)")
            }
        }
        do { return .require(try NIOSSLContext(configuration: config)) } catch {
            throw PostgresCatalogError(.other, "cannot set up TLS to PostgreSQL: \(error)")
        }
    }
}

extension PostgresCatalogError {
    /// A connection attempt that failed on TLS (the server has none, or its certificate did not
    /// verify), as a non-retryable error that says which setting to look at; nil for other failures.
    static func tls(_ error: any Error, _ config: PostgresCatalogConfig) -> PostgresCatalogError? {
        guard config.tls != .disable, let e = error as? PSQLError else { return nil }
        let at = "\(config.host):\(config.port)"
        if e.code == .sslUnsupported {
            return PostgresCatalogError(
                .other, "PostgreSQL at \(at) does not offer TLS, which the catalog url's sslmode requires")
        }
        guard let cause = e.underlying, cause is NIOSSLError || cause is NIOSSLExtraError || cause is BoringSSLError else { return nil }
        return PostgresCatalogError(
            .other,
            "TLS to PostgreSQL at \(at) failed (\(cause)): check the catalog url's sslmode and sslrootcert "
                + "(the CA that signed the server's certificate; verify-full also needs the certificate to name the host)")
    }
}
