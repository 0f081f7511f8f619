import TroveCore

/// Decodes an `aws-chunked` body (`Content-Encoding: aws-chunked`): `HEX[;chunk-signature=SIG]`
/// CRLF, data, CRLF, …, a zero-size chunk, then trailer lines (`x-amz-checksum-…:VALUE`,
/// `x-amz-trailer-signature:SIG`) and an empty line. With `signing`, every chunk's chained
/// signature and the trailer's are verified; a mismatch stops the upload.
struct AWSChunkedDecoder {
    enum Phase { case header, data(Int), dataCR, dataLF, trailer, done }

    private(set) var phase = Phase.header
    private var line: [UInt8] = []
    private var signing: ChunkSigning?
    private var previous: String
    private var chunkSignature: String?
    private let chunkHash = SHA256()
    /// Trailer headers, lowercased names.
    private(set) var trailers: [(String, String)] = []
    static let maxLine = 8 << 10

    init(signing: ChunkSigning?) {
        self.signing = signing
        previous = signing?.seed ?? ""
    }

    var isDone: Bool { if case .done = phase { return true } else { return false } }

    /// Feeds raw body bytes; `emit` receives decoded data in order.
    mutating func feed(
        _ input: UnsafeRawBufferPointer, _ emit: (UnsafeRawBufferPointer) throws(S3Error) -> Void
    ) throws(S3Error) {
        var i = 0
        while i < input.count {
            switch phase {
            case .data(let remaining):
                let n = min(remaining, input.count - i)
                let slice = UnsafeRawBufferPointer(rebasing: input[i..<i + n])
                if signing != nil { chunkHash.update(slice) }
                try emit(slice)
                i += n
                phase = remaining - n == 0 ? .dataCR : .data(remaining - n)
            case .dataCR:
                guard input[i] == 0x0D else { throw Self.framing("a chunk's data is not followed by CRLF") }
                i += 1
                phase = .dataLF
            case .dataLF:
                guard input[i] == 0x0A else { throw Self.framing("a chunk's data is not followed by CRLF") }
                i += 1
                try verifyChunk()
                phase = .header
            case .header, .trailer:
                let b = input[i]
                i += 1
                if b != 0x0A {
                    line.append(b)
                    guard line.count <= Self.maxLine else { throw Self.framing("a chunk header line is too long") }
                    continue
                }
                guard line.last == 0x0D else { throw Self.framing("chunk lines must end with CRLF") }
                line.removeLast()
                let text = String(decoding: line, as: UTF8.self)
                line.removeAll(keepingCapacity: true)
                if case .header = phase { try header(text) } else { try trailer(text) }
            case .done:
                throw Self.framing("bytes after the end of the aws-chunked body")
            }
        }
    }

    private mutating func header(_ text: String) throws(S3Error) {
        let parts = text.split(separator: ";", maxSplits: 1)
        guard let sizeText = parts.first, let size = Int(sizeText, radix: 16), size >= 0, size <= 1 << 30 else {
            throw Self.framing("bad chunk size line '\(text.prefix(40))'")
        }
        chunkSignature = nil
        if parts.count == 2 {
            let ext = parts[1]
            guard ext.hasPrefix("chunk-signature=") else { throw Self.framing("unknown chunk extension") }
            chunkSignature = String(ext.dropFirst("chunk-signature=".count))
        }
        if signing != nil && chunkSignature == nil { throw Self.framing("a signed aws-chunked body needs chunk signatures") }
        if size == 0 {
            try verifyChunk()
            phase = .trailer
        } else {
            phase = .data(size)
        }
    }

    private mutating func verifyChunk() throws(S3Error) {
        guard let s = signing else { return }
        let expected = SigV4.chunkSignature(
            key: s.key, amzDate: s.amzDate, scope: s.scope, previous: previous, chunkSHA256: chunkHash.finalize())
        guard let sent = chunkSignature, SigV4.matches(expected, sent) else {
            throw .signatureMismatch("an aws-chunked chunk signature does not match; nothing was stored")
        }
        previous = sent.lowercased()
    }

    private mutating func trailer(_ text: String) throws(S3Error) {
        if text.isEmpty {
            if let s = signing, !trailers.isEmpty {
                guard let sent = trailers.first(where: { $0.0 == "x-amz-trailer-signature" })?.1 else {
                    throw .signatureMismatch("a signed trailer needs x-amz-trailer-signature")
                }
                let canonical = trailers.filter { $0.0 != "x-amz-trailer-signature" }.map { "\($0.0):\($0.1)\n" }.joined()
                let expected = SigV4.trailerSignature(
                    key: s.key, amzDate: s.amzDate, scope: s.scope, previous: previous, trailer: canonical)
                guard SigV4.matches(expected, sent) else {
                    throw .signatureMismatch("the aws-chunked trailer signature does not match; nothing was stored")
                }
            }
            phase = .done
            return
        }
        guard let colon = text.firstIndex(of: ":"), trailers.count < 16 else {
            throw Self.framing("bad trailer line '\(text.prefix(40))'")
        }
        trailers.append((text[..<colon].lowercased(), String(text[text.index(after: colon)...].trimmingSpaces)))
    }

    static func framing(_ m: String) -> S3Error {
        S3Error(.badRequest, "IncompleteBody", "aws-chunked framing: \(m)", close: true)
    }
}
