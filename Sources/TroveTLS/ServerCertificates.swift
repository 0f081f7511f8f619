import NIOCore
import NIOSSL
import Synchronization

#if canImport(Glibc)
    import Glibc
#endif

/// A listener's TLS 1.3 certificate chain and private key, read from PEM files, that can be read
/// again (troved does on SIGHUP). A reload changes what new connections are offered; connections
/// already open keep the session they negotiated, so none is dropped.
public final class ServerCertificates: Sendable {
    /// The certificate chain's PEM file (the server's certificate first, then intermediates).
    public let certificatePath: String
    /// The private key's PEM file.
    public let keyPath: String
    /// The context new connections use and when its certificate stops being valid.
    private let loaded: Mutex<(context: NIOSSLContext, notValidAfter: Int)>

    /// Reads `certificate` and `key`; throws when either cannot be read or they do not form a
    /// usable TLS 1.3 server identity.
    public init(certificate: String, key: String) throws(TLSSetupError) {
        certificatePath = certificate
        keyPath = key
        loaded = Mutex(try Self.load(certificate: certificate, key: key))
    }

    /// Reads the files again. On failure the previous certificate stays in use and the error says why.
    /// Returns when the new certificate stops being valid (seconds since the epoch).
    @discardableResult
    public func reload() throws(TLSSetupError) -> Int {
        let fresh = try Self.load(certificate: certificatePath, key: keyPath)
        loaded.withLock { $0 = fresh }
        return fresh.notValidAfter
    }

    /// When the certificate in use stops being valid (seconds since the epoch).
    public var notValidAfter: Int { loaded.withLock { $0.notValidAfter } }

    /// The context for a connection accepted now.
    var context: NIOSSLContext { loaded.withLock { $0.context } }

    static func load(certificate: String, key: String) throws(TLSSetupError) -> (
        context: NIOSSLContext, notValidAfter: Int
    ) {
        let chain: [NIOSSLCertificate]
        do { chain = try NIOSSLCertificate.fromPEMFile(certificate) } catch {
            throw TLSSetupError(
                "cannot read the TLS certificate \(certificate) (\(describe(error))): it must be a readable PEM file "
                    + "holding the server's certificate, then any intermediate certificates")
        }
        guard let leaf = chain.first else {
            throw TLSSetupError("the TLS certificate file \(certificate) holds no PEM certificate")
        }
        let privateKey: NIOSSLPrivateKey
        do { privateKey = try NIOSSLPrivateKey(file: key, format: .pem) } catch {
            throw TLSSetupError(
                "cannot read the TLS private key \(key) (\(describe(error))): it must be a readable, unencrypted "
                    + "PEM private key (RSA, ECDSA or Ed25519)")
        }
        var config = TLSConfiguration.makeServerConfiguration(
            certificateChain: chain.map { .certificate($0) }, privateKey: .privateKey(privateKey))
        config.minimumTLSVersion = .tlsv13
        do {
            return (try NIOSSLContext(configuration: config), Int(leaf.notValidAfter))
        } catch {
            throw TLSSetupError(
                "the TLS key \(key) does not fit the certificate \(certificate) (\(describe(error))): "
                    + "give the private key the certificate was issued for")
        }
    }
}

/// A TLS file or setting that cannot be used; the message names the file and what to do.
public struct TLSSetupError: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}

/// NIOSSL's and BoringSSL's errors in a line (an `errno` from the file system as its text).
func describe(_ error: any Error) -> String {
    if let e = error as? IOError { return e.description }
    if case .handshakeFailed(let inner) = error as? NIOSSLError { return "\(inner)" }
    return "\(error)"
}
