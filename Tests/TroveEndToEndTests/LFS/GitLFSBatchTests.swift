import Foundation
import Testing
import TroveCore

/// The git-lfs HTTP batch API on the S3 listener, driven by real git-lfs with no agent
/// configured (`lfs.url` alone), with tokens (HTTP Basic) and against hostile requests.
@Suite("git-lfs batch API", .serialized)
struct GitLFSBatchTests {
    static let secrets = [
        "dev": "d-0123456789abcdef0123456789abcdef", "other": "o-0123456789abcdef0123456789abcdef",
    ]

    static var config: String {
        func hash(_ name: String) -> String { SHA256.hash(Array(secrets[name]!.utf8)).hex }
        return """
            [tokens.dev]
            sha256 = "\(hash("dev"))"
            scope = "write"
            prefixes = ["lfs-models"]

            [tokens.other]
            sha256 = "\(hash("other"))"
            scope = "write"
            prefixes = ["lfs-elsewhere"]
            """
    }

    func url(_ world: GitLFSWorld, token: String?, secret: String? = nil) -> String {
        let host = world.server.s3Address
        guard let token else { return "http://\(host)/_lfs/models" }
        return "http://\(token):\(secret ?? Self.secrets[token]!)@\(host)/_lfs/models"
    }

    @Test(
        "push and clone through the batch API alone; the agent reads the same objects; a wrong token is refused"
    )
    func batchWithTokens() throws {
        let world = try GitLFSWorld(config: Self.config)
        let repo = try world.repository("models", agent: false, lfsURL: url(world, token: "dev"))
        let model = LFSFixtures.safetensors(size: 6 << 20, seed: 5)
        let oid = LFSFixtures.oid(model)
        try Data(model).write(to: repo.appendingPathComponent("model.safetensors"))
        try world.run(["add", "."], in: repo)
        try world.run(["commit", "-q", "-m", "v1"], in: repo)

        // A wrong secret, and a token whose prefixes do not cover lfs-models: refused, nothing stored.
        for bad in [url(world, token: "dev", secret: "d-wrong"), url(world, token: "other")] {
            try world.run(["config", "lfs.url", bad], in: repo)
            let refused = try world.run(["push", "-q", "origin", "main"], in: repo, check: false)
            #expect(refused.status != 0, "a push with \(bad) must fail: \(refused)")
            let why = refused.stdout + refused.stderr
            #expect(
                ["401", "403", "uthoriz", "orbidden", "redentials"].contains { why.contains($0) },
                "the refusal must be an authentication or permission error: \(refused)")
        }
        // The right token: the push goes through the batch API (no agent configured).
        try world.run(["config", "lfs.url", url(world, token: "dev")], in: repo)
        let agent = try world.run(["config", "--get", "lfs.standalonetransferagent"], in: repo, check: false)
        #expect(agent.status == 1, "no agent may be configured in this test")
        try world.run(["push", "-q", "origin", "main"], in: repo)
        #expect(
            !FileManager.default.fileExists(atPath: world.logPath),
            "the agent ran, but no agent is configured")

        // Clone through the batch API.
        let clone = world.dir.url.appendingPathComponent("clone")
        try world.clone(into: clone)
        try world.run(["config", "lfs.url", url(world, token: "dev")], in: clone)
        try world.run(["lfs", "pull"], in: clone)
        #expect(try world.sha256(clone.appendingPathComponent("model.safetensors")) == oid)
        let fsck = try world.run(["lfs", "fsck"], in: clone)
        #expect(fsck.stdout.contains("OK"), "\(fsck)")

        // The agent reads what the batch API stored (same bucket, same keys).
        let viaAgent = world.dir.url.appendingPathComponent("agent-clone")
        try world.clone(into: viaAgent)
        try world.trove(
            ["lfs", "install", "--server", world.server.server.address, "--bucket", "lfs-models"],
            in: viaAgent)
        // A token whose prefixes do not cover the bucket is refused over the binary protocol too.
        let refused = try world.run(
            ["lfs", "pull"], in: viaAgent, env: ["TROVE_TOKEN": "other:\(Self.secrets["other"]!)"],
            check: false)
        #expect(
            refused.status != 0 && refused.stderr.contains("may only touch names under lfs-elsewhere"),
            "\(refused)")
        try world.run(["lfs", "pull"], in: viaAgent, env: ["TROVE_TOKEN": "dev:\(Self.secrets["dev"]!)"])
        #expect(try world.sha256(viaAgent.appendingPathComponent("model.safetensors")) == oid)
    }

    @Test(
        "hostile requests: bad oids, bodies that do not hash to their oid, oversized and malformed batches, locks"
    )
    func hostileRequests() throws {
        let world = try GitLFSWorld()
        let python = try S3Clients.tool("python")
        let script = """
            import http.client, json, os, sys
            host, port = os.environ["LFS_HOST"].split(":")
            def req(method, path, body=b"", headers=None):
                c = http.client.HTTPConnection(host, int(port), timeout=60)
                c.request(method, path, body=body, headers=headers or {})
                r = c.getresponse()
                data = r.read()
                c.close()
                return r.status, data
            out = {}
            good = "ab" * 32
            body = b"hello lfs\\n"
            import hashlib
            oid = hashlib.sha256(body).hexdigest()
            batch = lambda op, objs: json.dumps({"operation": op, "transfers": ["basic"], "objects": objs}).encode()
            out["badOid"] = req("POST", "/_lfs/repo/objects/batch", batch("upload", [{"oid": "../../x", "size": 1}]))[0]
            out["upperOid"] = req("POST", "/_lfs/repo/objects/batch", batch("upload", [{"oid": good.upper(), "size": 1}]))[0]
            out["negative"] = req("POST", "/_lfs/repo/objects/batch", batch("upload", [{"oid": good, "size": -1}]))[0]
            out["notJSON"] = req("POST", "/_lfs/repo/objects/batch", b"{not json")[0]
            # An oversized batch is refused on its Content-Length, before the body is read.
            c = http.client.HTTPConnection(host, int(port), timeout=60)
            c.putrequest("POST", "/_lfs/repo/objects/batch")
            c.putheader("Content-Length", str(2 << 20))
            c.endheaders()
            out["tooBig"] = c.getresponse().status
            c.close()
            out["tooMany"] = req("POST", "/_lfs/repo/objects/batch", batch("download", [{"oid": good, "size": 1}] * 1001))[0]
            out["badRepo"] = req("POST", "/_lfs/Bad_Repo/objects/batch", batch("download", []))[0]
            out["locks"] = req("POST", "/_lfs/repo/locks/verify", b"{}")[0]
            out["wrongBody"] = req("PUT", "/_lfs/repo/objects/" + good, body)[0]
            out["missing"] = req("GET", "/_lfs/repo/objects/" + good)[0]
            s, d = req("POST", "/_lfs/repo/objects/batch", batch("upload", [{"oid": oid, "size": len(body)}]), {"Host": "127.0.0.1:1"})
            out["upload"] = [s, json.loads(d)]
            out["put"] = req("PUT", "/_lfs/repo/objects/" + oid, body)[0]
            out["verify"] = req("POST", "/_lfs/repo/objects/verify", json.dumps({"oid": oid, "size": len(body)}).encode())[0]
            out["verifyWrongSize"] = req("POST", "/_lfs/repo/objects/verify", json.dumps({"oid": oid, "size": 3}).encode())[0]
            s, d = req("GET", "/_lfs/repo/objects/" + oid)
            out["get"] = [s, d.decode()]
            s, d = req("POST", "/_lfs/repo/objects/batch", batch("upload", [{"oid": oid, "size": len(body)}]))
            out["again"] = json.loads(d)
            print(json.dumps(out))
            """
        let file = try world.dir.write("hostile.py", Array(script.utf8))
        let r = try S3Clients.run(python, [file], environment: ["LFS_HOST": world.server.s3Address])
        #expect(r.status == 0, "\(r)")
        let out = try #require(try JSONSerialization.jsonObject(with: r.stdoutData) as? [String: Any], "\(r)")
        for k in ["badOid", "upperOid", "negative", "notJSON", "tooMany"] {
            #expect(out[k] as? Int == 422, "\(k): \(out[k] ?? "-")")
        }
        #expect(out["tooBig"] as? Int == 413)
        #expect(out["badRepo"] as? Int == 404 && out["locks"] as? Int == 404 && out["missing"] as? Int == 404)
        #expect(
            (out["wrongBody"] as? Int).map { $0 == 400 } == true,
            "a body that does not hash to its oid is refused")
        let upload = try #require(out["upload"] as? [Any])
        #expect(upload[0] as? Int == 200)
        let answer = try #require(upload[1] as? [String: Any])
        let objects = try #require(answer["objects"] as? [[String: Any]])
        let actions = try #require(objects.first?["actions"] as? [String: Any])
        let href = try #require((actions["upload"] as? [String: Any])?["href"] as? String)
        #expect(href.hasPrefix("http://127.0.0.1:1/_lfs/repo/objects/"))
        #expect(
            out["put"] as? Int == 200 && out["verify"] as? Int == 200 && out["verifyWrongSize"] as? Int == 404
        )
        #expect((out["get"] as? [Any])?.last as? String == "hello lfs\n")
        let again = try #require((out["again"] as? [String: Any])?["objects"] as? [[String: Any]])
        #expect(again.first?["actions"] == nil, "an object already stored needs no upload")
    }
}
