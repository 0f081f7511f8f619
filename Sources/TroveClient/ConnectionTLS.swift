import NIOCore
import NIOSSL
import Synchronization
import TroveTLS

/// The TLS end of a client connection: the handlers added in front of the frame codec when the
/// address asks for TLS, and the translation of a failed handshake into ``ClientError/tls(detail:)``.
enum ConnectionTLS {
    /// The client context for `address`, or nil for plaintext; a CA file that cannot be read is
    /// a usage error.
    static func context(for address: ServerAddress) throws(ClientError) -> NIOSSLContext? {
        guard address.tls else { return nil }
        do { return try ClientTLS.context(caFile: address.caFile) } catch {
            throw .usage(detail: error.description)
        }
    }

    /// Adds the TLS handler and the error translator to a new channel's pipeline.
    static func addHandlers(
        _ context: NIOSSLContext, address: ServerAddress, to pipeline: ChannelPipeline.SynchronousOperations
    ) throws {
        try pipeline.addHandler(ClientTLS.handler(context: context, host: address.host))
        try pipeline.addHandler(TLSErrorTranslator(address: address))
    }
}

/// Turns NIOSSL's handshake errors into ``ClientError/tls(detail:)`` in the user's words; for a
/// certificate that failed verification it looks at the certificate the server presented to say
/// whether it expired, is not yet valid, or is signed by a CA the client does not trust.
final class TLSErrorTranslator: ChannelInboundHandler {
    typealias InboundIn = NIOAny
    typealias InboundOut = NIOAny

    private let address: ServerAddress

    init(address: ServerAddress) {
        self.address = address
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let failure = ClientTLS.classify(error) else {
            context.fireErrorCaught(error)
            return
        }
        var detail = failure.explain(address: address.description, host: address.host, caFile: address.caFile)
        if failure == .untrusted,
            let presented = try? context.pipeline.syncOperations.handler(type: NIOSSLClientHandler.self)
                .peerCertificate
        {
            detail = ClientTLS.diagnoseUntrusted(
                presented: presented, address: address.description, caFile: address.caFile)
        }
        context.fireErrorCaught(ClientError.tls(detail: detail))
    }
}
