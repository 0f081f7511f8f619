import Foundation
import Testing
import TroveCore

/// `trove bucket ls|create|rm`, `trove ls s3://…`, `trove snapshot` and the bucket lines of
/// `trove stat` and `trove scrub`, against a real troved whose buckets the aws CLI fills.
@Suite("trove bucket, ls s3://, snapshot")
struct BucketCommandTests {
    static func buckets(_ s: S3TestServer) throws -> [String: [String: Any]] {
        let r = try s.server.trove(["bucket", "ls", "--json"])
        #expect(r.status == 0, "\(r)")
        let list = (try? JSONSerialization.jsonObject(with: r.stdoutData)) as? [[String: Any]] ?? []
        return Dictionary(list.map { ($0["name"] as? String ?? "", $0) }, uniquingKeysWith: { a, _ in a })
    }

    @Test("bucket create (--write-once), ls with counts, rm only when empty; exit codes")
    func bucketCreateLsRm() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("bucket-cmd")
        let file = try dir.write("a.txt", Array("alpha\n".utf8))
        var r = try s.server.trove(["bucket", "create", "plain"])
        #expect(r.status == 0 && r.stdout.contains("created bucket plain"), "\(r)")
        let (created, j) = try ClientE2E.json(s.server, ["bucket", "create", "locked", "--write-once"])
        #expect(created.status == 0 && j["writeOnce"] as? Bool == true && j["name"] as? String == "locked", "\(created)")
        r = try s.server.trove(["bucket", "create", "plain"])
        #expect(r.status == 4, "an existing bucket is a conflict: \(r)")
        r = try s.server.trove(["bucket", "create", "Bad_Name"])
        #expect(r.status == 2 && r.stderr.contains("invalid bucket name"), "\(r)")
        r = try s.server.trove(["bucket", "create", "versions"])
        #expect(r.status == 2 && r.stderr.contains("reserved"), "\(r)")

        #expect(try s.aws(["s3", "cp", file, "s3://plain/dir/a.txt"]).status == 0)
        #expect(try s.aws(["s3", "cp", file, "s3://locked/a.txt"]).status == 0)
        // Created with --write-once: S3 cannot overwrite the key.
        r = try s.aws(["s3", "cp", file, "s3://locked/a.txt"])
        #expect(r.status != 0 && r.stderr.contains("AccessDenied"), "\(r)")
        let listed = try Self.buckets(s)
        #expect(ClientE2E.int(listed["plain"]?["keys"]) == 1)
        #expect(ClientE2E.int(listed["plain"]?["bytes"]) == 6)
        #expect(listed["plain"]?["writeOnce"] as? Bool == false)
        #expect(listed["locked"]?["writeOnce"] as? Bool == true)
        r = try s.server.trove(["bucket", "ls"])
        #expect(r.stdout.contains("locked\t1 key\t") && r.stdout.contains("write-once"), "\(r)")

        r = try s.server.trove(["bucket", "rm", "plain"])
        #expect(r.status == 4 && r.stderr.contains("not empty"), "\(r)")
        #expect(try s.aws(["s3", "rm", "s3://plain/dir/a.txt"]).status == 0)
        r = try s.server.trove(["bucket", "rm", "plain"])
        #expect(r.status == 0 && r.stdout.contains("removed bucket plain"), "\(r)")
        r = try s.server.trove(["bucket", "rm", "plain"])
        #expect(r.status == 3, "a missing bucket is not found: \(r)")
        #expect(try Self.buckets(s)["plain"] == nil)
    }

    @Test("ls s3://BUCKET/PREFIX lists keys with size, ETag and blob digest; stat counts buckets")
    func lsBucketKeysAndStat() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("bucket-ls")
        let a = try dir.write("a.txt", Array("alpha\n".utf8))
        let b = try dir.write("b.txt", Array("beta beta\n".utf8))
        #expect(try s.server.trove(["bucket", "create", "data"]).status == 0)
        #expect(try s.server.trove(["bucket", "create", "empty"]).status == 0)
        for (src, key) in [(a, "set/a.txt"), (b, "set/sub/b.txt"), (a, "setx"), (b, "other.txt")] {
            #expect(try s.aws(["s3", "cp", src, "s3://data/" + key]).status == 0)
        }
        var r = try s.server.trove(["ls", "s3://data/set"])
        #expect(r.status == 0, "\(r)")
        let lines = r.stdout.split(separator: "\n").map { $0.split(separator: "\t").map(String.init) }
        #expect(lines.map { $0.last ?? "" } == ["set/a.txt", "set/sub/b.txt", "setx"], "\(r)")
        #expect(lines.first?[1] == "6")
        r = try s.server.trove(["ls", "s3://data/set/", "--json"])
        let keys = (try? JSONSerialization.jsonObject(with: r.stdoutData)) as? [[String: Any]] ?? []
        #expect(keys.map { $0["key"] as? String } == ["set/a.txt", "set/sub/b.txt"], "\(r)")
        #expect(keys.first?["etag"] as? String == "9f9f90dbe3e5ee1218c86b8839db1995", "the MD5 of the body")
        #expect(keys.first?["blob"] as? String == ClientE2E.digest(Array("alpha\n".utf8)))
        #expect(ClientE2E.int(keys.last?["size"]) == 10)
        r = try s.server.trove(["ls", "s3://data"])
        #expect(r.stdout.split(separator: "\n").count == 4, "\(r)")
        r = try s.server.trove(["ls", "s3://nosuch/x"])
        #expect(r.status == 3, "\(r)")
        r = try s.server.trove(["ls", "s3://data", "--where", "a=b"])
        #expect(r.status == 2, "\(r)")

        let (st, j) = try ClientE2E.json(s.server, ["stat"])
        #expect(st.status == 0, "\(st)")
        #expect(ClientE2E.int(j["buckets"]) == 2)
        #expect(ClientE2E.int(j["bucketKeys"]) == 4)
        #expect(ClientE2E.int(j["bucketBytes"]) == 6 + 10 + 6 + 10)
        let plain = try s.server.trove(["stat"])
        #expect(plain.stdout.contains("buckets      2 (4 keys"), "\(plain)")
    }

    @Test("snapshot BUCKET/PREFIX NAME:VERSION: no bytes move; pull, show, versions bucket; refusals")
    func snapshot() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("bucket-snap")
        let big = ClientE2E.random(seed: 881, count: 3_000_000)
        let bigPath = try dir.write("big.bin", big)
        let small = try dir.write("s.txt", Array("small\n".utf8))
        #expect(try s.server.trove(["push", small, "datasets/base:1"]).status == 0)
        #expect(try s.server.trove(["bucket", "create", "runs"]).status == 0)
        #expect(try s.aws(["s3", "cp", bigPath, "s3://runs/run-7/model/weights.bin"]).status == 0)
        #expect(try s.aws(["s3", "cp", small, "s3://runs/run-7/model/conf/s.txt"]).status == 0)
        #expect(try s.aws(["s3", "cp", small, "s3://runs/run-7x/other.txt"]).status == 0)
        // A directory marker (zero bytes, key ending in /) is left out.
        #expect(
            try s.aws(["s3api", "put-object", "--bucket", "runs", "--key", "run-7/model/empty/"]).status == 0)
        let (_, before) = try ClientE2E.json(s.server, ["stat"])

        var (r, j) = try ClientE2E.json(
            s.server,
            [
                "snapshot", "runs/run-7/model", "models/churn:7", "--meta", "run=7", "--message", "from run 7",
                "--parent", "datasets/base:1",
            ])
        #expect(r.status == 0, "\(r)")
        #expect(j["created"] as? Bool == true)
        #expect(ClientE2E.int(j["files"]) == 2)
        #expect(ClientE2E.int(j["logicalBytes"]) == 3_000_006)
        let (_, after) = try ClientE2E.json(s.server, ["stat"])
        #expect(ClientE2E.int(after["storedBytes"]) == ClientE2E.int(before["storedBytes"]), "no bytes moved")
        #expect(ClientE2E.int(after["versions"]) == 2)

        r = try s.server.trove(["pull", "models/churn:7", dir.path + "/out"])
        #expect(r.status == 0, "\(r)")
        #expect(try ClientE2E.read(dir.path + "/out/weights.bin") == big)
        #expect(try ClientE2E.read(dir.path + "/out/conf/s.txt") == Array("small\n".utf8))
        #expect(!FileManager.default.fileExists(atPath: dir.path + "/out/empty"))
        let (_, show) = try ClientE2E.json(s.server, ["show", "models/churn:7"])
        #expect(show["message"] as? String == "from run 7", "\(show)")
        #expect((show["metadata"] as? [String: Any])?["run"] as? String == "7")
        #expect(show["parents"] as? [String] == ["datasets/base:1"])
        r = try s.aws(["s3", "cp", "s3://versions/models/churn/7/conf/s.txt", dir.path + "/via-s3.txt"])
        #expect(r.status == 0, "\(r)")

        // The version does not follow later writes to the bucket.
        #expect(try s.aws(["s3", "cp", bigPath, "s3://runs/run-7/model/conf/s.txt"]).status == 0)
        r = try s.server.trove(["cat", "models/churn:7", "conf/s.txt"])
        #expect(r.stdout == "small\n", "\(r)")

        // The same snapshot again: unchanged (exit 0); other keys under the same tag: conflict.
        r = try s.server.trove([
            "snapshot", "s3://runs/run-7/model/", "models/churn:8", "--message", "m",
        ])
        #expect(r.status == 0 && r.stdout.contains("snapshot models/churn:8"), "\(r)")
        r = try s.server.trove(["snapshot", "s3://runs/run-7/model/", "models/churn:8", "--message", "m"])
        #expect(r.status == 0 && r.stdout.contains("unchanged models/churn:8"), "\(r)")
        r = try s.server.trove(["snapshot", "runs/run-7x", "models/churn:8", "--message", "m"])
        #expect(r.status == 4, "\(r)")
        // Refusals: nothing under the prefix, a key that is no path, a missing bucket or parent.
        r = try s.server.trove(["snapshot", "runs/run-", "models/churn:9"])
        #expect(r.status == 2 && r.stderr.contains("no keys under"), "\(r)")
        #expect(try s.aws(["s3", "cp", small, "s3://runs/bad/a//b.txt"]).status == 0)
        r = try s.server.trove(["snapshot", "runs/bad", "models/churn:9"])
        #expect(r.status == 2 && r.stderr.contains("a//b.txt"), "\(r)")
        r = try s.server.trove(["snapshot", "nosuch", "models/churn:9"])
        #expect(r.status == 3, "\(r)")
        r = try s.server.trove(["snapshot", "runs/run-7", "models/churn:9", "--parent", "nope:1"])
        #expect(r.status == 3, "\(r)")
        r = try s.server.trove(["snapshot", "runs/run-7", "not a ref"])
        #expect(r.status == 2, "\(r)")
        #expect(try s.server.trove(["show", "models/churn:9"]).status == 3)
    }

    @Test("scrub names the bucket keys whose objects damaged data affects")
    func scrubNamesBucketKeys() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("bucket-scrub")
        let path = try dir.write("w.bin", ClientE2E.random(seed: 882, count: 2_000_000))
        #expect(try s.server.trove(["bucket", "create", "art"]).status == 0)
        #expect(try s.aws(["s3", "cp", path, "s3://art/models/w.bin"]).status == 0)
        #expect(try ScrubEndToEndTests().damagePacks(s.server) == 1)
        let (r, j) = try ClientE2E.json(s.server, ["scrub"])
        #expect(r.status == 5, "\(r)")
        let keys = j["affectedBucketKeys"] as? [[String: String]] ?? []
        #expect(keys == [["bucket": "art", "key": "models/w.bin"]], "\(j)")
        // Until the same bytes are uploaded again, every scrub names the key.
        let text = try s.server.trove(["scrub"])
        #expect(text.status == 5 && text.stdout.contains("bucket-key-broken s3://art/models/w.bin"), "\(text)")
        #expect(text.stdout.contains("affected bucket keys:\n  s3://art/models/w.bin"), "\(text)")
        #expect(try s.aws(["s3", "cp", path, "s3://art/models/w.bin"]).status == 0)
        let healed = try s.server.trove(["scrub"])
        #expect(healed.status == 0, "\(healed)")
        #expect(try s.aws(["s3", "cp", "s3://art/models/w.bin", dir.path + "/back.bin"]).status == 0)
        #expect(try ClientE2E.read(dir.path + "/back.bin") == ClientE2E.read(path))
    }
}
