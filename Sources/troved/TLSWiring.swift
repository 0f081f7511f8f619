import Foundation
import Logging
import ServiceLifecycle
import TroveServer
import TroveTLS
import UnixSignals

/// The certificate both listeners serve, read from `[tls] cert` / `key` (nil when TLS is off).
func loadCertificates(_ cfg: ServerConfig, logger: Logger) throws(TLSSetupError) -> ServerCertificates? {
    guard let cert = cfg.tlsCertificate, let key = cfg.tlsKey else { return nil }
    let certificates = try ServerCertificates(certificate: cert, key: key)
    logExpiry(certificates.notValidAfter, logger: logger, message: "TLS 1.3 on")
    return certificates
}

/// Logs when the certificate stops being valid (a warning once it has or within 14 days).
private func logExpiry(_ notValidAfter: Int, logger: Logger, message: Logger.Message) {
    let until = Date(timeIntervalSince1970: TimeInterval(notValidAfter))
    let metadata: Logger.Metadata = ["valid_until": "\(ISO8601DateFormatter().string(from: until))"]
    if until.timeIntervalSinceNow < 14 * 86_400 {
        logger.warning("\(message); the TLS certificate expires soon or has expired: renew it", metadata: metadata)
    } else {
        logger.notice(message, metadata: metadata)
    }
}

/// Reads the certificate and key again on each SIGHUP: new connections get the new certificate,
/// open ones keep theirs. A file that does not load leaves the previous certificate in use.
/// `hangups` is made before troved reports that it listens, so that no SIGHUP finds the default
/// action (which would end the process).
struct CertificateReloader: Service {
    let certificates: ServerCertificates
    let hangups: UnixSignalsSequence
    let logger: Logger

    func run() async throws {
        for await _ in hangups.cancelOnGracefulShutdown() {
            do {
                logExpiry(try certificates.reload(), logger: logger, message: "reloaded the TLS certificate")
            } catch {
                logger.error(
                    "TLS certificate reload failed; still serving the previous certificate",
                    metadata: ["error": "\(error)"])
            }
        }
    }
}
