import Foundation
import Synchronization
import Testing
import TroveClient
import TroveCore

/// The git-lfs custom transfer protocol of ``LFSAgent`` against a fake store: the lines git-lfs
/// sends and the ones it must get back, including per-object errors and hostile input.
@Suite("git-lfs agent protocol")
struct LFSAgentProtocolTests {
    final class FakeMover: LFSObjectMover {
        var uploads: [String] = []
        func upload(oid: String, size: UInt64, path: String, progress: @escaping @Sendable (UInt64) -> Void)
            throws(ClientError) -> LFSUploadReport
        {
            if path == "/missing" { throw .io(path: path, operation: "open", errno: ENOENT) }
            progress(size / 2)
            progress(size)
            uploads.append(oid)
            return LFSUploadReport(summary: "ok", counters: ["rawBytesSent": 7])
        }
        func download(oid: String, size: UInt64, progress: @escaping @Sendable (UInt64) -> Void)
            throws(ClientError) -> String
        {
            guard oid.hasPrefix("a") else { throw .notFound(detail: "object \(oid) is not in bucket lfs-x") }
            progress(size)
            return "/tmp/trove-\(oid)"
        }
    }

    func run(_ lines: [String]) throws -> (out: [[String: Any]], mover: FakeMover) {
        let mover = FakeMover()
        let out = Mutex<[String]>([])
        let agent = LFSAgent(
            mover: { () throws(ClientError) -> LFSObjectMover in mover },
            emit: { l in out.withLock { $0.append(l) } },
            log: { _ in })
        var input = lines[...]
        try agent.run { input.popFirst() }
        let objects = try out.withLock { $0 }.map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any], "\($0)")
        }
        return (objects, mover)
    }

    let oidA = String(repeating: "a", count: 64)
    let oidB = String(repeating: "b", count: 64)

    @Test("init, upload with progress, complete; terminate ends the loop")
    func upload() throws {
        let (out, mover) = try run([
            #"{"event":"init","operation":"upload","remote":"origin","concurrent":false,"concurrenttransfers":1}"#,
            #"{"event":"upload","oid":"\#(oidA)","size":10,"path":"/data/a","action":null}"#,
            #"{"event":"terminate"}"#,
            #"{"event":"upload","oid":"\#(oidB)","size":10,"path":"/data/b"}"#,
        ])
        #expect(out.count == 4, "\(out)")
        #expect(out[0].isEmpty)
        #expect(out[1]["event"] as? String == "progress" && (out[1]["bytesSoFar"] as? Int) == 5)
        #expect((out[1]["bytesSinceLast"] as? Int) == 5 && (out[2]["bytesSinceLast"] as? Int) == 5)
        #expect(
            out[3]["event"] as? String == "complete" && out[3]["oid"] as? String == oidA
                && out[3]["error"] == nil)
        #expect((out[3]["trove"] as? [String: Any])?["rawBytesSent"] as? Int == 7)
        #expect(mover.uploads == [oidA], "nothing after terminate is handled")
    }

    @Test("a failed object is reported in its complete event and the agent goes on")
    func perObjectErrors() throws {
        let (out, _) = try run([
            #"{"event":"init","operation":"download"}"#,
            #"{"event":"download","oid":"\#(oidB)","size":3}"#,
            #"{"event":"download","oid":"../../etc/passwd","size":3}"#,
            #"{"event":"download","oid":"\#(oidA.uppercased())","size":3}"#,
            #"{"event":"download","oid":"\#(oidA)","size":3}"#,
        ])
        let completes = out.filter { $0["event"] as? String == "complete" }
        #expect(completes.count == 4)
        for c in completes.prefix(3) {
            let error = try #require(c["error"] as? [String: Any], "\(c)")
            #expect((error["message"] as? String)?.isEmpty == false)
        }
        #expect(completes[3]["path"] as? String == "/tmp/trove-\(oidA)" && completes[3]["error"] == nil)
    }

    @Test("an unknown operation fails init; garbage and unknown events end the agent with an error")
    func hostileInput() throws {
        let (out, _) = try run([#"{"event":"init","operation":"delete"}"#])
        #expect((out.first?["error"] as? [String: Any]) != nil)
        #expect(throws: ClientError.self) { try run(["not json"]) }
        #expect(throws: ClientError.self) { try run([#"{"event":"explode"}"#]) }
        #expect(throws: ClientError.self) { try run([#"["event"]"#]) }
    }

    @Test("oids, keys and bucket names")
    func names() {
        #expect(LFSNames.digest(oid: oidA) != nil)
        #expect(LFSNames.digest(oid: oidA.uppercased()) == nil)
        #expect(LFSNames.digest(oid: String(oidA.dropLast())) == nil)
        #expect(LFSNames.digest(oid: String(repeating: "g", count: 64)) == nil)
        #expect(LFSNames.key(oid: oidA) == "objects/" + oidA)
        #expect(LFSNames.bucket(repository: "models") == "lfs-models")
        #expect(LFSNames.bucket(repository: "Models") == nil)
        #expect(LFSNames.bucket(repository: "") == nil)
        #expect(LFSNames.bucket(repository: String(repeating: "m", count: 60)) == nil)
        #expect(LFSNames.repository(fromDirectoryName: "My Model_Repo!") == "my-model-repo")
        #expect(LFSNames.repository(fromDirectoryName: "___") == "repo")
        #expect(
            LFSNames.isValidBucket("lfs-a.b") && !LFSNames.isValidBucket("versions")
                && !LFSNames.isValidBucket("a..b"))
    }
}
