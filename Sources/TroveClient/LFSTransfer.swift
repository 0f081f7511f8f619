import Foundation
import TroveCore
import TroveProtocol

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Moves git-lfs objects over Trove's protocol (docs/GIT-LFS.md): an upload is a push of the one
/// file (chunked locally with the store's parameters and format policy, HAS before PUT so only
/// chunks the store lacks cross the wire, the lease remembered so an interrupted upload resumes)
/// bound to `objects/OID` of the repository's bucket with BIND_KEY; a download looks the key up
/// and fetches the blob's chunks, each verified, then the whole file against the oid.
public final class LFSTransfer: LFSObjectMover {
    let connection: Connection
    let server: ServerAddress
    /// The repository's bucket.
    public let bucket: String
    /// Where downloads are written (a directory on the same filesystem as git-lfs's objects).
    let downloadDirectory: String
    let environment: [String: String]
    /// Stop (sleep until killed) once this many chunk bytes of an upload are acknowledged: lets
    /// tests interrupt an upload at a known point (`TROVE_LFS_PAUSE_AFTER`).
    public var pauseAfter: UInt64?
    /// Called when an upload pauses (for the log).
    public var onPause: (@Sendable (UInt64) -> Void)?
    /// Totals over this process, for the log: raw chunk bytes sent, and bytes on the wire.
    public private(set) var rawBytesSent: UInt64 = 0
    public private(set) var wireBytesSent: UInt64 = 0

    public init(
        connection: Connection, server: ServerAddress, bucket: String, downloadDirectory: String,
        environment: [String: String]
    ) {
        self.connection = connection
        self.server = server
        self.bucket = bucket
        self.downloadDirectory = downloadDirectory
        self.environment = environment
    }

    /// What `objects/OID` points at, or nil if the key (or the bucket) does not exist.
    func lookup(_ oid: String) throws(ClientError) -> Message.KeyInfo? {
        do {
            return try connection.call(Message.LookupKey(bucket: bucket, key: LFSNames.key(oid: oid)))
        } catch {
            if case .server(.notFound, _, _) = error { return nil }
            throw error
        }
    }

    public func upload(
        oid: String, size: UInt64, path: String, progress report: @escaping @Sendable (UInt64) -> Void
    )
        throws(ClientError) -> LFSUploadReport
    {
        guard let digest = LFSNames.digest(oid: oid) else {
            throw .usage(detail: "'\(oid)' is not a git-lfs oid (64 lowercase hex digits)")
        }
        if let info = try lookup(oid), info.blob == digest {
            report(size)
            return LFSUploadReport(
                summary: "already stored (\(info.size) bytes), 0 bytes sent",
                counters: ["rawBytesSent": 0, "wireBytesSent": 0, "alreadyOnServer": info.size])
        }
        let name = bucket + "/" + LFSNames.key(oid: oid)
        let leases = LeaseState(server: server, name: name, version: "lfs", environment: environment)
        let pause = pauseAfter
        let onPause = onPause
        let progress = Progress { phase, done, _ in
            guard phase == "sending" else { return }
            report(done)
            if let pause, done >= pause {
                onPause?(done)
                while true { sleep(3600) }
            }
        }
        var request = PushRequest(path: path, name: name, version: "lfs")
        request.bucketKey = BucketKeyTarget(bucket: bucket, key: LFSNames.key(oid: oid))
        request.expectedBlob = digest
        let pusher = Pusher(connection: connection, progress: progress)
        let result = try pusher.push(request, resume: leases.load(), onLease: { leases.save($0) })
        leases.clear()
        report(size)
        rawBytesSent += result.rawBytesSent
        wireBytesSent += result.bytesSent
        return LFSUploadReport(
            summary: "\(result.logicalBytes) bytes, \(result.chunks) chunks, \(result.chunksSent) sent: "
                + "rawBytesSent=\(result.rawBytesSent) wireBytesSent=\(result.bytesSent) "
                + "alreadyOnServer=\(result.bytesDeduplicated)\(result.resumedLease ? " (resumed)" : "")",
            counters: [
                "rawBytesSent": result.rawBytesSent, "wireBytesSent": result.bytesSent,
                "alreadyOnServer": result.bytesDeduplicated,
            ])
    }

    public func download(oid: String, size: UInt64, progress report: @escaping @Sendable (UInt64) -> Void)
        throws(ClientError) -> String
    {
        guard let digest = LFSNames.digest(oid: oid) else {
            throw .usage(detail: "'\(oid)' is not a git-lfs oid (64 lowercase hex digits)")
        }
        guard let info = try lookup(oid) else {
            throw .notFound(detail: "object \(oid) is not in bucket \(bucket); was it pushed?")
        }
        guard info.blob == digest else {
            throw .integrity(
                detail: "key \(LFSNames.key(oid: oid)) of bucket \(bucket) holds \(info.blob), not \(oid)")
        }
        mkdir(downloadDirectory, 0o755)
        let path = downloadDirectory + "/trove-" + oid + "-" + String(getpid())
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw .io(path: path, operation: "create", errno: errno) }
        do {
            defer { close(fd) }
            try Catter(connection: connection).write(blob: digest, size: info.size, path: oid, to: fd)
        } catch {
            unlink(path)
            throw error
        }
        report(info.size)
        return path
    }
}
