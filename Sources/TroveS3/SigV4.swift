import TroveCore

/// AWS Signature Version 4 arithmetic (header and presigned-query forms, and the chained
/// signatures of `aws-chunked` bodies).
enum SigV4 {
    static let algorithm = SigV4Signing.algorithm
    static let emptySHA256 = SigV4Signing.emptySHA256

    /// What the `Authorization` header or the presigned query carries.
    struct Signed {
        var accessKey: String
        var date: String  // yyyymmdd of the credential scope
        var region: String
        var service: String
        var signedHeaders: [String]
        var signature: String
        var scope: String { "\(date)/\(region)/\(service)/aws4_request" }
    }

    /// Parses `Credential=AKID/DATE/REGION/s3/aws4_request`.
    static func parseCredential(_ text: String) throws(S3Error) -> (String, String, String, String) {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        guard parts.count >= 5, parts.last == "aws4_request" else {
            throw S3Error(.badRequest, "AuthorizationHeaderMalformed", "the credential '\(text)' is not KEY/DATE/REGION/SERVICE/aws4_request")
        }
        // An access key id may not contain '/', so the last four parts are the scope.
        let n = parts.count
        return (parts[0..<(n - 4)].joined(separator: "/"), parts[n - 4], parts[n - 3], parts[n - 2])
    }

    /// Parses an `Authorization: AWS4-HMAC-SHA256 Credential=…, SignedHeaders=…, Signature=…` value.
    static func parseHeader(_ value: String) throws(S3Error) -> Signed {
        let body = value.dropFirst(algorithm.count)
        var fields: [String: String] = [:]
        for item in body.split(separator: ",") {
            let t = item.trimmingSpaces
            guard let eq = t.firstIndex(of: "=") else { continue }
            fields[String(t[..<eq])] = String(t[t.index(after: eq)...])
        }
        guard let cred = fields["Credential"], let sh = fields["SignedHeaders"], let sig = fields["Signature"] else {
            throw S3Error(
                .badRequest, "AuthorizationHeaderMalformed", "the Authorization header needs Credential, SignedHeaders and Signature")
        }
        let (key, date, region, service) = try parseCredential(cred)
        return Signed(
            accessKey: key, date: date, region: region, service: service,
            signedHeaders: sh.split(separator: ";").map { $0.lowercased() }, signature: sig.lowercased())
    }

    static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        SigV4Signing.signingKey(secret: secret, date: date, region: region, service: service)
    }

    static func sign(key: [UInt8], _ stringToSign: String) -> Digest { SigV4Signing.sign(key: key, stringToSign) }

    static func sha256Hex(_ s: String) -> String { SigV4Signing.sha256Hex(s) }

    /// The canonical request of SigV4 for `request`.
    static func canonicalRequest(
        _ r: S3Request, signedHeaders: [String], payloadHash: String, dropSignatureParameter: Bool
    ) -> String {
        var pairs: [(String, String)] = []
        for item in r.rawQuery.split(separator: "&") where !item.isEmpty {
            let k: Substring
            let v: Substring
            if let eq = item.firstIndex(of: "=") {
                k = item[..<eq]
                v = item[item.index(after: eq)...]
            } else {
                k = item
                v = ""
            }
            let key = URIEncoding.decode(k) ?? String(k)
            if dropSignatureParameter && key == "X-Amz-Signature" { continue }
            pairs.append((key, URIEncoding.decode(v) ?? String(v)))
        }
        return SigV4Signing.canonicalRequest(
            method: r.head.method.rawValue, decodedPath: URIEncoding.decode(Substring(r.rawPath)) ?? r.rawPath,
            canonicalQuery: SigV4Signing.canonicalQuery(pairs), signedHeaders: signedHeaders,
            headers: { r.head.headers[$0] }, payloadHash: payloadHash)
    }

    static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        SigV4Signing.stringToSign(amzDate: amzDate, scope: scope, canonicalRequest: canonicalRequest)
    }

    /// The signature of one `aws-chunked` chunk, chained from the previous one.
    static func chunkSignature(
        key: [UInt8], amzDate: String, scope: String, previous: String, chunkSHA256: Digest
    ) -> Digest {
        sign(
            key: key,
            "AWS4-HMAC-SHA256-PAYLOAD\n\(amzDate)\n\(scope)\n\(previous)\n\(emptySHA256)\n\(chunkSHA256.hex)")
    }

    /// The signature of an `aws-chunked` trailer.
    static func trailerSignature(
        key: [UInt8], amzDate: String, scope: String, previous: String, trailer: String
    ) -> Digest {
        sign(key: key, "AWS4-HMAC-SHA256-TRAILER\n\(amzDate)\n\(scope)\n\(previous)\n\(sha256Hex(trailer))")
    }

    /// Constant-time comparison of a computed signature with the hex one a client sent.
    static func matches(_ computed: Digest, _ sent: String) -> Bool {
        guard let d = Digest(hex: sent) else { return false }
        return HMACSHA256.equal(computed, d)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s = s.dropFirst() }
        while let l = s.last, l == " " || l == "\t" { s = s.dropLast() }
        return s
    }
}
