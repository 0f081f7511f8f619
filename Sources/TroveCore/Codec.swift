import CLZ4
import CZstd

/// How a chunk's bytes are stored. The raw value is the on-disk and on-wire code.
public enum Codec: UInt8, Sendable, CaseIterable, CustomStringConvertible {
    case raw = 0
    case zstd = 1
    case lz4 = 2

    /// Parses `raw`, `zstd` or `lz4`.
    public init?(name: String) {
        switch name {
        case "raw", "none": self = .raw
        case "zstd": self = .zstd
        case "lz4": self = .lz4
        default: return nil
        }
    }

    public var description: String {
        switch self {
        case .raw: "raw"
        case .zstd: "zstd"
        case .lz4: "lz4"
        }
    }
}

/// Errors from compressing or decompressing a chunk.
public enum CodecError: Error, Equatable, CustomStringConvertible {
    /// The stored bytes are not a valid stream for their codec.
    case corrupt(codec: Codec, detail: String)
    /// The stream would decode to a different length than declared (a truncation or a bomb).
    case lengthMismatch(codec: Codec, declared: Int, actual: Int?)
    /// The declared raw length is larger than the caller allows.
    case tooLarge(declared: Int, limit: Int)
    /// An unknown codec byte.
    case unknownCodec(UInt8)

    public var description: String {
        switch self {
        case .corrupt(let codec, let detail):
            "\(codec) data is corrupt (\(detail)); the stored chunk is damaged, run a scrub"
        case .lengthMismatch(let codec, let declared, let actual):
            "\(codec) data decodes to \(actual.map(String.init) ?? "more than \(declared)") bytes, "
                + "but \(declared) were declared; the stored chunk is damaged or hostile"
        case .tooLarge(let declared, let limit):
            "declared raw length \(declared) exceeds the limit of \(limit) bytes"
        case .unknownCodec(let code):
            "unknown codec code \(code) (known: 0 raw, 1 zstd, 2 lz4)"
        }
    }
}

/// Compresses chunks one at a time, each independently decodable, reusing its zstd context and
/// output buffer. Stores raw when compression does not pay (stored size > `rawThreshold` of raw).
/// Not thread-safe: one per thread.
public final class ChunkCompressor {
    /// The preferred codec; `.raw` disables compression.
    public let codec: Codec
    /// zstd level (1...19, default 3).
    public let level: Int32
    /// A compressed result is kept only if `stored <= raw * rawThreshold`.
    public let rawThreshold: Double

    private let cctx: OpaquePointer
    private var output: [UInt8] = []

    /// A compressor for `codec` at `level`.
    public init(codec: Codec = .zstd, level: Int = 3, rawThreshold: Double = 0.97) {
        self.codec = codec
        self.level = Int32(max(1, min(level, Int(ZSTD_maxCLevel()))))
        self.rawThreshold = rawThreshold
        guard let c = ZSTD_createCCtx() else { fatalError("ZSTD_createCCtx failed: out of memory") }
        cctx = c
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, self.level)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_contentSizeFlag, 1)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 0)
    }

    deinit { ZSTD_freeCCtx(cctx) }

    /// Compresses `input`. The closure receives the codec actually used and the stored bytes
    /// (valid only during the call: they live in a reused buffer or are `input` itself).
    public func compress<R>(
        _ input: UnsafeRawBufferPointer, _ body: (Codec, UnsafeRawBufferPointer) throws -> R
    ) rethrows -> R {
        guard input.count > 0, codec != .raw else { return try body(.raw, input) }
        let limit = Int(Double(input.count) * rawThreshold)
        let bound: Int
        switch codec {
        case .zstd: bound = ZSTD_compressBound(input.count)
        case .lz4: bound = Int(LZ4_compressBound(Int32(clamping: input.count)))
        case .raw: bound = 0
        }
        if output.count < bound { output = [UInt8](repeating: 0, count: bound) }
        let produced: Int = output.withUnsafeMutableBytes { out in
            switch codec {
            case .zstd:
                ZSTD_CCtx_reset(cctx, ZSTD_reset_session_only)
                let n = ZSTD_compress2(cctx, out.baseAddress, out.count, input.baseAddress, input.count)
                return ZSTD_isError(n) != 0 ? -1 : n
            case .lz4:
                let n = LZ4_compress_default(
                    input.baseAddress!.assumingMemoryBound(to: CChar.self),
                    out.baseAddress!.assumingMemoryBound(to: CChar.self),
                    Int32(clamping: input.count), Int32(clamping: out.count))
                return n <= 0 ? -1 : Int(n)
            case .raw:
                return -1
            }
        }
        if produced < 0 || produced > limit { return try body(.raw, input) }
        return try output.withUnsafeBytes {
            try body(codec, UnsafeRawBufferPointer(rebasing: $0[0..<produced]))
        }
    }

    /// Compresses `input` into a new array, returning the codec actually used.
    public func compress(_ input: [UInt8]) -> (Codec, [UInt8]) {
        input.withUnsafeBytes { raw in compress(raw) { ($0, Array($1)) } }
    }
}

/// Decompresses chunks, refusing to produce anything but exactly the declared raw length.
/// Reuses its zstd context. Not thread-safe: one per thread.
public final class ChunkDecompressor {
    private let dctx: OpaquePointer
    /// The largest raw length this decompressor will allocate for.
    public let maxRawLength: Int

    /// A decompressor that refuses declared raw lengths above `maxRawLength` (default 16 MiB).
    public init(maxRawLength: Int = 16 << 20) {
        guard let d = ZSTD_createDCtx() else { fatalError("ZSTD_createDCtx failed: out of memory") }
        dctx = d
        self.maxRawLength = maxRawLength
    }

    deinit { ZSTD_freeDCtx(dctx) }

    /// Decodes `stored` (in `codec`) into `output`, which must hold exactly `rawLength` bytes.
    public func decompress(
        _ stored: UnsafeRawBufferPointer, codec: Codec, into output: UnsafeMutableRawBufferPointer
    ) throws(CodecError) {
        let rawLength = output.count
        guard rawLength <= maxRawLength else { throw .tooLarge(declared: rawLength, limit: maxRawLength) }
        switch codec {
        case .raw:
            guard stored.count == rawLength else {
                throw .lengthMismatch(codec: .raw, declared: rawLength, actual: stored.count)
            }
            if rawLength > 0 {
                output.baseAddress!.copyMemory(from: stored.baseAddress!, byteCount: rawLength)
            }
        case .zstd:
            guard stored.count > 0 else { throw .corrupt(codec: .zstd, detail: "empty stream") }
            let declared = ZSTD_getFrameContentSize(stored.baseAddress, stored.count)
            // ZSTD_CONTENTSIZE_UNKNOWN = 0ULL - 1, ZSTD_CONTENTSIZE_ERROR = 0ULL - 2
            if declared == UInt64.max - 1 { throw .corrupt(codec: .zstd, detail: "bad frame header") }
            if declared != UInt64.max && declared != UInt64(rawLength) {
                throw .lengthMismatch(
                    codec: .zstd, declared: rawLength,
                    actual: declared > UInt64(Int.max) ? nil : Int(declared))
            }
            let n = ZSTD_decompressDCtx(dctx, output.baseAddress, rawLength, stored.baseAddress, stored.count)
            if ZSTD_isError(n) != 0 {
                let name = String(cString: ZSTD_getErrorName(n))
                if ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall {
                    throw .lengthMismatch(codec: .zstd, declared: rawLength, actual: nil)
                }
                throw .corrupt(codec: .zstd, detail: name)
            }
            guard n == rawLength else { throw .lengthMismatch(codec: .zstd, declared: rawLength, actual: n) }
        case .lz4:
            guard stored.count > 0, stored.count <= Int(Int32.max) else {
                throw .corrupt(codec: .lz4, detail: "bad stream length \(stored.count)")
            }
            let n = LZ4_decompress_safe(
                stored.baseAddress!.assumingMemoryBound(to: CChar.self),
                output.baseAddress?.assumingMemoryBound(to: CChar.self),
                Int32(stored.count), Int32(rawLength))
            if n < 0 { throw .corrupt(codec: .lz4, detail: "malformed or longer than declared") }
            guard Int(n) == rawLength else {
                throw .lengthMismatch(codec: .lz4, declared: rawLength, actual: Int(n))
            }
        }
    }

    /// Decodes `stored` into a new array of exactly `rawLength` bytes.
    public func decompress<C: ContiguousByteStorage>(_ stored: C, codec: Codec, rawLength: Int)
        throws(CodecError) -> [UInt8]
    {
        guard rawLength >= 0, rawLength <= maxRawLength else {
            throw .tooLarge(declared: rawLength, limit: maxRawLength)
        }
        var out = [UInt8](repeating: 0, count: rawLength)
        let result: Result<Void, CodecError> = stored.withUnsafeBytes { s in
            out.withUnsafeMutableBytes { o in
                do throws(CodecError) {
                    try decompress(s, codec: codec, into: o)
                    return .success(())
                } catch { return .failure(error) }
            }
        }
        try result.get()
        return out
    }
}
