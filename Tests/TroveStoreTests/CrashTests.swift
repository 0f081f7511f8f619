import Foundation
import Testing
import TroveCore

@testable import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// Locates the `trove-torture` executable: `TROVE_BIN_DIR`, else next to the test bundle.
func tortureBinary() -> String? {
    var dirs: [String] = []
    if let d = ProcessInfo.processInfo.environment["TROVE_BIN_DIR"] { dirs.append(d) }
    let argv0 = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
    dirs.append(argv0.deletingLastPathComponent().path)
    dirs.append(argv0.deletingLastPathComponent().deletingLastPathComponent().path)
    for d in dirs where FileManager.default.isExecutableFile(atPath: d + "/trove-torture") {
        return d + "/trove-torture"
    }
    return nil
}

/// What a killed child said it had made durable.
struct Acknowledged {
    var chunks: [Digest] = []
    var trees: [Digest] = []
    var versions: [(String, String, Digest)] = []
    var aliases: [(String, String, String)] = []

    init(_ output: String) {
        // Only complete lines count: a line cut by the kill was never fully acknowledged.
        var lines = output.split(separator: "\n", omittingEmptySubsequences: false)
        if !output.hasSuffix("\n") { lines.removeLast() }
        for line in lines {
            let f = line.split(separator: " ").map(String.init)
            switch f.first {
            case "CHUNK": if let d = Digest(hex: f[1]) { chunks.append(d) }
            case "TREE": if let d = Digest(hex: f[1]) { trees.append(d) }
            case "VERSION": if f.count == 4, let d = Digest(hex: f[3]) { versions.append((f[1], f[2], d)) }
            case "ALIAS": if f.count == 4 { aliases.append((f[1], f[2], f[3])) }
            default: break
            }
        }
    }
}

@Suite("Crash safety", .serialized,
    .disabled(if: TestCatalog.onPostgres, "its child process (trove-torture) opens the SQLite catalog only"))
struct CrashTests {
    /// Cycles: `TROVE_CRASH_CYCLES` (default 200).
    static var cycles: Int { Int(ProcessInfo.processInfo.environment["TROVE_CRASH_CYCLES"] ?? "") ?? 200 }

    @Test func sigkillAtRandomPointsLosesNothingAcknowledged() throws {
        guard let binary = tortureBinary() else {
            Issue.record(
                "trove-torture not found; build all products (swift build --build-tests) or set TROVE_BIN_DIR"
            )
            return
        }
        let root = tempStorePath("crash")
        defer { cleanup(root) }
        _ = try createStore(at: root)  // released at once (the child takes the lock)
        var rng = TestRandom(seed: UInt64(time(nil)))
        var totalAcks = 0
        var allChunks: [Digest] = []
        var killedBeforeReady = 0
        for cycle in 0..<CrashTests.cycles {
            let p = Process()
            p.executableURL = URL(fileURLWithPath: binary)
            p.arguments = [root, String(cycle), String(64 << 10 + Int(rng.next() % (256 << 10)))]
            let out = Pipe()
            p.standardOutput = out
            p.standardError = FileHandle.nullDevice
            let collected = OutputCollector()
            let reader = Thread {
                while true {
                    let d = out.fileHandleForReading.availableData
                    if d.isEmpty { break }
                    collected.append(d)
                }
                collected.finish()
            }
            try p.run()
            reader.start()
            if rng.next() % 8 == 0 {
                // Kill during start-up and recovery.
                usleep(UInt32(rng.next() % 60_000))
            } else {
                // Kill at a random point while writing.
                collected.waitForReady(timeout: 20)
                usleep(UInt32(rng.next() % 120_000))
            }
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            collected.waitForEnd()
            if !collected.text.hasPrefix("READY") { killedBeforeReady += 1 }
            let data = Data(collected.text.utf8)
            let acked = Acknowledged(String(decoding: data, as: UTF8.self))
            totalAcks += acked.chunks.count + acked.trees.count + acked.versions.count + acked.aliases.count
            allChunks += acked.chunks

            let store = try openStore(at: root)
            let deep = cycle % 25 == 24 || cycle == CrashTests.cycles - 1
            let report = try store.fsck(deep: deep)
            #expect(report.isClean, "cycle \(cycle): \(report.violations.prefix(5))")
            #expect(try store.missing(acked.chunks).isEmpty, "cycle \(cycle): acknowledged chunks lost")
            for d in acked.chunks.suffix(3) { _ = try store.readChunk(d) }
            for t in acked.trees { #expect(try store.hasTree(t), "cycle \(cycle): tree lost") }
            for (n, v, t) in acked.versions {
                #expect(
                    try store.version(name: n, version: v)?.tree == t,
                    "cycle \(cycle): version \(n):\(v) lost")
            }
            for (n, a, v) in acked.aliases {
                #expect(
                    try store.aliasHistory(name: n, alias: a).contains { $0.to == v },
                    "cycle \(cycle): alias move lost")
            }
            if !report.isClean { break }
        }
        let store = try openStore(at: root)
        #expect(try store.missing(allChunks).isEmpty)
        #expect(totalAcks > CrashTests.cycles, "the child acknowledged too little to be a meaningful test")
        print(
            "crash test: \(CrashTests.cycles) cycles (\(killedBeforeReady) killed before ready), \(totalAcks) acknowledged writes, \(try store.stats().chunkCount) chunks"
        )
    }
}

/// Collects a child's stdout on a reader thread.
final class OutputCollector: @unchecked Sendable {
    private let cond = NSCondition()
    private var data = Data()
    private var ended = false

    func append(_ d: Data) {
        cond.withLock {
            data += d
            cond.broadcast()
        }
    }
    func finish() {
        cond.withLock {
            ended = true
            cond.broadcast()
        }
    }
    func waitForReady(timeout: Double) {
        let deadline = Date().addingTimeInterval(timeout)
        cond.withLock {
            while !ended && !data.starts(with: Data("READY\n".utf8)) {
                if !cond.wait(until: deadline) { return }
            }
        }
    }
    func waitForEnd() {
        cond.withLock { while !ended { cond.wait() } }
    }
    var text: String { cond.withLock { String(decoding: data, as: UTF8.self) } }
}
