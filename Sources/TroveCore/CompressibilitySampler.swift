#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

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
    /// Chunks in a row that did not compress (sampled or not).
    private var incompressibleRun = 0
    /// Chunks let go unsampled since the last sample, during a long incompressible run.
    private var unsampled = 0
    /// After this many incompressible chunks in a row, only one chunk in ``sampleEvery`` is sampled.
    public static let backOffAfter = 16
    /// Deep in an incompressible run, one chunk in this many is sampled (the others are not compressed).
    public static let sampleEvery = 8

    /// A sampler, enabled.
    public init() {}

    /// Whether `chunk` is worth a full compression attempt.
    public func looksCompressible(_ chunk: UnsafeRawBufferPointer) -> Bool {
        guard enabled else { return false }
        let n = chunk.count
        let s = CompressibilitySampler.sampleSize
        // Too small for three samples (a file of a few KiB): a byte histogram of 1 KiB says it,
        // at ~1 % of compressing the chunk, whatever the chunks before it did (small files of
        // a data set alternate between kinds; zstd on each random one was ~12 % of such a push).
        if n <= 3 * s { return n < Self.histogramSample || !Self.looksRandom(chunk) }
        // Compressible data comes in runs (a CSV, logs, text): after a chunk that compressed, the
        // next is compressed without a sample (the sample cost ~20 % of zstd-1 on 64 KiB chunks);
        // a chunk that then does not shrink turns sampling back on.
        if lastCompressed { return true }
        // Incompressible data comes in runs too (weights, archives): deep in one, most chunks go
        // unsampled (the samples were ~5 % of a push's client CPU on such data); a compressible
        // stretch is then found within ``sampleEvery`` chunks.
        if incompressibleRun >= Self.backOffAfter {
            if unsampled + 1 < Self.sampleEvery {
                unsampled += 1
                return false
            }
            unsampled = 0
        }
        var raw = 0
        var packed = 0
        for start in [0, n / 2 - s / 2, n - s] {
            let sample = UnsafeRawBufferPointer(rebasing: chunk[start..<start + s])
            raw += s
            packed += probe.compress(sample) { codec, stored in codec == .raw ? s : stored.count }
        }
        return Double(packed) <= Double(raw) * 0.97
    }

    /// Bytes of a small chunk whose histogram is taken (smaller chunks are always compressed).
    public static let histogramSample = 1024
    /// `c · log2(c)` for every count a histogram of ``histogramSample`` bytes can hold.
    private static let cLog2c: [Double] = (0...histogramSample).map { $0 == 0 ? 0 : Double($0) * log2(Double($0)) }

    /// Whether the middle ``histogramSample`` bytes of `chunk` (at least that long) look random:
    /// their order-0 entropy is at least 7.6 bits per byte. Uniformly random bytes measure
    /// ≈ 7.8 on such a sample; zstd's entropy stage alone takes 7.6 bits down to 95 %, below the
    /// 97 % that pays, so anything under it is left to a real attempt.
    static func looksRandom(_ chunk: UnsafeRawBufferPointer) -> Bool {
        let k = histogramSample
        let start = (chunk.count - k) / 2
        return withUnsafeTemporaryAllocation(of: UInt16.self, capacity: 256) { counts in
            counts.initialize(repeating: 0)
            for i in start..<start + k { counts[Int(chunk[i])] &+= 1 }
            var sum = 0.0
            for c in counts where c > 0 { sum += cLog2c[Int(c)] }
            // H = log2(k) − Σ c·log2(c) / k = 10 − sum / 1024.
            return 10 - sum / Double(k) >= 7.6
        }
    }

    /// What became of the chunk last asked about: compressed (stored smaller) or not.
    public func record(compressed: Bool) {
        lastCompressed = compressed
        incompressibleRun = compressed ? 0 : incompressibleRun + 1
        if compressed { unsampled = 0 }
    }
}
