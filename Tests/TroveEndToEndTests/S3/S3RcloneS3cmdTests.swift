import Foundation
import Testing

/// rclone and s3cmd (Debian packages, installed by scripts/setup.d/13-rclone-s3cmd.sh) against a
/// real troved on loopback; a missing client fails the test.
@Suite("S3 API with rclone and s3cmd")
struct S3RcloneS3cmdTests {
    static func tree(_ dir: TemporaryDirectory) throws -> [String: [UInt8]] {
        var rng = SystemRandomNumberGenerator()
        let files: [String: [UInt8]] = [
            "big.bin": (0..<(12 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) },
            "small.txt": Array("small file\n".utf8),
            "sub/deeper/c.json": Array(#"{"a": 1}"#.utf8),
            "empty": [],
        ]
        for (name, bytes) in files { _ = try dir.write("src/" + name, bytes) }
        return files
    }

    @Test("rclone copy (multipart above 5 MiB), check, copy back")
    func rclone() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("s3-rclone")
        let files = try Self.tree(dir)
        let env = [
            "RCLONE_CONFIG": "/dev/null", "RCLONE_CONFIG_TROVE_TYPE": "s3", "RCLONE_CONFIG_TROVE_PROVIDER": "Other",
            "RCLONE_CONFIG_TROVE_ENDPOINT": s.endpoint, "RCLONE_CONFIG_TROVE_ACCESS_KEY_ID": "any",
            "RCLONE_CONFIG_TROVE_SECRET_ACCESS_KEY": "any", "RCLONE_CONFIG_TROVE_FORCE_PATH_STYLE": "true",
            "RCLONE_CONFIG_TROVE_REGION": "us-east-1",
        ]
        let rclone = try S3Clients.tool("rclone")
        func run(_ args: [String]) throws -> CLIResult {
            // rclone is a Go program: a Python CA bundle in AWS_CA_BUNDLE would break its TLS setup.
            try S3Clients.run(
                rclone, args + ["--s3-upload-cutoff", "5M", "--s3-chunk-size", "5M"], environment: env,
                unset: ["AWS_CA_BUNDLE"])
        }
        var r = try run(["copy", dir.path + "/src", "trove:rcl/data"])
        #expect(r.status == 0, "\(r)\n--- troved ---\n\(s.server.log().suffix(2000))")
        r = try run(["check", dir.path + "/src", "trove:rcl/data"])
        #expect(r.status == 0 && r.stderr.contains("0 differences found"), "\(r)")
        r = try s.aws(["s3api", "head-object", "--bucket", "rcl", "--key", "data/big.bin"])
        #expect(r.status == 0 && r.stdout.contains("-3\\\""), "big.bin went up in 3 parts: \(r)")
        r = try run(["copy", "trove:rcl/data", dir.path + "/back"])
        #expect(r.status == 0, "\(r)")
        for (name, bytes) in files {
            #expect(try ClientE2E.read(dir.path + "/back/" + name) == bytes, "\(name)")
        }
        // A changed file is a difference rclone check reports.
        _ = try dir.write("src/small.txt", Array("changed!!!!\n".utf8))
        r = try run(["check", dir.path + "/src", "trove:rcl/data"])
        #expect(r.status != 0 && r.stderr.contains("1 differences found"), "\(r)")
    }

    @Test("s3cmd mb, put (single and multipart), ls, get without MD5 warnings, del")
    func s3cmd() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("s3-s3cmd")
        let files = try Self.tree(dir)
        let config = try dir.write(
            "s3cfg",
            Array(
                """
                [default]
                access_key = any
                secret_key = any
                host_base = \(s.s3Address)
                host_bucket = \(s.s3Address)
                use_https = False
                signature_v2 = False
                bucket_location = us-east-1
                multipart_chunk_size_mb = 5
                check_ssl_certificate = False

                """.utf8))
        let s3cmd = try S3Clients.tool("s3cmd")
        func run(_ args: [String]) throws -> CLIResult {
            try S3Clients.run(s3cmd, ["-c", config] + args, environment: ["HOME": dir.path])
        }
        func noWarnings(_ r: CLIResult) {
            #expect(r.status == 0, "\(r)")
            #expect(!r.stderr.contains("WARNING") && !r.stdout.contains("WARNING"), "\(r)")
            #expect(!r.stderr.lowercased().contains("md5"), "\(r)")
        }
        noWarnings(try run(["mb", "s3://s3c"]))
        for name in ["big.bin", "small.txt", "empty"] {
            noWarnings(try run(["put", dir.path + "/src/" + name, "s3://s3c/f/" + name]))
        }
        let ls = try run(["ls", "s3://s3c/f/"])
        #expect(ls.status == 0 && ls.stdout.contains("s3://s3c/f/big.bin"), "\(ls)")
        for name in ["big.bin", "small.txt", "empty"] {
            let r = try run(["get", "s3://s3c/f/" + name, dir.path + "/got-" + name])
            noWarnings(r)
            #expect(try ClientE2E.read(dir.path + "/got-" + name) == files[name], "\(name)")
        }
        noWarnings(try run(["del", "s3://s3c/f/small.txt"]))
        let after = try run(["ls", "s3://s3c/f/"])
        #expect(!after.stdout.contains("small.txt"), "\(after)")
    }
}
