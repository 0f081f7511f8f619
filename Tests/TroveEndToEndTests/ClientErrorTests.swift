import Testing

@testable import TroveClient

/// Connection failures in the user's words, for the cases a loopback test cannot provoke on
/// demand (a timeout, an unknown host); refused and "not troved" are tested end to end in
/// FirstHourTests.
@Suite("connection error messages")
struct ClientErrorTests {
    @Test(arguments: [
        (
            "connection reset (error set): Connection refused (errno: 111)",
            "connection refused — nothing listens there"
        ),
        ("connection timed out", "connection timed out — no answer within 10 s"),
        ("connect(descriptor:addr:size:): Network is unreachable (errno: 101)", "network unreachable"),
        ("could not resolve host no-such-host", "the host name does not resolve"),
    ])
    func explained(detail: String, says: String) {
        let text = ClientError.cannotConnect(address: "h:1", detail: detail).description
        #expect(text.hasPrefix("cannot reach troved at h:1: \(says)"), "\(text)")
        #expect(!text.contains("errno"), "\(text)")
        #expect(text.contains("--server / TROVE_SERVER"), "\(text)")
    }

    @Test func whatAnsweredInsteadOfTroved() {
        func preamble(_ s: String) -> String {
            let hex = Array(s.utf8.prefix(5)).map { "\"\(String($0, radix: 16))\"" }.joined(separator: ", ")
            return "the peer did not start with a Trove preamble (magic is [\(hex)], expected TROVE); is this"
        }
        #expect(ClientError.notTroved(preamble("HTTP/1.1 400")) == "an HTTP server answered")
        #expect(ClientError.notTroved(preamble("SSH-2.0")) == "an SSH server answered")
        #expect(ClientError.notTroved(preamble("hello")) == "something else answered (it sent \"hello…\")")
        #expect(ClientError.notTroved("frame checksum mismatch") == nil)
    }
}
