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
