/// FastCDC 2020 parameters: chunk size bounds and the normalization level.
///
/// The limits are those of the fastcdc crate's v2020 module, plus `min <= avg <= max`.
/// A store fixes its parameters at init; different parameters give different cut points.
public struct ChunkerParameters: Sendable, Hashable, CustomStringConvertible {
    /// Smallest chunk (except a file's last chunk), in bytes.
    public var min: Int
    /// Target average chunk size, in bytes; its rounded base-2 logarithm picks the masks.
    public var avg: Int
    /// Largest chunk, in bytes.
    public var max: Int
    /// Normalization level 0...3: higher levels concentrate chunk sizes around `avg`.
    public var normalization: Int

    /// Allowed range of `min`.
    public static let minRange = 64...1_048_576
    /// Allowed range of `avg`.
    public static let avgRange = 256...4_194_304
    /// Allowed range of `max`.
    public static let maxRange = 1024...16_777_216
    /// Allowed range of `normalization`.
    public static let normalizationRange = 0...3

    /// Trove's defaults: 16 KiB / 64 KiB / 256 KiB, normalization level 1.
    public static let `default` = ChunkerParameters(
        min: 16 << 10, avg: 64 << 10, max: 256 << 10, normalization: 1)

    /// Parameters as given; call `validate()` before use.
    public init(min: Int, avg: Int, max: Int, normalization: Int = 1) {
        self.min = min
        self.avg = avg
        self.max = max
        self.normalization = normalization
    }

    /// Throws unless every value is within the algorithm's limits and `min <= avg <= max`.
    public func validate() throws(ChunkerParameterError) {
        guard Self.minRange.contains(min) else {
            throw .outOfRange(name: "min", value: min, allowed: Self.minRange)
        }
        guard Self.avgRange.contains(avg) else {
            throw .outOfRange(name: "avg", value: avg, allowed: Self.avgRange)
        }
        guard Self.maxRange.contains(max) else {
            throw .outOfRange(name: "max", value: max, allowed: Self.maxRange)
        }
        guard Self.normalizationRange.contains(normalization) else {
            throw .normalizationOutOfRange(normalization)
        }
        guard min <= avg else { throw .misordered(min: min, avg: avg, max: max) }
        guard avg <= max else { throw .misordered(min: min, avg: avg, max: max) }
    }

    /// `round(log2(avg))`, as the fastcdc crate computes it.
    var averageBits: Int {
        // round(log2(x)) == floor(log2(x)) + 1 exactly when x >= 2^floor * sqrt(2), i.e. x² >= 2^(2f+1).
        let f = Int.bitWidth - 1 - avg.leadingZeroBitCount
        let square = UInt64(avg) * UInt64(avg)
        return square >= (UInt64(1) << UInt64(2 * f + 1)) ? f + 1 : f
    }

    /// The mask used before `avg` (more bits set: cuts are harder to find).
    var maskS: UInt64 { FastCDCTables.masks[averageBits + normalization] }
    /// The mask used after `avg` (fewer bits set: cuts are easier to find).
    var maskL: UInt64 { FastCDCTables.masks[averageBits - normalization] }

    public var description: String { "min \(min), avg \(avg), max \(max), normalization \(normalization)" }
}

/// Why chunker parameters were refused. The message says what is allowed.
public enum ChunkerParameterError: Error, Equatable, CustomStringConvertible {
    /// A size outside the algorithm's limits.
    case outOfRange(name: String, value: Int, allowed: ClosedRange<Int>)
    /// A normalization level outside 0...3.
    case normalizationOutOfRange(Int)
    /// Sizes not in the order min <= avg <= max.
    case misordered(min: Int, avg: Int, max: Int)

    public var description: String {
        switch self {
        case .outOfRange(let name, let value, let allowed):
            "\(name) chunk size \(value) is not allowed: it must be between \(allowed.lowerBound) "
                + "and \(allowed.upperBound) bytes"
        case .normalizationOutOfRange(let level):
            "normalization level \(level) is not allowed: it must be 0, 1, 2 or 3"
        case .misordered(let min, let avg, let max):
            "chunk sizes must satisfy min <= avg <= max, but min is \(min), avg \(avg), max \(max)"
        }
    }
}
