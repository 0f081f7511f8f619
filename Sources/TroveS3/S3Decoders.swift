import NIOHTTP1
import TroveCore

/// The decoders of hostile request bytes the S3 listener runs, as plain functions of bytes: the
/// entry points of the fuzz targets (`Fuzz/`, docs/FUZZING.md). The handlers call the same
/// functions (DeleteObjects, CompleteMultipartUpload) or the same types (aws-chunked, SigV4).
public enum S3Decoders {
    /// The secret of the one credential (`fuzz`) that ``authenticate(uri:headers:)`` and the
    /// signed forms of ``awsChunked(_:pieceSize:signed:)`` accept.
    public static let fuzzSecret = "fuzz-secret"
    /// The request time the fuzz decoders assume (2026-01-01T00:00:00Z).
    public static let fuzzNow: Int64 = 1_767_225_600
    static let fuzzAmzDate = "20260101T000000Z"
    static let fuzzScope = "20260101/us-east-1/s3/aws4_request"
    static let fuzzSeed = String(repeating: "0", count: 64)

    /// Decodes an `aws-chunked` body fed in pieces of `pieceSize` bytes. `signed`: every chunk
    /// and the trailer must carry signatures chained from a seed signature of zeros, made with
    /// ``fuzzSecret`` (as ``encodeAWSChunked(_:chunkSize:signed:trailer:)`` writes them).
    /// Returns the data and the trailer lines; throws on bad framing, a bad signature, or a
    /// body that ends before its last chunk.
    public static func awsChunked(_ body: [UInt8], pieceSize: Int, signed: Bool) throws
        -> (data: [UInt8], trailers: [String])
    {
        var decoder = AWSChunkedDecoder(signing: signed ? fuzzSigning : nil)
        var data: [UInt8] = []
        var i = 0
        let step = max(1, pieceSize)
        while i < body.count {
            let end = min(body.count, i + step)
            var failure: (any Error)?
            body[i..<end].withUnsafeBytes { piece in
                do { try decoder.feed(piece) { d in data += d } } catch { failure = error }
            }
            if let failure { throw failure }
            i = end
        }
        guard decoder.isDone else { throw AWSChunkedDecoder.framing("the body ends before its last chunk") }
        return (data, decoder.trailers.map { "\($0.0):\($0.1)" })
    }

    /// An `aws-chunked` body of `data` in chunks of `chunkSize` bytes, signed as
    /// ``awsChunked(_:pieceSize:signed:)`` expects when `signed`, with an optional trailer line
    /// (`x-amz-checksum-crc32:…`).
    public static func encodeAWSChunked(_ data: [UInt8], chunkSize: Int, signed: Bool, trailer: String? = nil)
        -> [UInt8]
    {
        var out: [UInt8] = []
        var previous = fuzzSeed
        let s = fuzzSigning
        var start = 0
        repeat {
            let chunk = Array(data[start..<min(data.count, start + max(1, chunkSize))])
            start += chunk.count
            var line = String(chunk.count, radix: 16)
            if signed {
                let sig = SigV4.chunkSignature(
                    key: s.key, amzDate: s.amzDate, scope: s.scope, previous: previous,
                    chunkSHA256: SHA256.hash(chunk)
                ).hex
                line += ";chunk-signature=" + sig
                previous = sig
            }
            out += Array((line + "\r\n").utf8)
            if !chunk.isEmpty { out += chunk + [0x0D, 0x0A] }
            if chunk.isEmpty { break }
        } while true
        if let trailer {
            out += Array((trailer + "\r\n").utf8)
            if signed {
                let sig = SigV4.trailerSignature(
                    key: s.key, amzDate: s.amzDate, scope: s.scope, previous: previous, trailer: trailer + "\n")
                out += Array("x-amz-trailer-signature:\(sig.hex)\r\n".utf8)
            }
        }
        out += [0x0D, 0x0A]
        return out
    }

    /// The parts (number, ETag without quotes) a CompleteMultipartUpload body lists.
    public static func completeMultipartParts(_ body: [UInt8]) throws -> [(number: Int, etag: String)] {
        try completeParts(body)
    }

    /// The keys a DeleteObjects body lists (at most 1000) and its `Quiet` flag.
    public static func deleteObjects(_ body: [UInt8]) throws -> (keys: [String], quiet: Bool) {
        try deleteKeys(body)
    }

    /// Parses a request head (`uri`, header lines `Name: value`) and checks its SigV4 signature
    /// (header or presigned query) against one credential, `fuzz` with ``fuzzSecret``, at
    /// ``fuzzNow``. Returns the authenticated access key id; throws what the listener answers.
    public static func authenticate(uri: String, headers: [(String, String)]) throws -> String? {
        let request = try request(uri: uri, headers: headers)
        var config = S3Config(host: "127.0.0.1", port: 0)
        config.credentials = [S3Credential(accessKeyId: "fuzz", secretAccessKey: fuzzSecret, access: .admin)]
        return try S3Authenticator(config: config).authenticate(request, now: fuzzNow).principal.name
    }

    /// Header lines that sign `GET uri` for ``authenticate(uri:headers:)`` (a valid seed).
    public static func signedHeaders(uri: String) throws -> [(String, String)] {
        var headers = [
            ("host", "127.0.0.1:9000"), ("x-amz-content-sha256", "UNSIGNED-PAYLOAD"), ("x-amz-date", fuzzAmzDate),
        ]
        let names = headers.map(\.0)
        let canonical = SigV4.canonicalRequest(
            try request(uri: uri, headers: headers), signedHeaders: names, payloadHash: "UNSIGNED-PAYLOAD",
            dropSignatureParameter: false)
        let signature = SigV4.sign(
            key: fuzzSigning.key,
            SigV4.stringToSign(amzDate: fuzzAmzDate, scope: fuzzScope, canonicalRequest: canonical))
        headers.append(
            (
                "authorization",
                "\(SigV4.algorithm) Credential=fuzz/\(fuzzScope), SignedHeaders=\(names.joined(separator: ";")), "
                    + "Signature=\(signature.hex)"
            ))
        return headers
    }

    /// A request head as NIO's HTTP parser would deliver it: the target and header names are
    /// refused unless they are what HTTP/1.1 allows (visible ASCII; names are tokens), values
    /// unless free of CR, LF and NUL.
    static func request(uri: String, headers: [(String, String)]) throws(S3Error) -> S3Request {
        func token(_ c: UInt8) -> Bool {
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || Array("!#$%&'*+-.^_`|~".utf8).contains(c)
        }
        guard !uri.isEmpty, uri.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
            throw .invalidRequest("the request target must be visible ASCII")
        }
        var h = HTTPHeaders()
        for (n, v) in headers {
            guard !n.isEmpty, n.utf8.allSatisfy(token), !v.utf8.contains(where: { $0 == 0 || $0 == 0x0A || $0 == 0x0D })
            else { throw .invalidRequest("a header line is not what HTTP/1.1 allows") }
            h.add(name: n, value: v)
        }
        return try S3Request(head: HTTPRequestHead(version: .http1_1, method: .GET, uri: uri, headers: h), requestID: "fuzz")
    }

    static var fuzzSigning: ChunkSigning {
        ChunkSigning(
            key: SigV4.signingKey(secret: fuzzSecret, date: "20260101", region: "us-east-1", service: "s3"),
            amzDate: fuzzAmzDate, scope: fuzzScope, seed: fuzzSeed)
    }

    // MARK: The request documents (used by the handlers)

    /// CompleteMultipartUpload's `<Part><PartNumber>N</PartNumber><ETag>E</ETag></Part>` list.
    static func completeParts(_ body: [UInt8]) throws(S3Error) -> [(number: Int, etag: String)] {
        let xml = String(decoding: body, as: UTF8.self)
        var parts: [(number: Int, etag: String)] = []
        for rec in try XMLScanner.records(xml, container: "Part", fields: ["PartNumber", "ETag"]) {
            guard let n = rec["PartNumber"].flatMap({ Int($0) }), let e = rec["ETag"] else {
                throw S3Error.malformedXML("each <Part> needs <PartNumber> and <ETag>")
            }
            parts.append((n, S3Handler.unquote(e)))
        }
        guard !parts.isEmpty else { throw S3Error.malformedXML("CompleteMultipartUpload lists no parts") }
        return parts
    }

    /// DeleteObjects' `<Object><Key>K</Key></Object>` list (≤ 1000) and `<Quiet>`.
    static func deleteKeys(_ body: [UInt8]) throws(S3Error) -> (keys: [String], quiet: Bool) {
        let xml = String(decoding: body, as: UTF8.self)
        let records = try XMLScanner.records(xml, container: "Object", fields: ["Key"])
        guard records.count <= 1000 else { throw S3Error.malformedXML("DeleteObjects takes at most 1000 keys") }
        var keys: [String] = []
        for rec in records {
            guard let k = rec["Key"] else { throw S3Error.malformedXML("an <Object> lacks its <Key>") }
            keys.append(k)
        }
        return (keys, try XMLScanner.value(xml, "Quiet")?.lowercased() == "true")
    }
}
