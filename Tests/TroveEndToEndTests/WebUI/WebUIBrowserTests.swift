import Foundation
import Testing
import TroveCore

/// The web view in a real browser: Debian's headless Chromium driven by Selenium (from `.venv-ui`,
/// which scripts/setup.d/40-browser.sh installs), one session for every check. Screenshots of each
/// page go to `.ui-screenshots/` in the package (not committed; CI keeps them as artifacts).
@Suite("web view in a browser")
struct WebUIBrowserTests {
    @Test("pages load without console errors; files, lineage, navigation, alias timeline, search, prefixes, inert <script>")
    func browser() throws {
        for exe in ["/usr/bin/chromium", "/usr/bin/chromedriver"] where !FileManager.default.isExecutableFile(atPath: exe) {
            Issue.record("\(exe) is missing: run `bash scripts/setup-tests` (scripts/setup.d/40-browser.sh installs chromium and chromium-driver)")
            return
        }
        let admin = try WebTokens.make("admin", "admin")
        let reader = try WebTokens.make("reader", "read", prefix: "team-a")
        let s = try S3TestServer(config: admin.config + "\n" + reader.config)
        let dir = try TemporaryDirectory("webui-browser")
        let env = ["TROVE_TOKEN": admin.token]
        _ = try WebUITests.seed(s, dir, env: env, beforeSecondMove: {
            // The two alias moves in different milliseconds, so the first one has an instant of its own.
            func now() -> Int64 { Int64(Date().timeIntervalSince1970 * 1000) }
            let t = now()
            while now() <= t + 1 { usleep(1000) }
        })
        let f = try dir.write("t.bin", ClientE2E.random(seed: 2300, count: 10_000))
        for args in [["push", f, "team-b/data:1"], ["push", f, "team-a/model:1", "--parent", "team-b/data:1"]] {
            let r = try s.server.trove(args, environment: env)
            #expect(r.status == 0, "\(r)")
        }
        #expect(try s.server.trove(["gc", "--grace", "0s"], environment: env).status == 0)
        let history = try s.server.trove(["alias", "history", "models/m", "prod"], environment: env)
        let hj = try s.server.trove(["alias", "history", "models/m", "prod", "--json"], environment: env)
        let moves = try #require(try JSONSerialization.jsonObject(with: hj.stdoutData) as? [[String: Any]])
        let firstMove = try #require((moves.last?["atMillis"] as? NSNumber)?.int64Value)
        let search = try s.server.trove(["ls", "--where", "auc>=0.93"], environment: env)
        #expect(history.status == 0 && search.status == 0, "\(history)\n\(search)")
        let expected: [String: Any] = [
            "files": ["<script>alert(1)</script>.txt", "model.bin"],
            "lineage": ["data/raw:1", "models/m:1", "models/m:2"],
            "history": history.lines,
            "firstMove": RefTime.format(firstMove),
            "search": search.lines.map { String($0.split(separator: "\t")[0]) },
        ]
        #expect((expected["search"] as? [String]) == ["models/m:2"], "\(search)")
        #expect(history.lines.count == 2, "\(history)")
        let shots = S3Clients.packageRoot.appendingPathComponent(".ui-screenshots").path
        let json = String(decoding: try JSONSerialization.data(withJSONObject: expected), as: UTF8.self)
        let r = try s.python(
            WebUIBrowserScript.script,
            extra: [
                "UI_BASE": s.endpoint, "SHOT_DIR": shots, "ADMIN_TOKEN": admin.token, "READ_TOKEN": reader.token,
                "EXPECTED": json,
            ], venv: ".venv-ui")
        #expect(r.status == 0 && r.stdout.contains("ALL OK"), "\(r)\n--- troved ---\n\(s.server.log().suffix(3000))")
    }
}
