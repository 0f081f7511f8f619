import Foundation
import TroveCore

/// Verifies pack records (header vs index entry, CRC-32C, decompression, SHA-256) on up to
/// `workers` threads, each with its own hasher, decompressor and output buffer.
final class RecordVerifier: Sendable {
    let workers: Int
    let maxChunkSize: Int
    /// A worker's hasher and decompressor, reused across calls.
    final class WorkerState {
        let sha = SHA256()
        let dec: ChunkDecompressor
        init(maxChunkSize: Int) { dec = ChunkDecompressor(maxRawLength: maxChunkSize) }
    }
    private let states = Pool<WorkerState>()

    init(maxChunkSize: Int, workers: Int = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))) {
        self.workers = workers
        self.maxChunkSize = maxChunkSize
    }

    /// Problems per entry (nil = intact). `buffer` holds the file bytes from offset `base`.
    func verify(_ buffer: [UInt8], base: Int, _ entries: [PackEntry]) -> [String?] {
        var out = [String?](repeating: nil, count: entries.count)
        let n = workers
        buffer.withUnsafeBytes { all in
            out.withUnsafeMutableBufferPointer { results in
                // Workers read the shared input and write disjoint result slots (worker w owns
                // indices w, w+n, …); both buffers outlive `concurrentPerform`.
                nonisolated(unsafe) let all = all
                nonisolated(unsafe) let results = results
                DispatchQueue.concurrentPerform(iterations: min(n, entries.count)) { w in
                    let state = states.take { WorkerState(maxChunkSize: maxChunkSize) }
                    defer { states.put(state) }
                    let (sha, dec) = (state.sha, state.dec)
                    var scratch: [UInt8] = []
                    var k = w
                    while k < entries.count {
                        let e = entries[k]
                        let start = e.offset - base
                        let record = UnsafeRawBufferPointer(
                            rebasing: all[start..<(start + PackFormat.recordHeaderSize + e.storedLength)])
                        results[k] = RecordVerifier.check(record, e, sha, dec, &scratch)
                        k += n
                    }
                }
            }
        }
        return out
    }

    static func check(
        _ b: UnsafeRawBufferPointer, _ e: PackEntry, _ sha: SHA256, _ dec: ChunkDecompressor,
        _ scratch: inout [UInt8]
    ) -> String? {
        guard b.matches(PackFormat.recordTag, at: 0), b.digest(4) == e.digest,
            Int(b.beU32(36)) == e.rawLength,
            b[40] == e.codec.rawValue, Int(b.beU32(41)) == e.storedLength
        else { return "record header does not match the index" }
        let stored = UnsafeRawBufferPointer(rebasing: b[PackFormat.recordHeaderSize...])
        guard CRC32C.update(0, stored) == b.beU32(45) else { return "CRC-32C mismatch" }
        let actual: Digest
        if e.codec == .raw {
            guard stored.count == e.rawLength else { return "raw length mismatch" }
            actual = sha.hash(stored)
        } else {
            if scratch.count != e.rawLength { scratch = [UInt8](repeating: 0, count: e.rawLength) }
            let failure: String? = scratch.withUnsafeMutableBytes { o in
                do throws(CodecError) {
                    try dec.decompress(stored, codec: e.codec, into: o)
                    return nil
                } catch { return "does not decompress: \(error)" }
            }
            if let failure { return failure }
            actual = scratch.withUnsafeBytes { sha.hash($0) }
        }
        return actual == e.digest ? nil : "content hashes to \(actual)"
    }
}
