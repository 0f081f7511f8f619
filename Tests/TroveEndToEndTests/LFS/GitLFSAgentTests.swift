import Foundation
import Testing
import TroveCore

/// `trove lfs-agent` and `trove lfs install|uninstall` with real git and git-lfs: objects cross
/// the wire as chunks the store lacks, come back verified, and an interrupted push resumes.
@Suite("git-lfs agent", .serialized)
struct GitLFSAgentTests {
    static let mib = 1 << 20

    @Test(
        "push 64 MiB, then v2 with 5 % of its blocks changed: v2 sends ≤ 1.3× the changed bytes; clone is identical"
    )
    func pushChangedModelThenClone() throws {
        let world = try GitLFSWorld()
        let repo = try world.repository("models", agent: true)
        let config = try world.run(["config", "--local", "--get", "lfs.standalonetransferagent"], in: repo)
        #expect(config.stdout == "trove\n")

        // v1: a 64 MiB model and a small tokenizer.
        var model = LFSFixtures.safetensors(size: 64 * Self.mib, seed: 1)
        try Data(model).write(to: repo.appendingPathComponent("model.safetensors"))
        try Data(Array("tokens\n".utf8)).write(to: repo.appendingPathComponent("tokenizer.bin"))
        try world.run(["add", "."], in: repo)
        try world.run(["commit", "-q", "-m", "v1"], in: repo)
        try world.run(["push", "-q", "origin", "main"], in: repo)
        let v1 = LFSFixtures.oid(model)
        let first = try #require(world.uploads(of: v1).last, "no upload logged for v1 in \(world.logPath)")
        #expect(GitLFSWorld.number("rawBytesSent", in: first) ?? 0 >= UInt64(60 * Self.mib), "\(first)")

        // v2: 1 MiB blocks 7, 27 and 47 of 64 rewritten (3 blocks, 4.7 %).
        var rng = SplitMix64(seed: 2)
        let changedBlocks = [7, 27, 47]
        for b in changedBlocks {
            model.withUnsafeMutableBytes {
                rng.fill(UnsafeMutableRawBufferPointer(rebasing: $0[(b * Self.mib)..<((b + 1) * Self.mib)]))
            }
        }
        try Data(model).write(to: repo.appendingPathComponent("model.safetensors"))
        try world.run(["commit", "-q", "-a", "-m", "v2"], in: repo)
        // GIT_TRACE with GIT_TRANSFER_TRACE: the agent's complete event, with its counters, is in git's trace.
        let trace = world.dir.url.appendingPathComponent("trace").path
        try world.run(
            ["push", "-q", "origin", "main"], in: repo, env: ["GIT_TRACE": trace, "GIT_TRANSFER_TRACE": "1"])
        let v2 = LFSFixtures.oid(model)
        let traced = try String(contentsOfFile: trace, encoding: .utf8)
        let event = try #require(
            traced.split(separator: "\n").last { $0.contains(#""event":"complete","oid":"\#(v2)""#) }.map(
                String.init),
            "no complete event for v2 in the GIT_TRACE output")
        let second = try #require(world.uploads(of: v2).last, "no upload logged for v2 in \(world.logPath)")
        #expect(
            GitLFSWorld.number("rawBytesSent", in: event.replacingOccurrences(of: "\":", with: "="))
                == GitLFSWorld.number("rawBytesSent", in: second), "\(event)")
        let sent = try #require(GitLFSWorld.number("rawBytesSent", in: second))
        let wire = try #require(GitLFSWorld.number("wireBytesSent", in: second))
        let changed = UInt64(changedBlocks.count * Self.mib)
        print(
            "git-lfs v2 (\(changedBlocks.count) of 64 MiB blocks changed): rawBytesSent=\(sent) wireBytesSent=\(wire) "
                + "= \(Double(sent) / Double(changed))× the \(changed) changed bytes")
        #expect(sent >= changed && Double(sent) <= 1.3 * Double(changed), "\(second)")
        #expect(Double(wire) <= 1.3 * Double(changed), "\(second)")

        // A fresh clone (objects through the agent) has identical bytes, and git lfs fsck passes.
        let clone = world.dir.url.appendingPathComponent("clone")
        try world.clone(into: clone)
        let install = try world.trove(
            ["lfs", "install", "--server", world.server.server.address, "--bucket", "lfs-models"], in: clone)
        #expect(install.status == 0, "\(install)")
        try world.run(["lfs", "pull"], in: clone)
        #expect(
            try world.sha256(clone.appendingPathComponent("model.safetensors")) == v2,
            "the cloned model differs from v2")
        #expect(
            try world.sha256(clone.appendingPathComponent("tokenizer.bin"))
                == LFSFixtures.oid(Array("tokens\n".utf8)))
        try world.run(["lfs", "fetch", "--all"], in: clone)
        let fsck = try world.run(["lfs", "fsck"], in: clone)
        #expect(fsck.stdout.contains("OK"), "\(fsck)")
        let log = (try? String(contentsOfFile: world.logPath, encoding: .utf8)) ?? ""
        #expect(
            log.contains("trove lfs-agent: download \(v1):"), "v1 was not fetched through the agent:\n\(log)")

        // uninstall removes the agent config.
        let un = try world.trove(["lfs", "uninstall"], in: clone)
        #expect(un.status == 0 && un.stdout.contains("removed lfs.standalonetransferagent"), "\(un)")
        let gone = try world.run(
            ["config", "--local", "--get", "lfs.standalonetransferagent"], in: clone, check: false)
        #expect(gone.status == 1, "\(gone)")
    }

    @Test("an upload interrupted by SIGINT completes on re-run without re-sending what arrived")
    func interruptedPushResumes() throws {
        let world = try GitLFSWorld()
        let repo = try world.repository("resume", agent: true)
        let size = 56 * Self.mib
        let model = LFSFixtures.safetensors(size: size, seed: 3)
        let oid = LFSFixtures.oid(model)
        try Data(model).write(to: repo.appendingPathComponent("model.bin"))
        try world.run(["add", "."], in: repo)
        try world.run(["commit", "-q", "-m", "v1"], in: repo)

        // The agent stops after 4 MiB are acknowledged (up to four 8 MiB PUTs are in flight by
        // then); SIGINT to it and to git push then.
        let p = Process()
        p.executableURL = URL(fileURLWithPath: world.git)
        p.arguments = ["push", "-q", "origin", "main"]
        p.environment = ProcessInfo.processInfo.environment.merging(
            try world.environment(["TROVE_LFS_PAUSE_AFTER": String(4 * Self.mib)])
        ) { $1 }
        p.currentDirectoryURL = repo
        p.standardOutput = FileHandle.nullDevice
        p.standardError = FileHandle.nullDevice
        try p.run()
        var paused: String?
        let deadline = Date().addingTimeInterval(120)
        while paused == nil, Date() < deadline, p.isRunning {
            let log = (try? String(contentsOfFile: world.logPath, encoding: .utf8)) ?? ""
            paused = log.split(separator: "\n").first { $0.contains("paused after") }.map(String.init)
            if paused == nil { usleep(20_000) }
        }
        let line = try #require(
            paused, "the agent never reported the pause; git push running: \(p.isRunning)")
        let arrived = try #require(line.split(separator: " ").compactMap { UInt64($0) }.first)
        let agentPID = try #require(line.split(separator: "(pid ").last.flatMap { Int32($0.dropLast()) })
        kill(agentPID, SIGINT)
        kill(p.processIdentifier, SIGINT)
        p.waitUntilExit()
        #expect(world.uploads(of: oid).isEmpty, "the interrupted upload must not have completed")

        try world.run(["push", "-q", "origin", "main"], in: repo)
        let done = try #require(world.uploads(of: oid).last, "no upload logged after the re-run")
        let sent = try #require(GitLFSWorld.number("rawBytesSent", in: done))
        print("git-lfs resume: \(arrived) bytes arrived before SIGINT, re-run sent \(sent) of \(size)")
        #expect(arrived >= UInt64(4 * Self.mib))
        #expect(sent > 0, "the re-run sent nothing: the upload was not interrupted mid-transfer")
        #expect(sent + arrived <= UInt64(size), "the re-run re-sent chunks that had arrived: \(done)")
        #expect(done.contains("(resumed)"), "the re-run did not resume the lease: \(done)")

        // The object is whole on the server: a clone gets it.
        let clone = world.dir.url.appendingPathComponent("clone")
        try world.clone(into: clone)
        try world.trove(
            ["lfs", "install", "--server", world.server.server.address, "--bucket", "lfs-resume"], in: clone)
        try world.run(["lfs", "pull"], in: clone)
        #expect(try world.sha256(clone.appendingPathComponent("model.bin")) == oid)
    }
}
