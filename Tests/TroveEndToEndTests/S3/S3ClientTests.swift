import Foundation
import Testing

/// The S3 API driven by real clients (aws CLI, boto3) against a real troved on loopback.
@Suite("S3 API with real clients")
struct S3ClientTests {
    @Test("aws CLI: mb, cp (single and multipart), ls, ranged GET, sync, rm, rb")
    func awsCLI() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("s3-aws")
        var rng = SystemRandomNumberGenerator()
        let big = (0..<(20 << 20)).map { _ in UInt8.random(in: 0...255, using: &rng) }
        try dir.write("big.bin", big)
        try dir.write("tree/a.txt", Array("alpha\n".utf8))
        try dir.write("tree/sub/b.txt", Array("beta\n".utf8))
        var r = try s.aws(["s3", "mb", "s3://awsbucket"])
        #expect(r.status == 0, "\(r)")
        // 20 MiB is above the CLI's 8 MiB multipart threshold: a multipart upload.
        r = try s.aws(["s3", "cp", dir.path + "/big.bin", "s3://awsbucket/data/big.bin"])
        #expect(r.status == 0, "\(r)")
        r = try s.aws(["s3", "sync", dir.path + "/tree", "s3://awsbucket/tree"])
        #expect(r.status == 0, "\(r)")
        r = try s.aws(["s3", "ls", "--recursive", "s3://awsbucket"])
        #expect(r.status == 0, "\(r)")
        #expect(r.stdout.contains("data/big.bin") && r.stdout.contains("tree/a.txt") && r.stdout.contains("tree/sub/b.txt"))
        r = try s.aws(["s3", "cp", "s3://awsbucket/data/big.bin", dir.path + "/back.bin"])
        #expect(r.status == 0, "\(r)")
        #expect(try Data(contentsOf: dir.url.appendingPathComponent("back.bin")) == Data(big))
        r = try s.aws([
            "s3api", "get-object", "--bucket", "awsbucket", "--key", "data/big.bin", "--range", "bytes=1000000-1999999",
            dir.path + "/range.bin",
        ])
        #expect(r.status == 0, "\(r)")
        #expect(try Data(contentsOf: dir.url.appendingPathComponent("range.bin")) == Data(big[1_000_000..<2_000_000]))
        r = try s.aws(["s3api", "head-object", "--bucket", "awsbucket", "--key", "data/big.bin"])
        #expect(r.status == 0 && r.stdout.contains("-3\\\""), "multipart ETag has the -N form: \(r)")
        r = try s.aws(["s3", "sync", "s3://awsbucket/tree", dir.path + "/tree2"])
        #expect(r.status == 0, "\(r)")
        #expect(try String(contentsOf: dir.url.appendingPathComponent("tree2/sub/b.txt"), encoding: .utf8) == "beta\n")
        r = try s.aws(["s3", "rb", "s3://awsbucket"])
        #expect(r.status != 0 && r.stderr.contains("BucketNotEmpty"), "\(r)")
        r = try s.aws(["s3", "rm", "--recursive", "s3://awsbucket"])
        #expect(r.status == 0, "\(r)")
        r = try s.aws(["s3", "rb", "s3://awsbucket"])
        #expect(r.status == 0, "\(r)")
        r = try s.aws(["s3", "ls"])
        #expect(r.status == 0 && !r.stdout.contains("awsbucket"), "\(r)")
    }

    @Test("boto3: put/get/range/metadata, 1,500-key pagination, copy, delete_objects, presigned, conditions")
    func boto3Operations() throws {
        let s = try S3TestServer()
        let r = try s.python(S3Scripts.boto3Operations)
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }

    @Test("signatures and scopes: wrong secret, read token, prefix token, expired presigned URL")
    func signatures() throws {
        func token(_ name: String, _ scope: String, _ prefix: String? = nil) throws -> [String: String] {
            var args = ["token", "new", name, "--scope", scope, "--json"]
            if let prefix { args += ["--prefix", prefix] }
            let r = try CLI.troved(args)
            #expect(r.status == 0, "\(r)")
            return try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: String] ?? [:]
        }
        let admin = try token("admin", "admin")
        let reader = try token("reader", "read")
        let limited = try token("limited", "write", "shared/team-a")
        #expect(admin["s3AccessKeyId"] == "admin" && admin["s3SecretAccessKey"]?.count == 64)
        #expect(admin["config"]?.contains("sha256 = ") == true && admin["token"]?.hasPrefix("admin:") == true)
        // The config holds no secret: the S3 secret is not in it.
        #expect(admin["config"]?.contains(admin["s3SecretAccessKey"] ?? "-") == false)
        let config = [admin, reader, limited].compactMap { $0["config"] }.joined(separator: "\n")
        let s = try S3TestServer(config: config)
        let env: [String: String] = [
            "ADMIN_KEY": "admin", "ADMIN_SECRET": admin["s3SecretAccessKey"] ?? "",
            "READ_KEY": "reader", "READ_SECRET": reader["s3SecretAccessKey"] ?? "",
            "LIMITED_KEY": "limited", "LIMITED_SECRET": limited["s3SecretAccessKey"] ?? "",
        ]
        let r = try s.python(S3Scripts.signatures, extra: env)
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
        // The aws CLI with a wrong secret gets SignatureDoesNotMatch.
        let bad = try s.aws(["s3", "ls"], key: "admin", secret: String(repeating: "0", count: 64))
        #expect(bad.status != 0 && bad.stderr.contains("SignatureDoesNotMatch"), "\(bad)")
        let good = try s.aws(["s3", "ls"], key: "admin", secret: admin["s3SecretAccessKey"] ?? "")
        #expect(good.status == 0, "\(good)")
    }

    @Test("hostile HTTP: big headers, bad chunk framing, bad body lengths, million-key delete, memory")
    func hostileHTTP() throws {
        let s = try S3TestServer()
        let pid = try #require(s.server.pid, "troved is not running")
        let r = try s.python(S3Scripts.hostile, extra: ["S3_HOSTPORT": s.s3Address, "S3_TROVED_PID": "\(pid)"])
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
        // Still serving.
        let after = try s.aws(["s3", "ls"])
        #expect(after.status == 0, "\(after)")
    }

    @Test("slow clients: an endless request head, a body that stops short, an unread download are dropped")
    func slowClients() throws {
        let s = try S3TestServer(config: "[s3]\nidle_timeout = 2\n")
        let r = try s.python(S3Scripts.slowClients, extra: ["S3_HOSTPORT": s.s3Address])
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }

    @Test("slowloris: a head or a body dribbled a byte at a time gets 408 and a closed connection")
    func slowloris() throws {
        let s = try S3TestServer(config: "[s3]\nidle_timeout = 600\nheader_timeout = 2\nmin_body_rate = 4096\n")
        let r = try s.python(S3Scripts.slowloris, extra: ["S3_HOSTPORT": s.s3Address])
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
        #expect(s.server.log().contains("dropping a slow S3 client"), "troved must log why it dropped the clients")
    }
}

/// DVC with an S3 remote on troved (dvc[s3] from `.venv-dvc`, installed by scripts/setup).
@Suite("S3 API with DVC")
struct S3DVCTests {
    @Test("dvc push v1 and v2 (5 % of blocks changed) grows the store by ≤ 1.3× the changed bytes; pull; gc -c -w")
    func dvcRemote() throws {
        let s = try S3TestServer()
        let work = try TemporaryDirectory("s3-dvc")
        let dvc = try S3Clients.tool("dvc", venv: ".venv-dvc")
        let r = try s.python(
            S3Scripts.dvc,
            extra: ["DVC_BIN": dvc, "STORE_ROOT": s.server.root.path, "WORK_DIR": work.path])
        for line in r.lines where line.hasPrefix("DEDUP") { print("S3 DVC \(line)") }
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }
}

/// The read-only `versions` bucket over versions pushed with `trove`.
@Suite("S3 API: the versions bucket")
struct S3VersionsBucketTests {
    @Test("versions/NAME/VERSION/PATH and versions/NAME/ALIAS/PATH read pushed files; writes are refused")
    func versionsBucket() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("s3-versions")
        try dir.write("model/weights.bin", Array(repeating: 7, count: 300_000))
        try dir.write("model/config.json", Array("{\"layers\": 3}".utf8))
        var r = try s.server.trove(["push", dir.path + "/model", "models/churn:1.4.0"])
        #expect(r.status == 0, "\(r)")
        r = try s.server.trove(["alias", "set", "models/churn", "prod", "1.4.0"])
        #expect(r.status == 0, "\(r)")
        let script = S3Scripts.prelude + #"""
            c = client()
            for tag in ["1.4.0", "prod"]:
                g = c.get_object(Bucket="versions", Key="models/churn/%s/weights.bin" % tag)
                assert g["Body"].read() == bytes([7]) * 300000
            g = c.get_object(Bucket="versions", Key="models/churn/prod/weights.bin", Range="bytes=10-19")
            assert g["Body"].read() == bytes([7]) * 10
            assert c.get_object(Bucket="versions", Key="models/churn/1.4.0/config.json")["Body"].read() == b'{"layers": 3}'
            keys = [o["Key"] for o in c.list_objects_v2(Bucket="versions", Prefix="models/churn/prod/")["Contents"]]
            assert keys == ["models/churn/prod/config.json", "models/churn/prod/weights.bin"], keys
            expect_error("NoSuchKey", c.get_object, Bucket="versions", Key="models/churn/9.9.9/weights.bin")
            expect_error("NoSuchKey", c.get_object, Bucket="versions", Key="models/churn/1.4.0/absent")
            expect_error("AccessDenied", c.put_object, Bucket="versions", Key="models/churn/1.4.0/x", Body=b"x")
            expect_error("AccessDenied", c.delete_object, Bucket="versions", Key="models/churn/1.4.0/weights.bin")
            print("ALL OK")
            """#
        r = try s.python(script)
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }
}

/// MLflow with its artifact store on troved (mlflow-skinny from `.venv-mlflow`, installed by
/// scripts/setup).
@Suite("S3 API with MLflow")
struct S3MLflowTests {
    @Test("mlflow log_artifact(s) to s3:// and download_artifacts back")
    func mlflowArtifacts() throws {
        let s = try S3TestServer()
        let work = try TemporaryDirectory("s3-mlflow")
        let script = S3Scripts.prelude + #"""
            import filecmp
            import mlflow
            work = os.environ["WORK_DIR"]
            os.environ["MLFLOW_S3_ENDPOINT_URL"] = EP
            os.environ["MLFLOW_ALLOW_FILE_STORE"] = "true"   # the tracking store is not what is tested
            client().create_bucket(Bucket="mlflow-artifacts")
            mlflow.set_tracking_uri("file://" + work + "/mlruns")
            exp = mlflow.create_experiment("s3", artifact_location="s3://mlflow-artifacts/experiments/s3")
            os.makedirs(work + "/model/sub")
            with open(work + "/model/weights.bin", "wb") as f:
                f.write(os.urandom(3 << 20))
            with open(work + "/model/sub/config.json", "w") as f:
                f.write('{"layers": 3}')
            with open(work + "/notes.txt", "w") as f:
                f.write("trained on troved")
            with mlflow.start_run(experiment_id=exp) as run:
                mlflow.log_artifact(work + "/notes.txt")
                mlflow.log_artifacts(work + "/model", artifact_path="model")
            out = mlflow.artifacts.download_artifacts(run_id=run.info.run_id, dst_path=work + "/download")
            assert open(os.path.join(out, "notes.txt")).read() == "trained on troved"
            assert filecmp.cmp(work + "/model/weights.bin", os.path.join(out, "model", "weights.bin"), shallow=False)
            assert open(os.path.join(out, "model", "sub", "config.json")).read() == '{"layers": 3}'
            print("ALL OK")
            """#
        let r = try s.python(script, extra: ["WORK_DIR": work.path], venv: ".venv-mlflow")
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }
}
