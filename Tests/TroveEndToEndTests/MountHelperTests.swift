import Foundation
import Testing

/// `trove` runs on hosts without FUSE: only the `trove-mount` helper links libfuse3, and
/// `trove mount` says what to install when the helper is missing.
@Suite("trove mount helper")
struct MountHelperTests {
    /// The shared libraries `ldd` lists for a built executable.
    static func linkedLibraries(_ name: String) throws -> String {
        let r = try CLI.runTool(path: "/usr/bin/ldd", [try CLI.binary(name).path])
        try #require(r.status == 0, "ldd failed: \(r.output)")
        return r.output
    }

    @Test func troveDoesNotLinkLibfuseButTheHelperDoes() throws {
        let trove = try Self.linkedLibraries("trove")
        #expect(!trove.contains("libfuse"), "trove links libfuse:\n\(trove)")
        #expect(trove.contains("libswiftCore"), "unexpected ldd output:\n\(trove)")
        let helper = try Self.linkedLibraries("trove-mount")
        #expect(helper.contains("libfuse3"), "trove-mount does not link libfuse3:\n\(helper)")
    }

    @Test func aMissingHelperIsAClearErrorNamingWhatToInstall() throws {
        let tmp = try TemporaryDirectory("trove-mount-helper")
        let lone = tmp.url.appendingPathComponent("trove").path
        try FileManager.default.copyItem(atPath: try CLI.binary("trove").path, toPath: lone)
        let mnt = tmp.url.appendingPathComponent("mnt").path
        try FileManager.default.createDirectory(atPath: mnt, withIntermediateDirectories: true)
        let r = try CLI.runTool(
            path: lone, ["mount", mnt, "--server", "127.0.0.1:9"], environment: ["PATH": "/usr/bin:/bin"])
        #expect(r.status == 1, "\(r.output)")
        #expect(r.output.contains("trove: error: trove mount needs the trove-mount helper"), "\(r.output)")
        #expect(r.output.contains("apt install fuse3"), "\(r.output)")
    }
}

extension CLI {
    /// What a system tool (or a copied binary) did: exit status and standard output and error
    /// together.
    struct ToolResult {
        let status: Int32
        let output: String
    }

    /// Runs `path` with `args` (environment: the test's, with `environment` added) and collects
    /// its output.
    static func runTool(path: String, _ args: [String], environment: [String: String] = [:]) throws
        -> ToolResult
    {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = args
        p.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        p.standardOutput = pipe
        p.standardError = pipe
        p.standardInput = FileHandle.nullDevice
        try p.run()
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return ToolResult(status: p.terminationStatus, output: String(decoding: data, as: UTF8.self))
    }
}
