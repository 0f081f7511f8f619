import NIOCore
import NIOHTTP1

/// One client connection: the inbound request parts and the outbound writer, with helpers to
/// read a request's body (streamed into a sink, or small into memory) and write responses.
final class S3Connection {
    private var inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>.AsyncIterator
    let outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    /// Whether the current request's `.end` was read.
    private(set) var bodyDone = true
    /// Whether the current request's head asked for `100 Continue`.
    private var expectsContinue = false
    private var head: HTTPRequestHead?
    /// The inbound stream failed (an HTTP parse error): NIO's error handler has answered 400 if
    /// it could and the channel is closing, so nothing more may be written.
    private(set) var broken = false

    init(
        inbound: NIOAsyncChannelInboundStream<HTTPServerRequestPart>,
        outbound: NIOAsyncChannelOutboundWriter<HTTPServerResponsePart>
    ) {
        self.inbound = inbound.makeAsyncIterator()
        self.outbound = outbound
    }

    /// The next request head; nil when the client closed. Stray body parts are skipped.
    func nextHead() async throws -> HTTPRequestHead? {
        while let part = try await nextPart() {
            if case .head(let h) = part {
                head = h
                bodyDone = false
                expectsContinue = h.headers.first(name: "expect")?.lowercased() == "100-continue"
                return h
            }
        }
        return nil
    }

    private func nextPart() async throws -> HTTPServerRequestPart? {
        do { return try await inbound.next() } catch {
            broken = true
            throw error
        }
    }

    private func sendContinueIfAsked() async throws {
        guard expectsContinue, let head else { return }
        expectsContinue = false
        try await outbound.write(.head(HTTPResponseHead(version: head.version, status: .continue)))
    }

    /// The next piece of the body, nil at its end. A connection that ends first is an
    /// `IncompleteBody` error.
    func nextBodyPart() async throws -> ByteBuffer? {
        guard !bodyDone else { return nil }
        try await sendContinueIfAsked()
        while true {
            guard let part = try await nextPart() else {
                throw S3Error.incompleteBody("the connection ended before the body was complete; nothing was stored")
            }
            switch part {
            case .body(let b): return b
            case .end:
                bodyDone = true
                return nil
            case .head:
                throw S3Error.incompleteBody("a request head arrived inside a body")
            }
        }
    }

    /// The whole body in memory, refused past `limit` bytes.
    func readSmallBody(limit: Int) async throws -> ByteBuffer {
        var all = ByteBuffer()
        while var b = try await nextBodyPart() {
            guard all.readableBytes + b.readableBytes <= limit else {
                throw S3Error(.badRequest, "MaxMessageLengthExceeded", "the request body is larger than \(limit) bytes", close: true)
            }
            all.writeBuffer(&b)
        }
        return all
    }

    /// Reads and ignores a body of at most `limit` bytes (requests that carry none).
    func drainBody(limit: Int = 64 << 10) async throws {
        guard !bodyDone else { return }
        if expectsContinue { return }  // the client waits for us: nothing to drain
        _ = try await readSmallBody(limit: limit)
    }

    /// Sends a complete response.
    func respond(
        _ status: HTTPResponseStatus, headers: HTTPHeaders = HTTPHeaders(), body: ByteBuffer? = nil,
        contentLength: UInt64? = nil
    ) async throws {
        var h = headers
        let length = contentLength ?? UInt64(body?.readableBytes ?? 0)
        if !h.contains(name: "content-length") { h.replaceOrAdd(name: "content-length", value: String(length)) }
        try await outbound.write(.head(HTTPResponseHead(version: head?.version ?? .http1_1, status: status, headers: h)))
        if let body, body.readableBytes > 0 { try await outbound.write(.body(.byteBuffer(body))) }
        try await outbound.write(.end(nil))
    }

    /// Starts a streamed response (then `writeBody`… and `end`).
    func startResponse(_ status: HTTPResponseStatus, headers: HTTPHeaders) async throws {
        try await outbound.write(.head(HTTPResponseHead(version: head?.version ?? .http1_1, status: status, headers: headers)))
    }

    func writeBody(_ b: ByteBuffer) async throws { try await outbound.write(.body(.byteBuffer(b))) }

    func end() async throws { try await outbound.write(.end(nil)) }
}
