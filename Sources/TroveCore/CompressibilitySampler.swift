/// Decides cheaply whether a chunk is worth compressing: zstd-1 compresses three 4 KiB samples
/// (start, middle, end) and says no when they do not shrink below 97 % (the store's raw rule). Incompressible data
/// (already-compressed weights, archives, random bytes) then skips the full zstd attempt, which
/// would cost far more than the sample. A wrong "no" only costs compression, never correctness.
/// Used where chunks are compressed: the client's push and troved's S3 ingest. Not thread-safe.
public final class CompressibilitySampler {
    /// When false, every chunk is reported incompressible (compression off).
    public var enabled = true
    private let probe = ChunkCompressor(codec: .zstd, level: 1, rawThreshold: 1.0)
    static let sampleSize = 4096

    /// Whether the last chunk compressed (see ``record(compressed:)``).
    private var lastCompressed = false

    /// A sampler, enabled.
    public init() {}

    /// Whether `chunk` is worth a full compression attempt.
    public func looksCompressible(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard enabled else { return false }
        // Compressible data comes in runs (a CSV, logs, text): after a chunk that compressed, the
        // next is compressed without a sample (the sample cost ~20 % of zstd-1 on 64 KiB chunks);
        // a chunk that then does not shrink turns sampling back on.
        if lastCompressed { return true }
        let n = chunk.count
        let s = CompressibilitySampler.sampleSize
        if n <= 3 * s { return true }
        var raw = 0
        var packed = 0
        for start in [0, n / 2 - s / 2, n - s] {
            let sample = UnsafeRawBufferPointer(rebasing: chunk[start..<start + s])
            raw += s
            packed += probe.compress(sample) { codec, stored in codec == .raw ? s : stored.count }
        }
        return Double(packed) <= Double(raw) * 0.97
    }

    /// What became of the chunk last asked about: compressed (stored smaller) or not.
    public func record(compressed: Bool) { lastCompressed = compressed }
}
