/// The arithmetic of AWS Signature Version 4 shared by the S3 server (which checks signatures)
/// and the S3 client (which makes them): the signing key, the canonical query and request, the
/// string to sign. No I/O: callers supply the request's parts.
public enum SigV4Signing {
    /// The algorithm name in `Authorization` headers and presigned queries.
    public static let algorithm = "AWS4-HMAC-SHA256"
    /// SHA-256 of the empty payload, in hex.
    public static let emptySHA256 = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    /// kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request").
    public static func signingKey(secret: String, date: String, region: String, service: String) -> [UInt8] {
        var k = Array(("AWS4" + secret).utf8)
        for part in [date, region, service, "aws4_request"] { k = HMACSHA256.mac(key: k, message: Array(part.utf8)).bytes }
        return k
    }

    /// HMAC-SHA256 of `stringToSign` under a signing key.
    public static func sign(key: [UInt8], _ stringToSign: String) -> Digest {
        HMACSHA256.mac(key: key, message: Array(stringToSign.utf8))
    }

    /// Lowercase hex SHA-256 of a string's UTF-8 bytes.
    public static func sha256Hex(_ s: String) -> String { SHA256.hash(Array(s.utf8)).hex }

    /// The credential scope `DATE/REGION/SERVICE/aws4_request`.
    public static func scope(date: String, region: String, service: String) -> String {
        "\(date)/\(region)/\(service)/aws4_request"
    }

    /// The canonical query string: names and values (already decoded) encoded, sorted by name
    /// then value, joined with `&`.
    public static func canonicalQuery(_ decoded: [(String, String)]) -> String {
        var pairs = decoded.map { (URIEncoding.encode($0.0, keepSlash: false), URIEncoding.encode($0.1, keepSlash: false)) }
        pairs.sort { $0.0 != $1.0 ? $0.0 < $1.0 : $0.1 < $1.1 }
        return pairs.map { "\($0.0)=\($0.1)" }.joined(separator: "&")
    }

    /// The canonical request: `headers` maps each signed (lowercase) header name to its values;
    /// runs of spaces in values collapse to one, multiple values join with `,`.
    public static func canonicalRequest(
        method: String, decodedPath: String, canonicalQuery: String, signedHeaders: [String],
        headers: (String) -> [String], payloadHash: String
    ) -> String {
        let path = URIEncoding.encode(decodedPath, keepSlash: true)
        var lines = ""
        for name in signedHeaders {
            let values = headers(name).map { v in
                v.split(whereSeparator: { $0 == " " || $0 == "\t" }).joined(separator: " ")
            }
            lines += name + ":" + values.joined(separator: ",") + "\n"
        }
        return [method, path, canonicalQuery, lines, signedHeaders.joined(separator: ";"), payloadHash]
            .joined(separator: "\n")
    }

    /// The string to sign for a canonical request.
    public static func stringToSign(amzDate: String, scope: String, canonicalRequest: String) -> String {
        "\(algorithm)\n\(amzDate)\n\(scope)\n\(sha256Hex(canonicalRequest))"
    }
}
