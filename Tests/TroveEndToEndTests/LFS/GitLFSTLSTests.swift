import Foundation
import Testing

/// The git-lfs batch API on an S3 listener that serves TLS: its links must be https:// (a
/// plaintext link to a TLS port is refused), driven by real git-lfs trusting a test CA
/// (`GIT_SSL_CAINFO`).
@Suite("git-lfs batch API over HTTPS")
struct GitLFSTLSTests {
    @Test("batch links are https://; git-lfs pushes and pulls through them")
    func batchOverHTTPS() throws {
        let ca = try TestCA()
        let pair = try ca.issue()
        let world = try GitLFSWorld(extraArguments: ["--tls-cert", pair.cert, "--tls-key", pair.key])
        let base = "https://\(world.server.s3Address)/_lfs/models"
        let repo = try world.repository("models", agent: false, lfsURL: base)
        let model = LFSFixtures.safetensors(size: 3 << 20, seed: 9)
        let oid = LFSFixtures.oid(model)
        try Data(model).write(to: repo.appendingPathComponent("model.safetensors"))
        try world.run(["add", "."], in: repo)
        try world.run(["commit", "-q", "-m", "v1"], in: repo)
        let trust = ["GIT_SSL_CAINFO": ca.certificate]
        try world.run(["push", "-q", "origin", "main"], in: repo, env: trust)

        // The batch answer itself: every href on this listener, over https.
        let script = """
            import json, os, ssl, urllib.request
            ctx = ssl.create_default_context(cafile=os.environ["CA"])
            body = json.dumps({"operation": "download", "transfers": ["basic"],
                               "objects": [{"oid": os.environ["OID"], "size": int(os.environ["SIZE"])}]}).encode()
            req = urllib.request.Request(os.environ["BASE"] + "/objects/batch", data=body, method="POST",
                                         headers={"Content-Type": "application/vnd.git-lfs+json"})
            with urllib.request.urlopen(req, context=ctx) as r:
                doc = json.load(r)
            href = doc["objects"][0]["actions"]["download"]["href"]
            assert href == os.environ["BASE"] + "/objects/" + os.environ["OID"], href
            print("ALL OK")
            """
        let file = try world.dir.write("batch-https.py", Array(script.utf8))
        let r = try S3Clients.run(
            try S3Clients.tool("python"), [file],
            environment: ["CA": ca.certificate, "BASE": base, "OID": oid, "SIZE": "\(model.count)"])
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)")

        let clone = world.dir.url.appendingPathComponent("clone")
        try world.clone(into: clone)
        try world.run(["config", "lfs.url", base], in: clone)
        try world.run(["lfs", "pull"], in: clone, env: trust)
        #expect(try world.sha256(clone.appendingPathComponent("model.safetensors")) == oid)
    }
}
