import Foundation
import Testing
import TroveCore
import TroveObjectStorage

/// The SigV4 S3 client against a real SeaweedFS (which checks signatures and payload hashes and
/// honours If-None-Match).
@Suite("S3 client against SeaweedFS")
struct S3ClientTests {
    @Test func writeOnceReadRangesHeadDelete() throws {
        let c = try SeaweedFS.client()
        let bytes = (0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 31 &+ $0 >> 9) }
        try c.putIfAbsent(key: "packs/ab/one.pack", bytes: bytes, metadata: ["sha256": SHA256.hash(bytes).hex])
        #expect(try c.get(key: "packs/ab/one.pack") == bytes)
        #expect(try c.get(key: "packs/ab/one.pack", offset: 1000, count: 4096) == Array(bytes[1000..<5096]))
        #expect(try c.get(key: "packs/ab/one.pack", offset: 299_999, count: 1) == [bytes[299_999]])
        let info = try #require(try c.head(key: "packs/ab/one.pack"))
        #expect(info.size == bytes.count)
        #expect(info.metadata["sha256"] == SHA256.hash(bytes).hex)

        // Write-once: a second PUT of the same key is refused and the first bytes stay.
        #expect(throws: S3ClientError.alreadyExists(key: "packs/ab/one.pack")) {
            try c.putIfAbsent(key: "packs/ab/one.pack", bytes: [1, 2, 3])
        }
        #expect(try c.get(key: "packs/ab/one.pack", offset: 0, count: 8) == Array(bytes[0..<8]))

        try c.delete(key: "packs/ab/one.pack")
        #expect(try c.head(key: "packs/ab/one.pack") == nil)
        #expect(throws: S3ClientError.notFound(operation: "GET", key: "packs/ab/one.pack")) {
            try c.get(key: "packs/ab/one.pack", offset: 0, count: 8)
        }
        try c.delete(key: "packs/ab/one.pack")  // deleting what is gone succeeds
    }

    @Test func keysWithSpecialCharactersAndEmptyObjects() throws {
        let c = try SeaweedFS.client()
        let key = "odd dir/a+b=c&d~e%f.bin"
        try c.putIfAbsent(key: key, bytes: Array("hello".utf8))
        #expect(try c.get(key: key) == Array("hello".utf8))
        try c.putIfAbsent(key: "empty", bytes: [])
        #expect(try c.head(key: "empty")?.size == 0)
        #expect(try c.list(prefix: "odd dir/").map(\.key) == [key])
    }

    @Test func listsEveryPageUnderAPrefix() throws {
        let c = try SeaweedFS.client()
        for i in 0..<7 { try c.putIfAbsent(key: "p/\(i)", bytes: [UInt8(i)]) }
        try c.putIfAbsent(key: "q/other", bytes: [9])
        let all = try c.list(prefix: "p/", pageSize: 3)
        #expect(all.map(\.key) == (0..<7).map { "p/\($0)" })
        #expect(all.allSatisfy { $0.size == 1 })
        #expect(try c.list(prefix: "none/").isEmpty)
    }

    @Test func wrongSecretIsRefusedWithoutRetrying() throws {
        let s = try SeaweedFS.shared()
        let good = try SeaweedFS.client()
        var config = good.config
        config.secretAccessKey = "not-the-secret"
        let bad = try S3Client(config: config)
        do {
            try bad.putIfAbsent(key: "x", bytes: [1])
            Issue.record("a PUT signed with the wrong secret was accepted by \(s.endpoint)")
        } catch {
            guard case .http(_, _, let status, _, _) = error else {
                Issue.record("expected an HTTP refusal, got \(error)")
                return
            }
            #expect(status == 403)
            #expect("\(error)".contains("check the access key"))
        }
        #expect(try good.head(key: "x") == nil)
    }
}

/// Retries and typed errors on failures a healthy server does not produce.
@Suite("S3 client retries")
struct S3ClientRetryTests {
    func client(_ server: ScriptedHTTPServer, attempts: Int, timeout: Int = 30) throws -> S3Client {
        try S3Client(
            config: S3ClientConfig(
                endpoint: "http://127.0.0.1:\(server.port)", bucket: "retries", accessKeyID: "k", secretAccessKey: "s",
                maxAttempts: attempts, retryBaseMillis: 1, requestTimeoutSeconds: timeout))
    }

    @Test func serverErrorsAreRetriedUntilAnAnswerSticks() throws {
        let server = try ScriptedHTTPServer(script: [503, 500, 404])
        let c = try client(server, attempts: 5)
        #expect(try c.head(key: "k") == nil)  // the 404 after two 5xx
        #expect(server.requests == 3)
    }

    @Test func retriesRunOutWithTheLastError() throws {
        let server = try ScriptedHTTPServer(script: [503, 503])
        let c = try client(server, attempts: 2)
        #expect(throws: S3ClientError.http(operation: "GET", key: "k", status: 503, code: "Scripted", message: "status 503")) {
            try c.get(key: "k")
        }
        #expect(server.requests == 2)
    }

    @Test func clientErrorsAreNotRetried() throws {
        let server = try ScriptedHTTPServer(script: [403, 200])
        let c = try client(server, attempts: 5)
        #expect(throws: S3ClientError.http(operation: "DELETE", key: "k", status: 403, code: "Scripted", message: "status 403")) {
            try c.delete(key: "k")
        }
        #expect(server.requests == 1)
    }

    @Test func aServerThatNeverAnswersTimesOutThenRetries() throws {
        let server = try ScriptedHTTPServer(script: [nil, 404])
        let c = try client(server, attempts: 3, timeout: 1)
        #expect(try c.head(key: "k") == nil)
        #expect(server.requests == 2)
        let silent = try ScriptedHTTPServer(script: [nil])
        #expect(throws: S3ClientError.timeout(operation: "HEAD", key: "k", seconds: 1)) {
            try client(silent, attempts: 1, timeout: 1).head(key: "k")
        }
    }

    @Test func badEndpointsAreConfigurationErrors() {
        for endpoint in ["https://s3.example.com", "ftp://x", "http://", "http://h:99999", "http://h/path"] {
            #expect(throws: S3ClientError.self) {
                try S3Client(config: S3ClientConfig(endpoint: endpoint, bucket: "bucket", accessKeyID: "k", secretAccessKey: "s"))
            }
        }
        #expect(throws: S3ClientError.self) {
            try S3Client(config: S3ClientConfig(endpoint: "http://127.0.0.1:1", bucket: "B!", accessKeyID: "k", secretAccessKey: "s"))
        }
    }
}
