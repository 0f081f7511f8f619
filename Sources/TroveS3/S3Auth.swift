import TroveCore

/// The outcome of checking a request's signature.
struct AuthResult {
    var principal: Principal
    /// What `x-amz-content-sha256` declares: a hex SHA-256, `UNSIGNED-PAYLOAD`, or a
    /// `STREAMING-…` mode of `aws-chunked`.
    var payloadHash: String
    /// For signed `aws-chunked` bodies: the key and seed to verify each chunk's signature.
    var chunkSigning: ChunkSigning?
}

/// What verifying `aws-chunked` chunk signatures needs.
struct ChunkSigning {
    var key: [UInt8]
    var amzDate: String
    var scope: String
    var seed: String
}

/// SigV4 authentication against the configured credentials (S3Config).
struct S3Authenticator {
    let config: S3Config
    private let byKey: [String: S3Credential]

    init(config: S3Config) {
        self.config = config
        var m: [String: S3Credential] = [:]
        for c in config.credentials { m[c.accessKeyId] = c }
        byKey = m
    }

    func authenticate(_ r: S3Request, now: Int64) throws(S3Error) -> AuthResult {
        let declared = r.header("x-amz-content-sha256")
        let authorization = r.header("authorization")
        let presigned = r.query["X-Amz-Algorithm"] != nil
        if config.openAccess {
            // Open mode: credentials are not checked; a signed chunked body still has its framing.
            return AuthResult(principal: .open, payloadHash: declared ?? "UNSIGNED-PAYLOAD", chunkSigning: nil)
        }
        // A browser signed in to the web view may send its Basic credentials along with a
        // presigned download link: the link's signature is what counts then.
        if let authorization, !(presigned && authorization.lowercased().hasPrefix("basic ")) {
            guard authorization.hasPrefix(SigV4.algorithm + " ") else {
                throw S3Error(
                    .badRequest, "InvalidRequest",
                    "only AWS Signature Version 4 (AWS4-HMAC-SHA256) is supported; configure the client for SigV4")
            }
            let signed = try SigV4.parseHeader(authorization)
            guard let amzDate = r.header("x-amz-date") else {
                throw .accessDenied("a signed request needs an x-amz-date header")
            }
            guard let payload = declared else {
                throw .invalidRequest("missing required header for this request: x-amz-content-sha256")
            }
            try checkDate(amzDate, scopeDate: signed.date, now: now)
            let (cred, key) = try credential(signed)
            let canonical = SigV4.canonicalRequest(
                r, signedHeaders: signed.signedHeaders, payloadHash: payload, dropSignatureParameter: false)
            let computed = SigV4.sign(
                key: key, SigV4.stringToSign(amzDate: amzDate, scope: signed.scope, canonicalRequest: canonical))
            guard SigV4.matches(computed, signed.signature) else {
                throw .signatureMismatch(
                    "the request signature we calculated does not match the signature you provided; check the secret key")
            }
            let chunked = payload.hasPrefix("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
            return AuthResult(
                principal: Principal(name: cred.accessKeyId, access: cred.access, prefixes: cred.prefixes),
                payloadHash: payload,
                chunkSigning: chunked
                    ? ChunkSigning(key: key, amzDate: amzDate, scope: signed.scope, seed: signed.signature) : nil)
        }
        if presigned {
            guard r.query["X-Amz-Algorithm"] == SigV4.algorithm, let credText = r.query["X-Amz-Credential"],
                let amzDate = r.query["X-Amz-Date"], let sh = r.query["X-Amz-SignedHeaders"],
                let sig = r.query["X-Amz-Signature"], let expiresText = r.query["X-Amz-Expires"],
                let expires = Int64(expiresText), (1...604_800).contains(expires)
            else {
                throw .accessDenied(
                    "a presigned URL needs X-Amz-Algorithm=AWS4-HMAC-SHA256, X-Amz-Credential, X-Amz-Date, "
                        + "X-Amz-Expires (1…604800), X-Amz-SignedHeaders and X-Amz-Signature")
            }
            let (key, date, region, service) = try SigV4.parseCredential(credText)
            let signed = SigV4.Signed(
                accessKey: key, date: date, region: region, service: service,
                signedHeaders: sh.split(separator: ";").map { $0.lowercased() }, signature: sig.lowercased())
            guard let t = HTTPDate.parseAmz(amzDate), amzDate.hasPrefix(date) else {
                throw .accessDenied("X-Amz-Date '\(amzDate)' is not a date of the credential's day")
            }
            guard now <= t + expires else { throw .accessDenied("Request has expired") }
            guard t <= now + config.clockSkewSeconds else {
                throw S3Error(.forbidden, "RequestTimeTooSkewed", "the presigned URL is dated in the future")
            }
            let (cred, signingKey) = try credential(signed)
            let payload = declared ?? "UNSIGNED-PAYLOAD"
            let canonical = SigV4.canonicalRequest(
                r, signedHeaders: signed.signedHeaders, payloadHash: payload, dropSignatureParameter: true)
            let computed = SigV4.sign(
                key: signingKey, SigV4.stringToSign(amzDate: amzDate, scope: signed.scope, canonicalRequest: canonical))
            guard SigV4.matches(computed, signed.signature) else {
                throw .signatureMismatch("the presigned URL's signature does not match; check the secret key")
            }
            return AuthResult(
                principal: Principal(name: cred.accessKeyId, access: cred.access, prefixes: cred.prefixes),
                payloadHash: payload, chunkSigning: nil)
        }
        throw .accessDenied("anonymous requests are refused: sign requests with a token's S3 credentials")
    }

    private func credential(_ s: SigV4.Signed) throws(S3Error) -> (S3Credential, [UInt8]) {
        guard let cred = byKey[s.accessKey] else {
            throw S3Error(.forbidden, "InvalidAccessKeyId", "the access key id '\(s.accessKey)' is not a configured token")
        }
        guard s.service == "s3" else { throw .accessDenied("the credential scope's service must be s3") }
        return (cred, SigV4.signingKey(secret: cred.secretAccessKey, date: s.date, region: s.region, service: s.service))
    }

    private func checkDate(_ amzDate: String, scopeDate: String, now: Int64) throws(S3Error) {
        guard let t = HTTPDate.parseAmz(amzDate) else {
            throw .accessDenied("x-amz-date '\(amzDate)' is not of the form 20250101T000000Z")
        }
        guard amzDate.hasPrefix(scopeDate) else {
            throw S3Error(.badRequest, "AuthorizationHeaderMalformed", "the credential date differs from x-amz-date")
        }
        guard abs(t - now) <= config.clockSkewSeconds else {
            throw S3Error(
                .forbidden, "RequestTimeTooSkewed",
                "the difference between the request time and the server's time is too large; check the client's clock")
        }
    }
}
