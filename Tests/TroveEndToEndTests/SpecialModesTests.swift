import Foundation
import Testing

/// Pull safety (issue 14): setuid, setgid and sticky bits are dropped unless
/// `--preserve-special-modes`; files and directories both get the tree's permission bits under
/// the umask. And troved refuses a config file others can read unless `--allow-readable-config`.
@Suite("pull modes and config permissions")
struct SpecialModesTests {
    static func mode(_ path: String) -> UInt32 {
        var st = stat()
        guard lstat(path, &st) == 0 else { return 0xFFFF_FFFF }
        return UInt32(st.st_mode) & 0o7777
    }

    static var umaskNow: UInt32 {
        let m = umask(0o022)
        umask(m)
        return UInt32(m)
    }

    @Test func specialBitsAreDroppedUnlessAskedAndTheUmaskAppliesToFilesAndDirectories() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let src = dir.url.appendingPathComponent("src").path
        let suid = try dir.write("src/bin/tool", Array("#!/bin/sh\necho hi\n".utf8))
        let open = try dir.write("src/shared.txt", Array("everyone writes\n".utf8))
        let sticky = src + "/drop"
        let group = src + "/team"
        try FileManager.default.createDirectory(atPath: sticky, withIntermediateDirectories: true)
        try FileManager.default.createDirectory(atPath: group, withIntermediateDirectories: true)
        #expect(chmod(suid, 0o4755) == 0 && chmod(open, 0o666) == 0)
        #expect(chmod(sticky, 0o1777) == 0 && chmod(group, 0o2770) == 0)
        let push = try server.trove(["push", src, "modes/t:1"])
        #expect(push.status == 0, "\(push)")
        let show = try server.trove(["show", "modes/t:1"])
        #expect(show.stdout.contains("4755"), "the tree keeps the pushed mode: \(show)")

        let mask = Self.umaskNow
        let plain = dir.path + "/plain"
        let r = try server.trove(["pull", "modes/t:1", plain])
        #expect(r.status == 0, "\(r)")
        #expect(Self.mode(plain + "/bin/tool") == 0o755 & ~mask)
        #expect(Self.mode(plain + "/shared.txt") == 0o666 & ~mask)
        #expect(Self.mode(plain + "/drop") == 0o777 & ~mask)
        #expect(Self.mode(plain + "/team") == 0o770 & ~mask)

        let kept = dir.path + "/kept"
        let k = try server.trove(["pull", "modes/t:1", kept, "--preserve-special-modes"])
        #expect(k.status == 0, "\(k)")
        #expect(Self.mode(kept + "/bin/tool") == 0o4000 | (0o755 & ~mask))
        #expect(Self.mode(kept + "/drop") == 0o1000 | (0o777 & ~mask))
        #expect(Self.mode(kept + "/team") == 0o2000 | (0o770 & ~mask))
    }

    @Test func trovedRefusesAConfigOthersCanReadUnlessAllowed() throws {
        let dir = try TemporaryDirectory()
        let config = try dir.write("troved.toml", Array("[server]\nlog_level = \"info\"\n".utf8))
        #expect(chmod(config, 0o644) == 0)
        // The root is a non-empty directory with no store: troved exits (1) right after the
        // permission check when it gets that far, so no server is left running.
        let args = ["--config", config, "--root", dir.path, "--listen", "127.0.0.1:0"]
        let refused = try CLI.troved(args)
        #expect(refused.status == 2, "\(refused)")
        #expect(refused.stderr.contains("refusing to start"), "\(refused)")
        #expect(refused.stderr.contains("chmod 600 \(config)"), "\(refused)")
        #expect(refused.stderr.contains("--allow-readable-config"), "\(refused)")
        #expect(!refused.stderr.contains("holds no trove.toml"), "\(refused)")

        let allowed = try CLI.troved(args + ["--allow-readable-config"])
        #expect(allowed.status == 1, "\(allowed)")
        #expect(allowed.stderr.contains("has mode 644"), "warned: \(allowed)")
        #expect(allowed.stderr.contains("holds no trove.toml"), "went past the check: \(allowed)")

        #expect(chmod(config, 0o600) == 0)
        let private600 = try CLI.troved(args)
        #expect(private600.status == 1, "\(private600)")
        #expect(!private600.stderr.contains("has mode"), "\(private600)")
        #expect(private600.stderr.contains("holds no trove.toml"), "\(private600)")
    }
}
