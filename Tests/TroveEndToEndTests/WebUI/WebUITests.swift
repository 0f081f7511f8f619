import Foundation
import Testing

/// The web view (`/_ui/` on the S3 listener) against a real troved over HTTP: status codes,
/// escaping of user data, prefix filtering, paging, presigned downloads.
@Suite("web view over HTTP")
struct WebUITests {
    /// data/raw:1 → models/m:1 → models/m:2, with `<script>` in a path, metadata and a message.
    static func seed(
        _ s: S3TestServer, _ dir: TemporaryDirectory, env: [String: String] = [:], beforeSecondMove: () -> Void = {}
    ) throws -> [UInt8] {
        let model = ClientE2E.random(seed: 2001, count: 300_000)
        _ = try dir.write("raw/data.bin", ClientE2E.random(seed: 2000, count: 200_000))
        _ = try dir.write("m1/model.bin", model)
        _ = try dir.write("m1/<script>alert(1)</script>.txt", Array("x\n".utf8))
        _ = try dir.write("m2/model.bin", model + ClientE2E.random(seed: 2002, count: 50_000))
        let meta1 = try dir.write(
            "meta1.json", Array(#"{"auc": 0.91, "note": "<script>alert(2)</script>", "<b>key": "v", "ok": true}"#.utf8))
        let meta2 = try dir.write("meta2.json", Array(#"{"auc": 0.95, "epochs": 12}"#.utf8))
        let steps: [[String]] = [
            ["push", dir.path + "/raw", "data/raw:1", "--message", "raw data"],
            [
                "push", dir.path + "/m1", "models/m:1", "--parent", "data/raw:1", "--meta-file", meta1, "--message",
                "<script>alert(3)</script>",
            ],
            ["push", dir.path + "/m2", "models/m:2", "--parent", "models/m:1", "--meta-file", meta2],
            ["alias", "set", "models/m", "prod", "1"],
            ["alias", "set", "models/m", "prod", "2"],
        ]
        for args in steps {
            if args == steps.last { beforeSecondMove() }
            let r = try s.server.trove(args, environment: env)
            #expect(r.status == 0, "\(args): \(r)")
        }
        return model
    }

    @Test("open access: every page answers, lineage and aliases are right, downloads work, user data is inert")
    func pages() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("webui")
        let model = try Self.seed(s, dir)
        let a = s.s3Address
        func get(_ target: String, status: Int = 200) throws -> HTTPReply {
            let r = try WebClient.get(a, target)
            #expect(r.status == status, "\(target): \(r)")
            #expect(!r.text.contains("<script"), "\(target) carries a live <script>: \(r)")
            return r
        }
        let list = try get("/_ui/")
        #expect(list.text.contains("models/m") && list.text.contains("data/raw"))
        #expect(list.headers["content-security-policy"]?.contains("default-src 'none'") == true)
        #expect(list.headers["content-type"] == "text/html; charset=utf-8")

        let v1 = try get("/_ui/version?name=models/m&version=1")
        #expect(v1.text.contains("&lt;script&gt;alert(1)&lt;/script&gt;.txt"), "escaped path")
        #expect(v1.text.contains("&lt;script&gt;alert(2)&lt;/script&gt;"), "escaped metadata value")
        #expect(v1.text.contains("&lt;b&gt;key"), "escaped metadata key")
        #expect(v1.text.contains("&lt;script&gt;alert(3)&lt;/script&gt;"), "escaped message")
        for ref in ["data/raw:1", "models/m:1", "models/m:2"] {
            #expect(v1.text.contains("data-ref=\"\(ref)\""), "lineage node \(ref)")
        }
        #expect(v1.links(class: "pill parent") == ["/_ui/version?name=data%2Fraw&version=1"])
        #expect(v1.links(class: "pill child") == ["/_ui/version?name=models%2Fm&version=2"])
        #expect(v1.text.contains("<td class=\"muted\">number</td>") && v1.text.contains("<td class=\"muted\">boolean</td>"))
        let download = try #require(v1.links(class: "download").first { $0.contains("model.bin") })
        #expect(download.hasPrefix("/versions/models/m/1/"), "\(download)")
        let file = try WebClient.get(a, download)
        #expect(file.status == 200 && file.body == model, "download: \(file.status) \(file.body.count) bytes")

        let v2 = try get("/_ui/version?name=models/m&version=prod")
        #expect(v2.text.contains("reached through the alias prod") && v2.text.contains("class=\"pill\" href=\"/_ui/alias"))

        let alias = try get("/_ui/alias?name=models/m&alias=prod")
        #expect(alias.text.components(separatedBy: "<tr><td class=\"mono\">").count - 1 == 2, "two moves")
        let before = try get("/_ui/alias?name=models/m&alias=prod&at=2001-01-01")
        #expect(before.text.contains("did not exist yet"), "\(before)")
        let now = try get("/_ui/alias?name=models/m&alias=prod&at=2999-01-01")
        #expect(now.text.contains("id=\"then\"") && now.text.contains("models/m:2</a>"), "\(now)")

        let diff = try get("/_ui/diff?a=models/m:1&b=models/m:2")
        #expect(diff.text.contains("id=\"sharing\"") && diff.text.contains("1 removed") && diff.text.contains("1 changed"))
        #expect(diff.text.contains("epochs") && diff.text.contains("0.95 (number)"))

        let never = try get("/_ui/store")
        #expect(never.text.components(separatedBy: "never (since this store").count - 1 == 2, "\(never)")
        let gc = try s.server.trove(["gc", "--grace", "0s"])
        #expect(gc.status == 0, "\(gc)")
        let scrub = try s.server.trove(["scrub"])
        #expect(scrub.status == 0, "\(scrub)")
        let store = try get("/_ui/store")
        #expect(store.text.contains("id=\"stats\"") && store.text.contains("Writable."))
        #expect(store.text.contains("<td>GC</td>") && store.text.contains("<span class=\"ok\">ok</span> freed"), "\(store)")
        #expect(store.text.contains("<td>Scrub</td>") && store.text.contains("<span class=\"ok\">ok</span> clean: checked"), "\(store)")
        #expect(!store.text.contains("never (since this store"), "\(store)")

        _ = try get("/_ui/nothing-here", status: 404)
        _ = try get("/_ui/version?name=models/m&version=9", status: 404)
        _ = try get("/_ui/version?name=models/m", status: 400)
        let reflected = try get("/_ui/?where=%3Cscript%3Ealert(4)%3C/script%3E", status: 400)
        #expect(reflected.text.contains("&lt;script&gt;alert(4)"))
        let post = try WebClient.get(a, "/_ui/", method: "POST")
        #expect(post.status == 405 && post.headers["allow"] == "GET, HEAD", "\(post)")
        let bare = try WebClient.get(a, "/_ui")
        #expect(bare.status == 301 && bare.headers["location"] == "/_ui/", "\(bare)")
        let head = try WebClient.get(a, "/_ui/store", method: "HEAD")
        #expect(head.status == 200 && head.body.isEmpty && Int(head.headers["content-length"] ?? "") ?? 0 > 0)
        // S3 is unaffected.
        let s3 = try WebClient.get(a, "/")
        #expect(s3.status == 200 && s3.text.contains("ListAllMyBucketsResult"), "\(s3)")
    }

    @Test("paging: the next links give every version once, newest first; metadata search selects in SQL")
    func paging() throws {
        let s = try S3TestServer()
        let dir = try TemporaryDirectory("webui-paging")
        let f = try dir.write("f.bin", ClientE2E.random(seed: 2100, count: 10_000))
        for i in 1...7 {
            let meta = try dir.write("m\(i).json", Array(#"{"epochs": \#(i)}"#.utf8))
            let r = try s.server.trove(["push", f, "p/n:\(i)", "--meta-file", meta])
            #expect(r.status == 0, "\(r)")
        }
        var target: String? = "/_ui/name?name=p/n&limit=3"
        var seen: [String] = []
        var pages = 0
        while let t = target, pages < 10 {
            let r = try WebClient.get(s.s3Address, t)
            #expect(r.status == 200, "\(t): \(r)")
            seen += r.links(class: "version")
            target = r.link(id: "next")
            pages += 1
        }
        #expect(pages == 3)
        #expect(seen == (1...7).reversed().map { "/_ui/version?name=p%2Fn&version=\($0)" }, "\(seen)")
        let found = try WebClient.get(s.s3Address, "/_ui/?prefix=p&where=epochs%3E%3D5")
        #expect(found.links(class: "version") == ["7", "6", "5"].map { "/_ui/version?name=p%2Fn&version=\($0)" }, "\(found)")
        let mixed = try WebClient.get(s.s3Address, "/_ui/?where=epochs%3E%3Dabc")
        #expect(mixed.status == 400, "\(mixed)")
    }

    @Test("tokens: Basic NAME:SECRET, read scope enough, prefixes respected on every page and link")
    func tokens() throws {
        let admin = try WebTokens.make("admin", "admin")
        let reader = try WebTokens.make("reader", "read", prefix: "team-a")
        let two = try WebTokens.make("two", "read", prefixes: ["team-a", "team-b"])
        let s = try S3TestServer(config: [admin.config, reader.config, two.config].joined(separator: "\n"))
        let dir = try TemporaryDirectory("webui-tokens")
        let bytes = ClientE2E.random(seed: 2200, count: 20_000)
        let f = try dir.write("f.bin", bytes)
        let env = ["TROVE_TOKEN": admin.token]
        for args in [
            ["push", f, "team-b/data:1"], ["push", f, "team-a/model:1", "--parent", "team-b/data:1"],
            ["push", f, "team-a/model:2", "--parent", "team-a/model:1"],
        ] {
            let r = try s.server.trove(args, environment: env)
            #expect(r.status == 0, "\(r)")
        }
        let a = s.s3Address
        let anonymous = try WebClient.get(a, "/_ui/")
        #expect(anonymous.status == 401 && anonymous.headers["www-authenticate"]?.hasPrefix("Basic") == true)
        let wrong = try WebClient.get(a, "/_ui/", headers: WebClient.basic("reader:" + String(repeating: "0", count: 48)))
        #expect(wrong.status == 401)
        let r = WebClient.basic(reader.token)
        let list = try WebClient.get(a, "/_ui/", headers: r)
        #expect(list.status == 200 && list.text.contains("team-a/model") && !list.text.contains("team-b"), "\(list)")
        #expect(try WebClient.get(a, "/_ui/version?name=team-b/data&version=1", headers: r).status == 404)
        #expect(try WebClient.get(a, "/_ui/name?name=team-b/data", headers: r).status == 404)
        #expect(try WebClient.get(a, "/_ui/?prefix=team-b", headers: r).status == 403)
        #expect(try WebClient.get(a, "/_ui/diff?a=team-b/data:1&b=team-a/model:1", headers: r).status == 404)
        let v = try WebClient.get(a, "/_ui/version?name=team-a/model&version=1", headers: r)
        #expect(v.status == 200 && !v.text.contains("team-b"), "\(v)")
        #expect(v.text.contains("outside your token&#39;s prefixes"), "\(v)")
        // The download link is presigned for the reader; a browser's Basic header along with it is ignored.
        let link = try #require(v.links(class: "download").first)
        #expect(link.contains("X-Amz-Signature=") && link.contains("X-Amz-Credential=reader"), "\(link)")
        let file = try WebClient.get(a, link, headers: r)
        #expect(file.status == 200 && file.body == bytes, "\(file.status)")
        let tampered = try WebClient.get(a, link.replacingOccurrences(of: "model/1/", with: "model/2/"))
        #expect(tampered.status == 403, "\(tampered)")
        // A token with two prefixes: the list starts at the first and offers both.
        let both = try WebClient.get(a, "/_ui/", headers: WebClient.basic(two.token))
        #expect(both.status == 200 && both.text.contains("Versions under team-a") && !both.text.contains("team-b/data:"))
        #expect(both.links(class: "pill") == ["/_ui/?prefix=team-a", "/_ui/?prefix=team-b"], "\(both)")
        let second = try WebClient.get(a, "/_ui/?prefix=team-b", headers: WebClient.basic(two.token))
        #expect(second.status == 200 && second.text.contains("team-b/data"), "\(second)")
        let adminView = try WebClient.get(a, "/_ui/version?name=team-b/data&version=1", headers: WebClient.basic(admin.token))
        #expect(adminView.status == 200 && adminView.text.contains("team-a/model:1"), "\(adminView)")
    }
}
