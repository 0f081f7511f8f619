import Foundation
import Testing
import TroveCore

@Suite("trove pull")
struct PullTests {
    /// A directory with subdirectories, modes, symlinks, an empty file and directory, and
    /// duplicate content.
    static func makeTree(_ dir: TemporaryDirectory) throws -> URL {
        let root = dir.url.appendingPathComponent("src")
        let shared = ClientE2E.random(seed: 21, count: 700_000)
        try dir.write("src/model/weights.bin", ClientE2E.random(seed: 20, count: 1_500_000))
        try dir.write("src/model/copy.bin", shared)
        try dir.write("src/data/deep/er/copy-again.bin", shared)
        try dir.write("src/data/empty.txt", [])
        try dir.write("src/run.sh", Array("#!/bin/sh\necho hi\n".utf8))
        try dir.write("src/secret.txt", Array("s3cret".utf8))
        let fm = FileManager.default
        try fm.setAttributes(
            [.posixPermissions: 0o755], ofItemAtPath: root.appendingPathComponent("run.sh").path)
        try fm.setAttributes(
            [.posixPermissions: 0o600], ofItemAtPath: root.appendingPathComponent("secret.txt").path)
        try fm.createDirectory(
            at: root.appendingPathComponent("empty-dir"), withIntermediateDirectories: true)
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("latest").path, withDestinationPath: "model/weights.bin")
        try fm.createSymbolicLink(
            atPath: root.appendingPathComponent("data/deep/up").path, withDestinationPath: "../../model")
        return root
    }

    /// Every entry under `root`: relative path → (kind, permission bits, content or link target).
    static func snapshot(_ root: URL) throws -> [String: String] {
        let fm = FileManager.default
        var out: [String: String] = [:]
        func walk(_ rel: String) throws {
            let dir = rel.isEmpty ? root : root.appendingPathComponent(rel)
            for name in try fm.contentsOfDirectory(atPath: dir.path) {
                let r = rel.isEmpty ? name : rel + "/" + name
                let p = root.appendingPathComponent(r).path
                let attrs = try fm.attributesOfItem(atPath: p)
                let type = attrs[.type] as? FileAttributeType
                let perms = (attrs[.posixPermissions] as? NSNumber)?.intValue ?? -1
                if type == .typeSymbolicLink {
                    out[r] = "link " + (try fm.destinationOfSymbolicLink(atPath: p))
                } else if type == .typeDirectory {
                    out[r] = "dir"
                    try walk(r)
                } else {
                    out[r] = "file \(String(perms, radix: 8)) " + ClientE2E.digest(try ClientE2E.read(p))
                }
            }
        }
        try walk("")
        return out
    }

    @Test func directoryRoundTripsByteForByteWithModesAndSymlinks() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let src = try Self.makeTree(dir)
        let push = try server.trove(["push", src.path, "datasets/tree:1"])
        #expect(push.status == 0, "\(push)")

        let dest = dir.url.appendingPathComponent("out")
        let (pull, j) = try ClientE2E.json(server, ["pull", "datasets/tree:1", dest.path])
        #expect(pull.status == 0, "\(pull)")
        #expect(try Self.snapshot(dest) == (try Self.snapshot(src)))
        // The shared file's chunks were fetched once.
        #expect(ClientE2E.int(j["bytesFetched"]) == 1_500_000 + 700_000 + 18 + 6)
        #expect(ClientE2E.int(j["bytesWritten"]) == 1_500_000 + 2 * 700_000 + 18 + 6)
        #expect(
            ClientE2E.int(j["chunksReused"]) == 0 && ClientE2E.int(j["bytesChecked"]) == 0,
            "nothing to resume")
        // No temporary files are left behind.
        let leftovers = try Self.snapshot(dest).keys.filter { $0.contains(".trove-") }
        #expect(leftovers.isEmpty)
    }

    @Test func singleFileByDigestRefIntoCurrentDirectory() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let data = ClientE2E.random(seed: 22, count: 2_000_000)
        let path = try dir.write("in/blob.bin", data)
        let (push, j) = try ClientE2E.json(server, ["push", path, "files/one:1"])
        #expect(push.status == 0, "\(push)")
        let tree = try #require(j["tree"] as? String)

        let cwd = dir.url.appendingPathComponent("cwd")
        try FileManager.default.createDirectory(at: cwd, withIntermediateDirectories: true)
        let pull = try server.trove(["pull", "files/one@\(tree)"], directory: cwd)
        #expect(pull.status == 0, "\(pull)")
        #expect(try ClientE2E.read(cwd.appendingPathComponent("blob.bin").path) == data)

        // Pulling again into the now non-empty directory is refused; --merge writes over the copy.
        let refused = try server.trove(["pull", "files/one:1", cwd.path])
        #expect(refused.status == 4, "\(refused)")
        let again = try server.trove(["pull", "files/one:1", cwd.path, "--merge"])
        #expect(again.status == 0, "\(again)")
        #expect(try ClientE2E.read(cwd.appendingPathComponent("blob.bin").path) == data)
    }

    @Test func unknownRefExits3() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let r = try server.trove(["pull", "nothing/here:1", dir.path])
        #expect(r.status == 3, "\(r)")
        let bad = try server.trove(["pull", "no-tag", dir.path])
        #expect(bad.status == 2, "\(bad)")
    }
}
