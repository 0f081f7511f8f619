#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Forced chunk boundaries for one input: the container format found (if any) and the sorted,
/// distinct offsets in `1..<size` where a chunk must start. FastCDC then runs inside each segment
/// between consecutive cuts as if the segment were a whole input.
public struct BoundaryPlan: Sendable, Hashable {
    /// The detected format, or nil for plain FastCDC.
    public var format: ContainerFormat?
    /// Strictly increasing offsets, each in `1..<size`.
    public var cuts: [UInt64]

    /// A plan; `cuts` must be strictly increasing and inside the input.
    public init(format: ContainerFormat?, cuts: [UInt64]) {
        self.format = format
        self.cuts = cuts
    }

    /// Plain FastCDC.
    public static let plain = BoundaryPlan(format: nil, cuts: [])

    /// Most forced cuts a plan may hold (about 32 MiB of offsets); a container needing more
    /// is chunked plainly.
    public static let maxCuts = 1 << 22
}

/// Finds forced chunk boundaries by container structure (never by file name).
///
/// Every parser reads only fixed-size headers and directories, checks every offset and length
/// against the input's size before using it, and refuses anything inconsistent (truncation,
/// overlapping entries, absurd lengths, offsets outside the input); a refused input is chunked
/// plainly. Only read errors are thrown.
public enum BoundaryPlanner {
    /// The plan for `reader`'s bytes under `policy`: the first enabled format (in the order
    /// safetensors, tar, zip) whose parser accepts the input, or `.plain`.
    public static func plan<R: RandomAccessReader>(_ reader: R, policy: FormatPolicy) throws(IngestError)
        -> BoundaryPlan
    {
        guard !policy.isNone, reader.size > 0 else { return .plain }
        for format in [ContainerFormat.safetensors, .tar, .zip] where policy.formats.contains(format) {
            switch attempt(format, reader) {
            case .success(let plan): return plan
            case .failure(.io(let error)): throw error
            case .failure(.rejected): continue
            }
        }
        return .plain
    }

    /// ``plan(_:policy:)`` for bytes already in memory (a small file read whole), without
    /// running a parser that would refuse them at its first test: safetensors whose first eight
    /// bytes are no plausible header length followed by "{", tar without "ustar" at byte 257
    /// (its first header's magic), zip without an end-of-central-directory record ending at the
    /// end of the input (or of its comment). Those tests are the parsers' own first ones, so the
    /// plan is the same (tested against ``plan(_:policy:)``); a push of 20 000 small files ran
    /// three parsers per file, each copying the bytes into a window and building a refusal.
    public static func plan(bytes: UnsafeRawBufferPointer, policy: FormatPolicy) throws(IngestError) -> BoundaryPlan {
        guard !policy.isNone, bytes.count > 0 else { return .plain }
        var candidates: Set<ContainerFormat> = []
        for format in policy.formats {
            let may: Bool
            switch format {
            case .safetensors: may = SafetensorsBoundaries.mayStart(bytes)
            case .tar: may = TarBoundaries.mayStart(bytes)
            case .zip: may = ZipBoundaries.mayEnd(bytes)
            }
            if may { candidates.insert(format) }
        }
        guard !candidates.isEmpty else { return .plain }
        return try plan(MemoryBytes(bytes: bytes), policy: FormatPolicy(formats: candidates))
    }

    /// One parser's verdict (with the reason for a refusal; used by tests).
    static func attempt<R: RandomAccessReader>(_ format: ContainerFormat, _ reader: R)
        -> Result<BoundaryPlan, FormatRejection>
    {
        do {
            let raw: [UInt64]
            switch format {
            case .zip: raw = try ZipBoundaries.cuts(reader)
            case .safetensors: raw = try SafetensorsBoundaries.cuts(reader)
            case .tar: raw = try TarBoundaries.cuts(reader)
            }
            return .success(BoundaryPlan(format: format, cuts: normalize(raw, size: reader.size)))
        } catch {
            return .failure(error)
        }
    }

    /// Sorted, distinct, inside `1..<size`.
    static func normalize(_ raw: [UInt64], size: UInt64) -> [UInt64] {
        var out: [UInt64] = []
        out.reserveCapacity(raw.count)
        for c in raw.sorted() where c > 0 && c < size && c != out.last { out.append(c) }
        return out
    }

    /// Chunk lengths of `data` with forced cuts: FastCDC (the slow reference) on each segment.
    public static func referenceLengths(of data: [UInt8], cuts: [UInt64], parameters: ChunkerParameters)
        throws(ChunkerParameterError) -> [Int]
    {
        var out: [Int] = []
        var start = 0
        for end in cuts.map({ Int($0) }) + [data.count] where end > start && end <= data.count {
            out += try ReferenceFastCDC.lengths(of: Array(data[start..<end]), parameters: parameters)
            start = end
        }
        return out
    }
}

/// Random access to bytes already in memory, borrowed for the duration of a call.
struct MemoryBytes: RandomAccessReader {
    let bytes: UnsafeRawBufferPointer
    var size: UInt64 { UInt64(bytes.count) }

    func read(at offset: UInt64, into buffer: UnsafeMutableRawBufferPointer) throws(IngestError) -> Int {
        guard offset < UInt64(bytes.count) else { return 0 }
        let n = Swift.min(buffer.count, bytes.count - Int(offset))
        buffer.baseAddress!.copyMemory(from: bytes.baseAddress! + Int(offset), byteCount: n)
        return n
    }
}

extension SafetensorsBoundaries {
    /// False when `cuts` refuses `bytes` at its first test: at least 10 bytes, a little-endian
    /// header length n with 2 ≤ n ≤ `maxHeader` and n ≤ size − 8, and "{" at byte 8.
    static func mayStart(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 10 else { return false }
        let n = UInt64(littleEndian: bytes.loadUnaligned(fromByteOffset: 0, as: UInt64.self))
        return n >= 2 && n <= maxHeader && n <= UInt64(bytes.count - 8) && bytes[8] == UInt8(ascii: "{")
    }
}

extension TarBoundaries {
    /// False when `cuts` refuses `bytes` at its first header: at least 512 bytes and the
    /// "ustar" magic at 257 (an all-zero first block, which it also refuses, has none).
    static func mayStart(_ bytes: UnsafeRawBufferPointer) -> Bool {
        bytes.count >= 512 && bytes[257..<262].elementsEqual("ustar".utf8)
    }
}

extension ZipBoundaries {
    /// False when `cuts` finds no end record: at least 22 bytes, and a "PK\u{5}\u{6}" in the
    /// last 22 + 65 535 bytes whose comment length ends it exactly at the end of the input.
    static func mayEnd(_ bytes: UnsafeRawBufferPointer) -> Bool {
        guard bytes.count >= 22 else { return false }
        let base = bytes.baseAddress!
        var from = bytes.count - Swift.min(bytes.count, 22 + 65_535)
        let last = bytes.count - 22
        // Jumps between "P" bytes with memchr, as `cuts` does.
        while from <= last, let hit = memchr(base + from, 0x50, last - from + 1) {
            let i = base.distance(to: UnsafeRawPointer(hit))
            if bytes[i + 1] == 0x4B && bytes[i + 2] == 5 && bytes[i + 3] == 6 {
                let comment = Int(bytes[i + 20]) | Int(bytes[i + 21]) << 8
                if i + 22 + comment == bytes.count { return true }
            }
            from = i + 1
        }
        return false
    }
}
