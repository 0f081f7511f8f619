import TroveCore

/// AWS Signature Version 4 arithmetic (header and presigned-query forms, and the chained
/// signatures of `aws-chunked` bodies).
enum SigV4 {
    static let algorithm = "AWS4-HMAC-SHA256"
    static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

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

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        var k = Array(("AWS4" + secret).utf8)
        for part in [date, region, service, "aws4_request"] { k = HMACSHA256.mac(key: k, message: Array(part.utf8)).bytes }
        return k
    }

    static func sign(key: [UInt8], _ stringToSign: String) -> Digest {
        HMACSHA256.mac(key: key, message: Array(stringToSign.utf8))
    }

    static func sha256Hex(_ s: String) -> String { SHA256.hash(Array(s.utf8)).hex }

    /// The canonical request of SigV4 for `request`.
    static func canonicalRequest(
        _ r: S3Request, signedHeaders: [String], payloadHash: String, dropSignatureParameter: Bool
    ) -> String {
        let path = URIEncoding.encode(URIEncoding.decode(Substring(r.rawPath)) ?? r.rawPath, keepSlash: true)
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
            pairs.append((URIEncoding.encode(key, keepSlash: false), URIEncoding.encode(URIEncoding.decode(v) ?? String(v), keepSlash: false)))
        }
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        let query = pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
        var headers = ""
        for name in signedHeaders {
            let values = r.head.headers[name].map { v in
                v.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
            headers += name + ":" + values.joined(separator: ",") + "\n"
        }
        return [r.head.method.rawValue, path, query, headers, signedHeaders.joined(separator: ";"), payloadHash]
            .joined(separator: "\n")
    }

    static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope)\n\(sha256Hex(canonicalRequest))"
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
