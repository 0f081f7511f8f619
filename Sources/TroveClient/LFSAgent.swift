import Foundation
import Synchronization
import TroveCore

/// What the git-lfs agent asks of a store: move one object each way. ``LFSTransfer`` is the
/// real one (Trove's protocol); tests use fakes.
public protocol LFSObjectMover: AnyObject {
    /// Stores the file at `path` as object `oid` (`size` bytes); `progress(bytesSoFar)` may be
    /// called as bytes are acknowledged. Returns what it did, for the log and the `complete` event.
    func upload(oid: String, size: UInt64, path: String, progress: @escaping @Sendable (UInt64) -> Void)
        throws(ClientError) -> LFSUploadReport
    /// Fetches object `oid` (`size` bytes) into a local file, verified; returns its path.
    func download(oid: String, size: UInt64, progress: @escaping @Sendable (UInt64) -> Void)
        throws(ClientError) -> String
}

/// What one upload did: a line for the log, and counters (`rawBytesSent`, `wireBytesSent`,
/// `alreadyOnServer`) that the `complete` event carries under `trove` (git-lfs ignores the field;
/// `GIT_TRANSFER_TRACE=1` prints it).
public struct LFSUploadReport: Sendable, Equatable {
    public var summary: String
    public var counters: [String: UInt64]

    public init(summary: String, counters: [String: UInt64] = [:]) {
        self.summary = summary
        self.counters = counters
    }
}

/// A git-lfs standalone custom transfer agent (git-lfs docs/custom-transfers.md): one JSON
/// object per line on standard input (`init`, `upload`, `download`, `terminate`), answers and
/// `progress`/`complete` events one per line on standard output. A failed object is reported
/// in its `complete` event (`error.code`, `error.message`) and the agent goes on; a malformed
/// line or an unknown event ends it with an error.
public final class LFSAgent {
    let mover: () throws(ClientError) -> LFSObjectMover
    let emit: @Sendable (String) -> Void
    let log: @Sendable (String) -> Void
    private var store: LFSObjectMover?
    private var operation: String?

    /// `mover` is opened at the first transfer (a failure fails that object and is retried at
    /// the next); `emit` writes one line to git-lfs and `log` a diagnostic line, from any thread.
    public init(
        mover: @escaping () throws(ClientError) -> LFSObjectMover, emit: @escaping @Sendable (String) -> Void,
        log: @escaping @Sendable (String) -> Void
    ) {
        self.mover = mover
        self.emit = emit
        self.log = log
    }

    /// Runs until `terminate` or the end of input, reading lines with `readLine`.
    public func run(readLine: () -> String?) throws(ClientError) {
        while let line = readLine() {
            if try !handle(line) { return }
        }
    }

    /// Handles one line; false after `terminate`.
    public func handle(_ line: String) throws(ClientError) -> Bool {
        guard line.utf8.count <= 1 << 20,
            let object = try? JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any],
            let event = object["event"] as? String
        else {
            throw .protocolViolation(
                detail: "git-lfs sent a line that is not a JSON event: \(line.prefix(200))")
        }
        switch event {
        case "init":
            operation = object["operation"] as? String
            guard operation == "upload" || operation == "download" else {
                send(["error": ["code": 32, "message": "unknown operation \(operation ?? "none")"]])
                return true
            }
            log("trove lfs-agent: init \(operation!)")
            send([:])
        case "upload", "download":
            transfer(event, object)
        case "terminate":
            log("trove lfs-agent: terminate")
            return false
        default:
            throw .protocolViolation(detail: "git-lfs sent an unknown event '\(event)'")
        }
        return true
    }

    private func transfer(_ event: String, _ object: [String: Any]) {
        guard let oid = object["oid"] as? String else {
            send([
                "event": "complete", "oid": "",
                "error": ["code": 2, "message": "no oid in \(event) request"],
            ])
            return
        }
        guard LFSNames.digest(oid: oid) != nil else {
            fail(oid, code: 2, "'\(oid.prefix(100))' is not a git-lfs oid (64 lowercase hex digits)")
            return
        }
        let size = (object["size"] as? NSNumber)?.uint64Value ?? 0
        let last = Mutex<UInt64>(0)
        let report: @Sendable (UInt64) -> Void = { [emitLine = self.emitLine] done in
            let since = last.withLock { l -> UInt64 in
                defer { l = max(l, done) }
                return done > l ? done - l : 0
            }
            if since > 0 {
                emitLine(["event": "progress", "oid": oid, "bytesSoFar": done, "bytesSinceLast": since])
            }
        }
        do throws(ClientError) {
            if store == nil { store = try mover() }
            if event == "upload" {
                guard let path = object["path"] as? String else {
                    fail(oid, code: 2, "upload of \(oid) names no path")
                    return
                }
                let done = try store!.upload(oid: oid, size: size, path: path, progress: report)
                log("trove lfs-agent: upload \(oid): \(done.summary)")
                var complete: [String: Any] = ["event": "complete", "oid": oid]
                if !done.counters.isEmpty { complete["trove"] = done.counters }
                send(complete)
            } else {
                let path = try store!.download(oid: oid, size: size, progress: report)
                log("trove lfs-agent: download \(oid): \(size) bytes verified")
                send(["event": "complete", "oid": oid, "path": path])
            }
        } catch {
            // A broken connection is reopened for the next object.
            switch error {
            case .connectionClosed, .cannotConnect, .protocolViolation: store = nil
            default: break
            }
            fail(oid, code: Int(error.exitCode), error.message(debug: false))
        }
    }

    private func fail(_ oid: String, code: Int, _ message: String) {
        log("trove lfs-agent: \(oid): error: \(message)")
        send(["event": "complete", "oid": oid, "error": ["code": code, "message": message]])
    }

    private func send(_ object: [String: Any]) { emitLine(object) }

    /// One JSON object on one line, to git-lfs.
    private var emitLine: @Sendable ([String: Any]) -> Void {
        let emit = self.emit
        return { object in
            let data =
                (try? JSONSerialization.data(
                    withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes]))
                ?? Data("{}".utf8)
            emit(String(decoding: data, as: UTF8.self))
        }
    }
}
