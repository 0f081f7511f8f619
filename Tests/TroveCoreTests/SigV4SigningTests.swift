import Testing
import TroveCore

/// SigV4 arithmetic against the worked examples in AWS's documentation.
@Suite("SigV4 signing")
struct SigV4SigningTests {
    /// The example secrets of the IAM and the S3 documentation (they differ in one character).
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let s3Secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"

    @Test func signingKeyMatchesTheDocumentedDerivation() {
        let key = SigV4Signing.signingKey(secret: Self.secret, date: "20120215", region: "us-east-1", service: "iam")
        #expect(hexString(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d")
    }

    @Test func rangedGetObjectExampleSignature() {
        let headers = [
            "host": "examplebucket.s3.amazonaws.com", "range": "bytes=0-9",
            "x-amz-content-sha256": SigV4Signing.emptySHA256, "x-amz-date": "20130524T000000Z",
        ]
        let names = headers.keys.sorted()
        let canonical = SigV4Signing.canonicalRequest(
            method: "GET", decodedPath: "/test.txt", canonicalQuery: "", signedHeaders: names,
            headers: { [headers[$0]!] }, payloadHash: SigV4Signing.emptySHA256)
        let scope = SigV4Signing.scope(date: "20130524", region: "us-east-1", service: "s3")
        #expect(SigV4Signing.sha256Hex(canonical) == "7344ae5b7ee6c3e7e6b0fe0640412a37625d1fbfff95c48bbb2dc43964946972")
        let key = SigV4Signing.signingKey(secret: Self.s3Secret, date: "20130524", region: "us-east-1", service: "s3")
        let sig = SigV4Signing.sign(
            key: key, SigV4Signing.stringToSign(amzDate: "20130524T000000Z", scope: scope, canonicalRequest: canonical))
        #expect(sig.hex == "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")
    }

    @Test func canonicalQuerySortsAndEncodes() {
        #expect(
            SigV4Signing.canonicalQuery([("prefix", "a b/c"), ("list-type", "2"), ("max-keys", "3")])
                == "list-type=2&max-keys=3&prefix=a%20b%2Fc")
        #expect(SigV4Signing.canonicalQuery([]) == "")
    }
}
