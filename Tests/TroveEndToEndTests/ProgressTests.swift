import Foundation
import Testing
import TroveCore

@testable import TroveClient

/// The progress line: phases, a bar with percent, and movement while a large file is hashed.
@Suite("progress display")
struct ProgressTests {
    @Test func barShowsPercent() {
        #expect(Progress.bar(done: 0, total: 100) == "[....................]   0%")
        #expect(Progress.bar(done: 25, total: 100) == "[#####...............]  25%")
        #expect(Progress.bar(done: 100, total: 100) == "[####################] 100%")
        #expect(Progress.bar(done: 200, total: 100) == "[####################] 100%")
    }

    /// While hashing, the bar follows the bytes the process reads, before the file is finished.
    @Test func hashingMovesWithTheBytesRead() throws {
        let dir = try TemporaryDirectory()
        let path = try dir.write("big.bin", [UInt8](repeating: 7, count: 4 << 20))
        let devNull = open("/dev/null", O_WRONLY)
        defer { close(devNull) }
        let progress = Progress(fd: devNull)
        defer { progress.stop() }
        progress.start(phase: "reading", total: 8 << 20)
        #expect(progress.currentLine().contains("hashing    [....................]   0%"))
        let fd = open(path, O_RDONLY)
        var buffer = [UInt8](repeating: 0, count: 1 << 20)
        while read(fd, &buffer, buffer.count) > 0 {}
        close(fd)
        // At least the 4 MiB just read (other threads' reads can only add, capped at the total).
        let line = progress.currentLine()
        let percent = line.split(separator: "]").last.flatMap {
            Int($0.split(separator: "%")[0].trimmingCharacters(in: .whitespaces))
        }
        #expect((percent ?? 0) >= 50, "\(line)")
    }

    /// Through a pseudo-terminal (`script`), a push draws every phase with a bar.
    @Test func pushOnATerminalShowsPhasesAndBar() throws {
        let server = try TestServer()
        let dir = try TemporaryDirectory()
        let file = try dir.write("m.bin", ClientE2E.random(seed: 141, count: 3_000_000))
        let out = dir.url.appendingPathComponent("typescript-out")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        let handle = try FileHandle(forWritingTo: out)
        let p = Process()
        p.executableURL = URL(fileURLWithPath: "/usr/bin/script")
        p.arguments = [
            "-q", "-e", "-c", "'\(try CLI.binary("trove").path)' push '\(file)' demo/p:1", "/dev/null",
        ]
        // The two-pass path, which has a sending phase of its own (a blob stream sends while hashing).
        p.environment = ProcessInfo.processInfo.environment.merging(server.environment) { $1 }
            .merging(["TROVE_PUSH_BLOB_STREAMS": "0"]) { $1 }
        p.standardInput = FileHandle.nullDevice
        p.standardOutput = handle
        p.standardError = handle
        try p.run()
        p.waitUntilExit()
        try handle.close()
        let text = try String(contentsOf: out, encoding: .utf8)
        #expect(p.terminationStatus == 0, "\(text)")
        for phase in [
            "hashing    [", "sending    [", "committing", "already on the server", "pushed demo/p:1",
        ] {
            #expect(text.contains(phase), "\(phase): \(text)")
        }
    }
}
