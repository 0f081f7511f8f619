import Foundation
import Testing
import TroveClient
import TroveCore

@Suite("pull refuses hostile trees")
struct HostileTests {
    static func tree(_ entries: [TreeEntry]) -> Tree { Tree(entries: entries) }
    let blob = SHA256.hash([UInt8]())

    @Test func unsafePathsAreRefusedBeforeWriting() {
        let hostile: [[TreeEntry]] = [
            [.file("/etc/passwd", blob: blob, size: 0)],
            [.file("../escape", blob: blob, size: 0)],
            [.file("a/../../escape", blob: blob, size: 0)],
            [.file("a//b", blob: blob, size: 0)],
            [.file("./a", blob: blob, size: 0)],
            [.file("a/", blob: blob, size: 0)],
            [.file("nul\u{0}byte", blob: blob, size: 0)],
            // Something beneath a symlink would be written through it.
            [.symlink("link", target: "sub"), .file("link/file", blob: blob, size: 0)],
            [.symlink("abs", target: "/etc")],
            [.symlink("up", target: "..")],
            [.symlink("a/b/up", target: "../../../x")],
            // Escapes only visible by resolving through another link of the tree.
            [.symlink("here", target: "."), .symlink("x", target: "here/..")],
            [.symlink("d/self", target: "."), .symlink("d/esc", target: "self/self/../..")],
            [.symlink("loop1", target: "loop2"), .symlink("loop2", target: "loop1")],
        ]
        for entries in hostile {
            #expect(throws: ClientError.self, "\(entries.map(\.path))") {
                try PullSafety.check(Self.tree(entries))
            }
        }
    }

    @Test func safeTreesPass() throws {
        let fine: [[TreeEntry]] = [
            [.file("a/b/c.bin", blob: blob, size: 0), .symlink("a/link", target: "b/c.bin")],
            [.symlink("a/b/up", target: "../../top"), .file("top", blob: blob, size: 0)],
            [.symlink("d/self", target: "."), .symlink("d/inside", target: "self/self/../x")],
            [.file("..hidden", blob: blob, size: 0), .file("a/...", blob: blob, size: 0)],
        ]
        for entries in fine { try PullSafety.check(Self.tree(entries)) }
        // Explicitly allowed external links pass; unsafe paths still do not.
        try PullSafety.check(Self.tree([.symlink("abs", target: "/etc")]), allowExternalSymlinks: true)
        #expect(throws: ClientError.self) {
            try PullSafety.check(Self.tree([.file("../x", blob: blob, size: 0)]), allowExternalSymlinks: true)
        }
    }

    @Test func aSymlinkPointingOutsideDestIsRefusedAndNothingIsWritten() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let outside = dir.url.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        try dir.write("src/data.bin", ClientE2E.random(seed: 91, count: 100_000))
        try FileManager.default.createSymbolicLink(
            atPath: dir.url.appendingPathComponent("src/evil").path, withDestinationPath: outside.path)
        try FileManager.default.createSymbolicLink(
            atPath: dir.url.appendingPathComponent("src/sneaky").path, withDestinationPath: "../../outside")
        #expect(try server.trove(["push", dir.url.appendingPathComponent("src").path, "h:1"]).status == 0)

        let dest = dir.url.appendingPathComponent("dest")
        let r = try server.trove(["pull", "h:1", dest.path])
        #expect(r.status == 5, "\(r)")
        #expect(r.stderr.contains("outside the destination"), "\(r)")
        let written = (try? FileManager.default.contentsOfDirectory(atPath: dest.path)) ?? []
        #expect(written.isEmpty, "\(written)")

        // Allowed explicitly: the links are created as links and nothing goes through them.
        let allowed = try server.trove(["pull", "h:1", dest.path, "--allow-external-symlinks"])
        #expect(allowed.status == 0, "\(allowed)")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(
                atPath: dest.appendingPathComponent("evil").path) == outside.path)
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
    }

    @Test func anExistingSymlinkInDestIsNeverWrittenThrough() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        try dir.write("src/sub/file.bin", ClientE2E.random(seed: 92, count: 50_000))
        #expect(try server.trove(["push", dir.url.appendingPathComponent("src").path, "h:2"]).status == 0)

        let outside = dir.url.appendingPathComponent("outside")
        try FileManager.default.createDirectory(at: outside, withIntermediateDirectories: true)
        let dest = dir.url.appendingPathComponent("dest")
        try FileManager.default.createDirectory(at: dest, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(
            atPath: dest.appendingPathComponent("sub").path, withDestinationPath: outside.path)

        let r = try server.trove(["pull", "h:2", dest.path, "--merge"])
        #expect(r.status == 5, "\(r)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
        // --force replaces the symlink itself (moved aside, then removed) and never follows it.
        let forced = try server.trove(["pull", "h:2", dest.path, "--force"])
        #expect(forced.status == 0, "\(forced)")
        #expect(try FileManager.default.contentsOfDirectory(atPath: outside.path).isEmpty)
        #expect(try FileManager.default.attributesOfItem(atPath: dest.appendingPathComponent("sub").path)[.type]
            as? FileAttributeType == .typeDirectory)
    }
}
