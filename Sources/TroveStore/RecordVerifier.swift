import Foundation
import TroveCore

/// Verifies pack records (header vs index entry, CRC-32C, the AEAD tag of an encrypted pack's
/// records, decompression, SHA-256) on up to
/// `workers` threads, each with its own hasher, decompressor and output buffer.
final class RecordVerifier: Sendable {
    let workers: Int
    let maxChunkSize: Int
    /// A worker's hasher and decompressor, reused across calls.
    final class WorkerState {
        let sha = SHA256()
        let dec: ChunkDecompressor
        let gcm = AESGCM()
        init(maxChunkSize: Int) { dec = ChunkDecompressor(maxRawLength: maxChunkSize) }
    }
    private let states = Pool<WorkerState>()

    init(maxChunkSize: Int, workers: Int = min(4, max(1, ProcessInfo.processInfo.activeProcessorCount))) {
        self.workers = workers
        self.maxChunkSize = maxChunkSize
    }

    /// Problems per entry (nil = intact). `buffer` holds the file bytes from offset `base`;
    /// `seal` opens the records of an encrypted pack.
    func verify(_ buffer: [UInt8], base: Int, _ entries: [PackEntry], seal: PackSeal? = nil) -> [String?] {
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
                    let (sha, dec, gcm) = (state.sha, state.dec, state.gcm)
                    var scratch: [UInt8] = []
                    var k = w
                    while k < entries.count {
                        let e = entries[k]
                        let start = e.offset - base
                        let record = UnsafeRawBufferPointer(
                            rebasing: all[start..<(start + PackFormat.recordHeaderSize + e.storedLength)])
                        results[k] = RecordVerifier.check(record, e, sha, dec, &scratch, seal: seal, gcm: gcm)
                        k += n
                    }
                }
            }
        }
        return out
    }

    static func check(
        _ b: UnsafeRawBufferPointer, _ e: PackEntry, _ sha: SHA256, _ dec: ChunkDecompressor,
        _ scratch: inout [UInt8], seal: PackSeal? = nil, gcm: AESGCM? = nil
    ) -> String? {
        guard b.matches(PackFormat.recordTag, at: 0), b.digest(4) == (seal?.mask(e.digest, offset: e.offset) ?? e.digest),
            Int(b.beU32(36)) == e.rawLength,
            b[40] == e.codec.rawValue, Int(b.beU32(41)) == e.storedLength
        else { return "record header does not match the index" }
        let onDisk = UnsafeRawBufferPointer(rebasing: b[PackFormat.recordHeaderSize...])
        guard CRC32C.update(0, onDisk) == b.beU32(45) else { return "CRC-32C mismatch" }
        guard let seal else { return check(stored: onDisk, e, sha, dec, &scratch) }
        guard let opened = seal.open(onDisk, e, using: gcm ?? AESGCM()) else {
            return "authentication tag mismatch (sealed bytes altered)"
        }
        return opened.withUnsafeBytes { check(stored: $0, e, sha, dec, &scratch) }
    }

    /// Decompression and SHA-256 of a record's (opened) stored bytes.
    static func check(
        stored: UnsafeRawBufferPointer, _ e: PackEntry, _ sha: SHA256, _ dec: ChunkDecompressor,
        _ scratch: inout [UInt8]
    ) -> String? {
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
