import Foundation
import NIOCore
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// The client's side of TLS 1.3: a context per trust setting (made once per process: loading the
/// system's trust store is not free), the handler for one connection, and what a failed handshake
/// means in the user's words.
public enum ClientTLS {
    private static let contexts = Mutex<[String: NIOSSLContext]>([:])

    /// The context trusting the CA certificates in `caFile` (PEM), or the system's trust store
    /// when nil. Hostname verification is on.
    public static func context(caFile: String?) throws(TLSSetupError) -> NIOSSLContext {
        let key = caFile ?? ""
        if let c = contexts.withLock({ $0[key] }) { return c }
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .fullVerification
        if let caFile {
            do {
                let roots = try NIOSSLCertificate.fromPEMFile(caFile)
                guard !roots.isEmpty else { throw TLSSetupError("no PEM certificate in it") }
                config.trustRoots = .certificates(roots)
            } catch {
                throw TLSSetupError(
                    "cannot read the CA certificate file \(caFile) (\(describe(error))): --tls-ca / TROVE_TLS_CA "
                        + "must name a PEM file holding the certificate of the CA that signed troved's certificate")
            }
        } else {
            config.trustRoots = .default
        }
        let context: NIOSSLContext
        do { context = try NIOSSLContext(configuration: config) } catch {
            throw TLSSetupError("cannot set up TLS: \(describe(error))")
        }
        contexts.withLock { $0[key] = context }
        return context
    }

    /// A context that accepts any certificate, to read what a server presents when verification
    /// failed (never used to send data).
    static func inspectionContext() throws -> NIOSSLContext {
        var config = TLSConfiguration.makeClientConfiguration()
        config.minimumTLSVersion = .tlsv13
        config.certificateVerification = .none
        return try NIOSSLContext(configuration: config)
    }

    /// The handler for a connection to `host`: the certificate must name it. A DNS name is also
    /// sent as SNI; an IP address is not (TLS forbids it) and is checked against the certificate's
    /// IP addresses instead.
    public static func handler(context: NIOSSLContext, host: String) throws -> NIOSSLClientHandler {
        try NIOSSLClientHandler(context: context, serverHostname: isIPAddress(host) ? nil : host)
    }

    /// Whether `host` is an IPv4 or IPv6 literal.
    static func isIPAddress(_ host: String) -> Bool {
        var v4 = in_addr()
        var v6 = in6_addr()
        return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
    }

    /// What went wrong in a TLS handshake that failed with `error`, for `address`, when it is a
    /// TLS error (nil otherwise). ``HandshakeFailure/untrusted`` asks for ``diagnoseUntrusted``.
    public static func classify(_ error: any Error) -> HandshakeFailure? {
        if let e = error as? NIOSSLExtraError, e == .failedToValidateHostname {
            return .hostnameMismatch
        }
        guard let e = error as? NIOSSLError else { return nil }
        switch e {
        case .handshakeFailed(let inner):
            let text = "\(inner)"
            if text.contains("CERTIFICATE_VERIFY_FAILED") { return .untrusted }
            if text.contains("WRONG_VERSION_NUMBER") || text.contains("RECORD") || text.contains("PACKET_LENGTH") {
                return .notTLS
            }
            if text.contains("PROTOCOL_VERSION") || text.contains("UNSUPPORTED_PROTOCOL") {
                return .oldProtocol
            }
            return .other(text)
        case .uncleanShutdown:
            return .closed
        default:
            return .other("\(e)")
        }
    }

    /// How a TLS handshake failed.
    public enum HandshakeFailure: Sendable, Equatable {
        /// The certificate chain did not verify (untrusted CA, expired, not yet valid).
        case untrusted
        /// The certificate does not name the host connected to.
        case hostnameMismatch
        /// The server answered with something that is not TLS.
        case notTLS
        /// The server does not speak TLS 1.3.
        case oldProtocol
        /// The server closed the connection during the handshake.
        case closed
        /// Anything else, in BoringSSL's words.
        case other(String)

        /// The user's words for the failure talking to `address` (`host`), `caFile` the trust setting.
        public func explain(address: String, host: String, caFile: String?) -> String {
            let trust = caFile.map { "the CA in \($0)" } ?? "the system's trust store"
            switch self {
            case .untrusted:
                return "troved at \(address) presented a TLS certificate that \(trust) does not trust; "
                    + "pass --tls-ca FILE (or set TROVE_TLS_CA) with the CA that signed it"
            case .hostnameMismatch:
                return "troved at \(address) presented a TLS certificate that is not valid for the name \(host) "
                    + "(hostname verification); connect with a name the certificate lists, or reissue it with "
                    + "\(host) in its subjectAltName"
            case .notTLS:
                return "\(address) did not answer in TLS: troved there has no TLS on this port; drop --tls "
                    + "(and tls://) or ask its operator for the TLS address"
            case .oldProtocol:
                return "\(address) does not speak TLS 1.3, which trove requires"
            case .closed:
                return "\(address) closed the connection during the TLS handshake; check that it is troved's "
                    + "TLS port"
            case .other(let detail):
                return "the TLS handshake with \(address) failed: \(detail)"
            }
        }
    }

    /// Why the certificate `presented` (what the server sent, read without verification) failed
    /// verification: expired, not yet valid, or not signed by a trusted CA.
    public static func diagnoseUntrusted(
        presented: NIOSSLCertificate, address: String, caFile: String?, now: Date = Date()
    ) -> String {
        let trust = caFile.map { "the CA in \($0)" } ?? "the system's trust store"
        let after = Date(timeIntervalSince1970: TimeInterval(presented.notValidAfter))
        let before = Date(timeIntervalSince1970: TimeInterval(presented.notValidBefore))
        let format = ISO8601DateFormatter()
        if now > after {
            return "troved at \(address) presented a TLS certificate that expired on \(format.string(from: after)); "
                + "its operator must renew it (then `kill -HUP` troved to load it)"
        }
        if now < before {
            return "troved at \(address) presented a TLS certificate that is not valid before "
                + "\(format.string(from: before)); check the clocks of both machines"
        }
        return "troved at \(address) presented a TLS certificate that \(trust) does not trust (not signed by a "
            + "trusted CA); pass --tls-ca FILE (or set TROVE_TLS_CA) with the CA that signed it"
    }
}
