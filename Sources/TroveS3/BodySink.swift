import SystemPackage
import Foundation
import NIOCore
import Synchronization
import TroveCore
import TroveStore

#if canImport(Glibc)
    import Glibc
#endif

/// Where a PUT body goes on its way into the store: decoded (`aws-chunked`), hashed (MD5 for
/// the ETag, an `x-amz-checksum-*` algorithm when one is declared, both over each piece while
/// it is in cache) and staged: in a reused memory buffer (``StagingPool``) when the body fits
/// one, else in a staging file in the store's `tmp/`. Its checks run in `finish()`; a mismatch
/// or a short body discards it, so nothing is stored. The SHA-256 `x-amz-content-sha256` gives
/// is not computed here: it is the blob digest the store's ingest computes anyway
/// (``ingest(into:expecting:)``).
final class BodySink: Sendable {
    /// What the client declared about the body.
    struct Expectations {
        var contentMD5: String?
        var checksum: (PayloadChecksum.Algorithm, String?)?
        var chunked: Bool
        var signing: ChunkSigning?
        var decodedLength: UInt64?
        var limit: UInt64
    }

    /// The checked result.
    struct Finished {
        var size: UInt64
        var md5: [UInt8]
    }

    private struct State {
        /// The staging file (-1: none, or closed).
        var fd: Int32 = -1
        /// The staging memory, while the body fits it.
        var memory: StagingPool.Buffer?
        var size: UInt64 = 0
        let md5 = MessageDigest(.md5)
        var checksum: PayloadChecksum?
        var decoder: AWSChunkedDecoder?
    }

    let path: String
    private let expect: Expectations
    private let pool: StagingPool
    private let state: Mutex<State>

    /// A sink for a body of about `length` bytes (an upper bound when it is known, else 0):
    /// staged in memory from `pool` when it fits, else in a file at `path`.
    init(path: String, expect: Expectations, length: UInt64, pool: StagingPool) throws(S3Error) {
        self.path = path
        self.expect = expect
        self.pool = pool
        var s = State()
        s.memory = pool.take(for: length)
        if s.memory == nil { s.fd = try Self.create(path) }
        if let (alg, _) = expect.checksum { s.checksum = PayloadChecksum(alg) }
        if expect.chunked { s.decoder = AWSChunkedDecoder(signing: expect.signing) }
        state = Mutex(s)
    }

    private static func create(_ path: String) throws(S3Error) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw .internalError("cannot create staging file \(path): \(String(cString: strerror(errno)))")
        }
        return fd
    }

    /// Consumes raw body bytes (blocking: call on a worker thread).
    func write(_ buffer: ByteBuffer) throws(S3Error) {
        let limit = expect.limit
        let path = self.path
        let pool = self.pool
        try state.withLock { (s: inout State) throws(S3Error) in
            func consume(_ b: UnsafeRawBufferPointer) throws(S3Error) {
                let at = s.size
                s.size += UInt64(b.count)
                guard s.size <= limit else {
                    throw S3Error(.badRequest, "EntityTooLarge", "the body is larger than \(limit) bytes", close: true)
                }
                s.md5.update(b)
                s.checksum?.update(b)
                do {
                    if let m = s.memory, s.size > UInt64(StagingPool.bufferSize) {
                        // Longer than it said (or than its upper bound): on to a file.
                        s.fd = try Self.create(path)
                        try FileDescriptor(rawValue: s.fd).writeFully(UnsafeRawBufferPointer(start: m.base, count: Int(at)))
                        s.memory = nil
                        pool.give(m)
                    }
                    if let m = s.memory {
                        (m.base + Int(at)).copyMemory(from: b.baseAddress!, byteCount: b.count)
                    } else {
                        try FileDescriptor(rawValue: s.fd).writeFully(b)
                    }
                } catch let e as S3Error {
                    throw e
                } catch {
                    throw .internalError("cannot write \(path): \(error)")
                }
            }
            try buffer.withUnsafeReadableBytes { (raw) throws(S3Error) in
                guard raw.count > 0 else { return }
                if s.decoder != nil {
                    try s.decoder!.feed(raw) { (d) throws(S3Error) in
                        if d.count > 0 { try consume(d) }
                    }
                } else {
                    try consume(raw)
                }
            }
        }
    }

    /// Checks lengths, digests and checksums; on success the body is staged, whole.
    func finish() throws(S3Error) -> Finished {
        let expect = self.expect
        return try state.withLock { (s: inout State) throws(S3Error) -> Finished in
            if s.fd >= 0 { close(s.fd) }
            s.fd = -1
            if let d = s.decoder {
                guard d.isDone else { throw AWSChunkedDecoder.framing("the body ended before its last chunk") }
                if let n = expect.decodedLength, n != s.size {
                    throw .incompleteBody("x-amz-decoded-content-length is \(n) but the chunks hold \(s.size) bytes")
                }
                if let (alg, _) = expect.checksum,
                    let v = d.trailers.first(where: { $0.0 == alg.header })?.1
                {
                    try check(alg, expected: v, actual: s.checksum!.finalize())
                } else if let (alg, value) = expect.checksum, value == nil {
                    throw .invalidRequest("x-amz-trailer names \(alg.header) but the trailer does not carry it")
                }
            }
            let md5 = s.md5.finalize()
            if let m = expect.contentMD5 {
                guard let want = Data(base64Encoded: m), want.count == 16 else {
                    throw S3Error(.badRequest, "InvalidDigest", "Content-MD5 is not the base64 of 16 bytes")
                }
                guard Array(want) == md5 else {
                    throw .badDigest("the Content-MD5 you specified did not match what we received; nothing was stored")
                }
            }
            if let (alg, v) = expect.checksum, let value = v, !expect.chunked {
                try check(alg, expected: value, actual: s.checksum!.finalize())
            }
            return Finished(size: s.size, md5: md5)
        }
    }

    private func check(_ alg: PayloadChecksum.Algorithm, expected: String, actual: String) throws(S3Error) {
        guard expected == actual else {
            throw .badDigest("the \(alg.header) you specified did not match the calculated checksum; nothing was stored")
        }
    }

    /// Stores the finished body as a blob (`Store.ingestBlob`, from memory or from the file;
    /// blocking: on a worker thread).
    func ingest(into store: Store, expecting: Digest?) throws(StoreError) -> IngestedBlob {
        let path = self.path
        return try state.withLock { (s: inout State) throws(StoreError) -> IngestedBlob in
            if let m = s.memory {
                return try store.ingestBlob(bytes: UnsafeRawBufferPointer(start: m.base, count: Int(s.size)), expecting: expecting)
            }
            return try store.ingestBlob(file: path, expecting: expecting)
        }
    }

    /// Drops the staged body (after a failure, or once the store has the blob).
    func discard() {
        let pool = self.pool
        state.withLock { s in
            if s.fd >= 0 { close(s.fd) }
            s.fd = -1
            if let m = s.memory { pool.give(m) }
            s.memory = nil
        }
        unlink(path)
    }
}
