/// A container format whose structure can force chunk boundaries.
public enum ContainerFormat: String, Sendable, Hashable, CaseIterable, Comparable {
    /// ZIP and ZIP64 archives (wheels, `.pt`/`.pth`, `.npz`, `.keras`, jars), read through the
    /// central directory.
    case zip
    /// safetensors files: an 8-byte length, a JSON header, then the tensors' bytes.
    case safetensors
    /// POSIX tar archives (ustar, pax, GNU).
    case tar

    public static func < (a: ContainerFormat, b: ContainerFormat) -> Bool {
        allCases.firstIndex(of: a)! < allCases.firstIndex(of: b)!
    }
}

/// Which container formats get structural chunk boundaries before FastCDC.
///
/// Part of a store's chunking policy: the same bytes always give the same chunks under the same
/// policy and chunker parameters. `.auto` (every known format) is the default for new stores;
/// `.none` is plain FastCDC (and what stores created before format-aware chunking use).
/// Text form: `auto`, `none`, or a comma-separated list such as `zip,safetensors`.
public struct FormatPolicy: Sendable, Hashable, CustomStringConvertible {
    /// The enabled formats.
    public var formats: Set<ContainerFormat>

    /// A policy with exactly `formats` enabled.
    public init(formats: Set<ContainerFormat>) { self.formats = formats }

    /// Every known format.
    public static let auto = FormatPolicy(formats: Set(ContainerFormat.allCases))
    /// Plain FastCDC: no format detection.
    public static let none = FormatPolicy(formats: [])

    /// True when no format is enabled (plain FastCDC).
    public var isNone: Bool { formats.isEmpty }

    /// Parses `auto`, `none` or a comma-separated list of format names (case-sensitive).
    public init(parsing text: String) throws(FormatPolicyError) {
        switch text {
        case "auto": self = .auto
        case "none": self = .none
        default:
            var set = Set<ContainerFormat>()
            for part in text.split(separator: ",", omittingEmptySubsequences: false) {
                guard let f = ContainerFormat(rawValue: String(part)) else {
                    throw FormatPolicyError(text: text)
                }
                set.insert(f)
            }
            self.formats = set
        }
    }

    /// `auto`, `none`, or the enabled formats in a fixed order, comma-separated.
    public var description: String {
        if formats.isEmpty { return "none" }
        if formats.count == ContainerFormat.allCases.count { return "auto" }
        return formats.sorted().map(\.rawValue).joined(separator: ",")
    }
}

/// A format policy text that is not `auto`, `none` or a list of known formats.
public struct FormatPolicyError: Error, Equatable, CustomStringConvertible {
    /// The text that was refused.
    public var text: String

    public var description: String {
        "format policy '\(text)' is not allowed: use auto, none, or a comma-separated list of "
            + ContainerFormat.allCases.map(\.rawValue).joined(separator: ", ")
    }
}
